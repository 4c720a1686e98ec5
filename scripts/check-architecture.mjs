#!/usr/bin/env node
// The architecture rules of the developers' guide that a linter cannot see, checked with the
// TypeScript compiler's own view of the code (types included) before the tests run (npm pretest):
//   import-cycle      the import graph of src/ (type-only imports included) has no cycle, neither
//                     between files nor between the top folders of src/ (imports point one way);
//   cli-only          only src/cli exits, prints, reads the arguments or owns the process's signals
//                     and exit (process.exit, process.stdout/stderr, console, process.argv,
//                     process.on): library code returns, throws, or reports through callbacks;
//   long-file         a source file over MAX_LINES lines says why in its header ("// Length: ...");
//   bytes-outside-wire  only src/wire reads packet bytes: outside it (and outside src/pcap, which
//                     decodes capture files, not packets) no bitwise or shift operator touches an
//                     element of a Uint8Array, no Uint8Array is indexed at a fixed header offset
//                     (`b[9]`, `b[hl + 13]`, `b[off + IPV4_FIELD.TTL]`), and wire's raw byte
//                     accessors (readU16, writeU32, ...) and Buffer/DataView readers are not called.
// An exception is a comment `// raw-bytes: <why>` on the flagged line or in the comment lines
// right above it (the hot paths that must stay as they are); an exception that excuses nothing
// is itself reported. `node scripts/check-architecture.mjs` prints one line per problem and
// exits 1 when there is any.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_LINES = 400;

/**
 * Files (or folders, ending in '/') the rules do not apply to yet, each with the reason. Keep this
 * list short: every entry is a debt with an owner.
 */
export const ALLOWED = new Map([
  // (empty: src/stack/tcp/, the last entry, was cleaned up by branch i13b)
]);

/** The allow-list entry covering a file, if any. */
export function allowedBy(file, allowed = ALLOWED) {
  for (const key of allowed.keys()) if (key.endsWith('/') ? file.startsWith(key) : file === key) return key;
  return undefined;
}

/** Folders that may read bytes: the wire layer itself, and the capture-file codecs. */
const BYTE_FOLDERS = ['src/wire/', 'src/pcap/'];
const CHECKED_FOLDERS = ['src/', 'bench/'];
const RAW_ACCESSORS = new Set(['readU16', 'readU32', 'readI32', 'writeU16', 'writeU32']);
const BUFFER_METHOD = /^(read|write)(U?Int|BigU?Int|Float|Double)(8|16|32|64)?(BE|LE)?$|^(get|set)(U?int|Int|BigU?int|Float)(8|16|32|64)$/;
const BITWISE = new Set([
  ts.SyntaxKind.AmpersandToken, ts.SyntaxKind.BarToken, ts.SyntaxKind.CaretToken,
  ts.SyntaxKind.LessThanLessThanToken, ts.SyntaxKind.GreaterThanGreaterThanToken, ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken,
  ts.SyntaxKind.AmpersandEqualsToken, ts.SyntaxKind.BarEqualsToken, ts.SyntaxKind.CaretEqualsToken,
  ts.SyntaxKind.LessThanLessThanEqualsToken, ts.SyntaxKind.GreaterThanGreaterThanEqualsToken, ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken,
]);
const PACKET_FIELDS = /^(bytes|data|buf|buffer|frame|packet|pkt|payload|raw)$/;
const MARKER = /\/\/\s*raw-bytes:\s*(.*)$/;

/**
 * @typedef {{ file: string; line: number; rule: string; message: string }} Problem
 * @param {ts.Program} program
 * @param {string} root  paths in problems are relative to it (forward slashes)
 * @param {ts.ModuleResolutionHost} [host]  resolves imports (default: the file system)
 * @returns {Problem[]}
 */
export function checkProgram(program, root, host = ts.sys) {
  const checker = program.getTypeChecker();
  const rel = (f) => path.relative(root, f).split(path.sep).join('/');
  const files = program.getSourceFiles().filter((sf) => !sf.isDeclarationFile && !rel(sf.fileName).startsWith('..') && !rel(sf.fileName).includes('node_modules/'));
  /** @type {Problem[]} */
  const problems = [];
  for (const sf of files) {
    const name = rel(sf.fileName);
    if (!CHECKED_FOLDERS.some((d) => name.startsWith(d)) || allowedBy(name)) continue;
    checkLength(sf, name, problems);
    if (name.startsWith('src/') && !name.startsWith('src/cli/')) checkCliOnly(sf, name, problems);
    if (!BYTE_FOLDERS.some((d) => name.startsWith(d))) checkBytes(sf, name, checker, problems);
  }
  problems.push(...checkCycles(program, files, rel, host));
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function checkLength(sf, name, problems) {
  if (!name.startsWith('src/')) return;
  const lines = sf.text.split('\n');
  const n = lines.length - (lines.at(-1) === '' ? 1 : 0);
  if (n <= MAX_LINES) return;
  const header = [];
  for (const l of lines) {
    if (!l.startsWith('//') && !l.startsWith('#!')) break;
    header.push(l);
  }
  if (!header.some((l) => /^\/\/\s*Length:\s*\S/.test(l))) {
    problems.push({ file: name, line: 1, rule: 'long-file', message: `${n} lines (over ${MAX_LINES}) and no "// Length: <why>" in the header comment` });
  }
}

const PROCESS_IO = new Set(['exit', 'stdout', 'stderr', 'argv', 'exitCode', 'abort', 'on', 'once']);

function checkCliOnly(sf, name, problems) {
  const visit = (node) => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const obj = node.expression.text;
      if ((obj === 'process' && PROCESS_IO.has(node.name.text)) || obj === 'console') {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        problems.push({ file: name, line, rule: 'cli-only', message: `${obj}.${node.name.text} outside src/cli: return, throw, or report through a callback the CLI prints` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/** The `raw-bytes:` exception covering `line` (0-based): on it, or in the comment lines just above. */
function exceptionFor(lines, line) {
  for (let i = line; i >= 0; i--) {
    const m = MARKER.exec(lines[i]);
    if (m) return { line: i, reason: m[1].trim() };
    if (i < line && !lines[i].trim().startsWith('//')) return null;
    if (i === line - 1 && !lines[i].trim().startsWith('//')) return null;
  }
  return null;
}

function isByteBuffer(checker, expr) {
  const t = checker.getTypeAtLocation(expr);
  const parts = t.isUnion() ? t.types : [t];
  return parts.length > 0 && parts.every((p) => {
    const n = p.getSymbol()?.getName();
    return n === 'Uint8Array' || n === 'Buffer';
  });
}

/**
 * A Uint8Array that holds packet bytes: a variable or parameter, or a field named like one
 * (skb.bytes, rec.data). Typed-array columns of state (conntrack's tdFlags, ...) are not packets.
 */
function isPacketBuffer(checker, expr) {
  const e = strip(expr);
  if (ts.isIdentifier(e)) return isByteBuffer(checker, e);
  if (ts.isPropertyAccessExpression(e)) return PACKET_FIELDS.test(e.name.text) && isByteBuffer(checker, e);
  return isByteBuffer(checker, e);
}

function strip(e) {
  while (ts.isParenthesizedExpression(e) || ts.isNonNullExpression(e) || ts.isAsExpression(e)) e = e.expression;
  return e;
}

/** A header field offset: a number, a *_FIELD.X constant, or base + either. */
function isFixedOffset(e) {
  e = strip(e);
  if (ts.isNumericLiteral(e)) return true;
  if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && /_FIELD$/.test(e.expression.text)) return true;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return isFixedOffset(e.left) || isFixedOffset(e.right);
  return false;
}

function checkBytes(sf, name, checker, problems) {
  const lines = sf.text.split('\n');
  const used = new Set();
  const flagged = new Set();
  const flag = (node, message) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
    if (flagged.has(line)) return; // one problem per line is enough to find it
    flagged.add(line);
    const ex = exceptionFor(lines, line);
    if (ex) used.add(ex.line);
    if (ex && ex.reason.length >= 10) return;
    problems.push({
      file: name, line: line + 1, rule: 'bytes-outside-wire',
      message: ex ? `raw-bytes exception without a reason (say why, e.g. which hot path): ${message}` : `${message} (use a src/wire view or helper, or mark a hot path "// raw-bytes: <why>")`,
    });
  };
  const isByteElement = (e) => {
    e = strip(e);
    return ts.isElementAccessExpression(e) && isPacketBuffer(checker, e.expression);
  };
  const visit = (node) => {
    if (ts.isBinaryExpression(node) && BITWISE.has(node.operatorToken.kind) && (isByteElement(node.left) || isByteElement(node.right))) {
      flag(node, `bit arithmetic on packet bytes: \`${node.getText(sf).slice(0, 60)}\``);
    } else if (ts.isElementAccessExpression(node) && isFixedOffset(node.argumentExpression) && isPacketBuffer(checker, node.expression)) {
      flag(node, `packet byte at a fixed offset: \`${node.getText(sf).slice(0, 60)}\``);
    } else if (ts.isCallExpression(node)) {
      const callee = strip(node.expression);
      if (ts.isIdentifier(callee) && RAW_ACCESSORS.has(callee.text)) {
        flag(node, `raw byte accessor ${callee.text}() outside src/wire`);
      } else if (ts.isPropertyAccessExpression(callee) && BUFFER_METHOD.test(callee.name.text) && ts.isIdentifier(callee.name)) {
        const recv = checker.getTypeAtLocation(callee.expression).getSymbol()?.getName();
        if (recv === 'Buffer' || recv === 'DataView') flag(node, `${recv}.${callee.name.text}() on packet bytes`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  lines.forEach((l, i) => {
    if (MARKER.test(l) && !used.has(i)) problems.push({ file: name, line: i + 1, rule: 'bytes-outside-wire', message: 'raw-bytes exception that excuses nothing: remove it' });
  });
}

/** Import cycles among src/ files (Tarjan's strongly connected components). */
function checkCycles(program, files, rel, host) {
  const src = files.filter((sf) => rel(sf.fileName).startsWith('src/'));
  const known = new Set(src.map((sf) => sf.fileName));
  const opts = program.getCompilerOptions();
  /** @type {Map<string, string[]>} */
  const edges = new Map();
  for (const sf of src) {
    const out = [];
    const add = (spec) => {
      const r = ts.resolveModuleName(spec, sf.fileName, opts, host).resolvedModule;
      if (r && known.has(r.resolvedFileName)) out.push(r.resolvedFileName);
    };
    for (const st of sf.statements) {
      if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) add(st.moduleSpecifier.text);
    }
    const dyn = (n) => {
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) add(n.arguments[0].text);
      ts.forEachChild(n, dyn);
    };
    dyn(sf);
    edges.set(sf.fileName, out);
  }
  const sccs = cycles(edges);
  const problems = [];
  problems.push(...folderCycles(edges, rel));
  for (const comp of sccs) {
    const names = comp.map(rel).sort();
    if (names.every((n) => allowedBy(n))) continue;
    problems.push({ file: names[0], line: 1, rule: 'import-cycle', message: `import cycle: ${cyclePath(comp, edges).map(rel).join(' -> ')}` });
  }
  return problems;
}

/** Cycles between the top folders of src/ (wire, conntrack, stack, ...), through any files. */
function folderCycles(edges, rel) {
  const folder = (f) => rel(f).split('/')[1];
  const deps = new Map();
  /** One import that makes folder a depend on folder b, for the message. */
  const via = new Map();
  for (const [f, out] of edges) {
    const a = folder(f);
    if (!deps.has(a)) deps.set(a, []);
    for (const g of out) {
      const b = folder(g);
      if (a === b || via.has(`${a}>${b}`)) continue;
      deps.get(a).push(b);
      via.set(`${a}>${b}`, `${rel(f)} -> ${rel(g)}`);
    }
  }
  const problems = [];
  for (const comp of cycles(deps)) {
    const loop = cyclePath(comp, deps);
    const imports = loop.slice(1).map((b, i) => via.get(`${loop[i]}>${b}`));
    if (imports.every((n) => n.split(' -> ').every((f) => allowedBy(f)))) continue;
    problems.push({ file: `src/${loop[0]}`, line: 1, rule: 'import-cycle', message: `folders import each other: ${loop.map((x) => `src/${x}`).join(' -> ')} (${imports.join('; ')})` });
  }
  return problems;
}

/** Strongly connected components with a cycle (Tarjan), of a graph given as node -> successors. */
function cycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let next = 0;
  const strong = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(comp);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) strong(v);
  return out;
}

/** One concrete cycle through the component, for the message. */
function cyclePath(comp, edges) {
  const inComp = new Set(comp);
  const start = [...comp].sort()[0];
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of edges.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const p = [start];
        for (let x = v; x !== null && x !== start; x = prev.get(x)) p.splice(1, 0, x);
        return [...p, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return comp;
}

/** The repository's program, as tsconfig.json describes it. */
export function repositoryProgram(root) {
  const configPath = path.join(root, 'tsconfig.json');
  const cfg = ts.readConfigFile(configPath, ts.sys.readFile);
  if (cfg.error) throw new Error(ts.flattenDiagnosticMessageText(cfg.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root, { noEmit: true }, configPath);
  return ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkProgram(repositoryProgram(root), root);
  for (const p of problems) process.stdout.write(`${p.file}:${p.line}: ${p.rule}: ${p.message}\n`);
  if (problems.length) {
    process.stdout.write(`check-architecture: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    process.exitCode = 1;
  }
}
