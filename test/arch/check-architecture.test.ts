// The architecture check that runs before the tests (scripts/check-architecture.mjs): each rule
// on small programs held in memory, so a rule that stopped finding what it is for fails here.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ALLOWED, MAX_LINES, allowedBy, checkProgram, type Problem } from '../../scripts/check-architecture.mjs';

const ROOT = '/virtual';

/** Checks a program of in-memory files (paths relative to the virtual repository root). */
function check(files: Record<string, string>): Problem[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, types: [], lib: ['lib.es2022.d.ts'],
  };
  const real = ts.createCompilerHost(options);
  const abs = new Map(Object.entries(files).map(([k, v]) => [`${ROOT}/${k}`, v]));
  const host: ts.CompilerHost = {
    ...real,
    fileExists: (f) => abs.has(f) || real.fileExists(f),
    directoryExists: (d) => [...abs.keys()].some((f) => f.startsWith(`${d}/`)) || (real.directoryExists?.(d) ?? false),
    readFile: (f) => abs.get(f) ?? real.readFile(f),
    getSourceFile: (f, lang) => {
      const text = abs.get(f);
      return text !== undefined ? ts.createSourceFile(f, text, lang, true) : real.getSourceFile(f, lang);
    },
    getCurrentDirectory: () => ROOT,
  };
  const program = ts.createProgram({ rootNames: [...abs.keys()], options, host });
  return checkProgram(program, ROOT, host);
}

const rules = (ps: Problem[]) => ps.map((p) => `${p.file}:${p.line} ${p.rule}`);

describe('bytes-outside-wire', () => {
  const ihl = 'export function ihl(b: Uint8Array): number {\n  return (b[0] & 0x0f) << 2;\n}\n';

  it('flags a hand-computed IPv4 header length outside src/wire, not inside it (nor in src/pcap)', () => {
    expect(rules(check({ 'src/replay/a.ts': ihl, 'src/wire/a.ts': ihl, 'src/pcap/a.ts': ihl }))).toEqual(['src/replay/a.ts:2 bytes-outside-wire']);
  });

  it('flags big-endian words assembled by hand, fixed header offsets and wire\'s raw accessors', () => {
    const ps = check({
      'src/wire/bytes.ts': 'export function readU16(b: Uint8Array, o: number): number { return b[o]; }\n',
      'src/fuzz/a.ts': [
        "import { readU16 } from '../wire/bytes.js';",
        'export const IPV4_FIELD = { PROTOCOL: 9 } as const;',
        'export function f(b: Uint8Array, hl: number, skb: { bytes: Uint8Array }): number[] {',
        '  const u32 = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;',
        '  const flags = b[hl + 13];',
        '  const proto = b[IPV4_FIELD.PROTOCOL];',
        '  const port = readU16(b, hl);',
        '  const ttl = skb.bytes[8];',
        '  return [u32, flags, proto, port, ttl];',
        '}',
      ].join('\n'),
    });
    expect(rules(ps)).toEqual(['src/fuzz/a.ts:4 bytes-outside-wire', 'src/fuzz/a.ts:5 bytes-outside-wire', 'src/fuzz/a.ts:6 bytes-outside-wire', 'src/fuzz/a.ts:7 bytes-outside-wire', 'src/fuzz/a.ts:8 bytes-outside-wire']);
  });

  it('leaves typed-array state columns and plain numbers alone', () => {
    const ps = check({
      'src/conntrack/a.ts': [
        'export class Columns { tdFlags = new Uint8Array(8); }',
        'export function f(c: Columns, e: number, ports: number, xs: number[]): number {',
        '  c.tdFlags[e * 2 + 1] |= 4;',
        '  return (c.tdFlags[e] & 1) | (ports << 16) | (xs[0] & 0x0f);',
        '}',
      ].join('\n'),
    });
    expect(ps).toEqual([]);
  });

  it('accepts a "raw-bytes:" exception with a reason, refuses one without, and reports one that excuses nothing', () => {
    const ps = check({
      'src/fuzz/a.ts': [
        'export function f(b: Uint8Array, i: number): void {',
        '  // raw-bytes: blind mutation flips any bit by design',
        '  b[i] ^= 1;',
        '  b[i] ^= 2; // raw-bytes:',
        '  // raw-bytes: nothing to excuse here at all',
        '  b.fill(0);',
        '}',
      ].join('\n'),
    });
    expect(ps.map((p) => `${p.line} ${p.message.split(':')[0]}`)).toEqual([
      '4 raw-bytes exception without a reason (say why, e.g. which hot path)',
      '5 raw-bytes exception that excuses nothing',
    ]);
  });
});

describe('import-cycle', () => {
  it('finds a cycle between files, type-only imports included', () => {
    const ps = check({
      'src/stack/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
      'src/stack/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
    });
    expect(ps.map((p) => p.message)).toEqual(['import cycle: src/stack/a.ts -> src/stack/b.ts -> src/stack/a.ts']);
  });

  it('finds folders that import each other through different files', () => {
    const ps = check({
      'src/replay/a.ts': "import { y } from '../scenarios/y.js';\nexport const a = y;\n",
      'src/scenarios/y.ts': 'export const y = 1;\n',
      'src/scenarios/z.ts': "import { a } from '../replay/a.js';\nexport const z = a;\n",
    });
    expect(ps.map((p) => p.message)).toEqual([
      'folders import each other: src/replay -> src/scenarios -> src/replay (src/replay/a.ts -> src/scenarios/y.ts; src/scenarios/z.ts -> src/replay/a.ts)',
    ]);
  });

  it('has nothing to say about a graph that points one way', () => {
    expect(check({ 'src/wire/a.ts': 'export const a = 1;\n', 'src/conntrack/b.ts': "import { a } from '../wire/a.js';\nexport const b = a;\n" })).toEqual([]);
  });
});

describe('long-file and cli-only', () => {
  const long = (header: string) => `${header}${'export const x = 1;\n'.repeat(MAX_LINES)}`;

  it(`wants a reason in the header of a source file over ${MAX_LINES} lines`, () => {
    const ps = check({ 'src/sim/a.ts': long('// A.\n'), 'src/sim/b.ts': long('// B.\n// Length: one table, kept whole.\n'), 'bench/c.ts': long('') });
    expect(rules(ps)).toEqual(['src/sim/a.ts:1 long-file']);
  });

  it('lets only src/cli exit, print or handle signals', () => {
    const body = "export function f(): void {\n  if (process.env.X) process.stderr.write('x');\n  process.on('SIGINT', () => process.exit(1));\n}\n";
    expect(rules(check({ 'src/kerneldiff/a.ts': body, 'src/cli/a.ts': body }))).toEqual([
      'src/kerneldiff/a.ts:2 cli-only', 'src/kerneldiff/a.ts:3 cli-only', 'src/kerneldiff/a.ts:3 cli-only',
    ]);
  });
});

describe('the allow-list', () => {
  it('holds only src/ files or folders, each with its reason', () => {
    for (const [file, why] of ALLOWED) {
      expect(file).toMatch(/^src\//);
      expect(why.length, file).toBeGreaterThan(10);
    }
  });

  it('a folder entry covers the files under it, a file entry that file only', () => {
    const list = new Map([['src/stack/tcp/', 'a folder'], ['src/sim/link.ts', 'a file']]);
    expect(allowedBy('src/stack/tcp/tcp-socket.ts', list)).toBe('src/stack/tcp/');
    expect(allowedBy('src/stack/tcp-like.ts', list)).toBeUndefined();
    expect(allowedBy('src/sim/link.ts', list)).toBe('src/sim/link.ts');
    expect(allowedBy('src/sim/link.tsx', list)).toBeUndefined();
  });
});
