// A matrix of runs: scenario files times the product of varied dimensions (--vary kernel=a,b
// --vary sysctl=X=1,none --vary PATH=v1,v2), each run summarised in one row read from its typed
// outcome. A dimension is an override of the file, so a matrix is exactly the loop a user would
// write around `ctsim run --set`.
import { loadScenarioFile } from '../file/load.js';
import type { LoadOverrides } from '../file/overrides.js';
import { ScenarioFileError } from '../file/errors.js';
import { executeScenario } from './execute.js';

export interface Dimension {
  /** 'kernel', 'sysctl' or a document path. */
  name: string;
  values: string[];
}

/** Splits on commas outside [], {} and quotes ("[a, b],c" -> ["[a, b]", "c"]). */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** "NAME=v1,v2" -> a dimension. */
export function parseDimension(arg: string): Dimension {
  const eq = arg.indexOf('=');
  if (eq <= 0 || eq === arg.length - 1) throw new ScenarioFileError('bad-override', '--vary', 0, arg, `${arg}: expected NAME=VALUE,VALUE,... (NAME: kernel, sysctl or a field path)`);
  const values = splitValues(arg.slice(eq + 1));
  if (values.some((v) => v === '')) throw new ScenarioFileError('bad-override', '--vary', 0, arg, `${arg}: an empty value`);
  return { name: arg.slice(0, eq).trim(), values };
}

/** What one combination adds to the base overrides. */
function overridesFor(base: LoadOverrides, dims: Dimension[], combo: string[]): LoadOverrides {
  const o: LoadOverrides = { kernel: base.kernel, sysctls: [...(base.sysctls ?? [])], set: [...(base.set ?? [])] };
  dims.forEach((d, i) => {
    const v = combo[i];
    if (d.name === 'kernel') o.kernel = v;
    else if (d.name === 'sysctl') {
      if (v !== 'none') (o.sysctls as string[]).push(v);
    } else (o.set as string[]).push(`${d.name}=${v}`);
  });
  return o;
}

function product(dims: Dimension[]): string[][] {
  let out: string[][] = [[]];
  for (const d of dims) out = out.flatMap((c) => d.values.map((v) => [...c, v]));
  return out;
}

export interface MatrixRow {
  file: string;
  scenario: string;
  vary: Record<string, string>;
  /** Per app: its last connect() ("connected 0.008 s"). */
  connect: string;
  /** Per app: where its last FIN went. */
  fin: string;
  errors: string;
  /** Per host with any: conntrack INVALID verdicts. */
  invalid: string;
  dropped: string;
  passed: boolean;
  failed: string[];
}

export function runMatrix(files: string[], dims: Dimension[], base: LoadOverrides = {}, onRow?: (r: MatrixRow, i: number, n: number) => void): MatrixRow[] {
  const combos = product(dims);
  // Every combination loads before anything runs: a bad value is reported at once.
  const jobs = files.flatMap((file) => combos.map((combo) => ({ file, combo, spec: loadScenarioFile(file, overridesFor(base, dims, combo)) })));
  const rows: MatrixRow[] = [];
  jobs.forEach((j, i) => {
    const x = executeScenario(j.spec);
    const apps = x.outcome.apps;
    const multi = apps.length > 1;
    const who = (p: string) => (multi ? `${p}: ` : '');
    const row: MatrixRow = {
      file: j.file, scenario: j.spec.name, vary: Object.fromEntries(dims.map((d, k) => [d.name, j.combo[k]])),
      connect: apps.map((a) => { const c = a.connects.at(-1); return c ? `${who(a.process)}${c.result} ${c.seconds.toFixed(3)} s` : ''; }).filter(Boolean).join('; ') || '-',
      fin: apps.map((a) => { const f = a.fins.at(-1); return f ? `${who(a.process)}${f.reached ? `reached ${f.reached}` : 'lost'}` : ''; }).filter(Boolean).join('; ') || '-',
      errors: apps.map((a) => { const e = [...new Set(a.errors.map((x) => x.error))]; return e.length ? `${who(a.process)}${e.join(',')}` : ''; }).filter(Boolean).join('; ') || '-',
      invalid: Object.entries(x.run.counters).filter(([, c]) => c.invalid).map(([h, c]) => `${h}=${c.invalid}`).join(' ') || '0',
      dropped: Object.entries(x.run.counters).map(([h, c]) => [h, Object.values(c.dropped).reduce((a, b) => a + b, 0)] as const).filter(([, n]) => n).map(([h, n]) => `${h}=${n}`).join(' ') || '0',
      passed: x.passed,
      failed: x.results.filter((r) => r.pass === false).map((r) => `${r.text} (${r.actual})`),
    };
    rows.push(row);
    onRow?.(row, i + 1, jobs.length);
  });
  return rows;
}

function cells(r: MatrixRow, dims: string[], files: boolean): string[] {
  return [...(files ? [r.scenario] : []), ...dims.map((d) => r.vary[d] ?? ''), r.connect, r.fin, r.errors, r.invalid, r.dropped, r.passed ? 'ok' : `FAIL: ${r.failed.join('; ')}`];
}

function head(dims: string[], files: boolean): string[] {
  return [...(files ? ['scenario'] : []), ...dims, 'last connect', 'last FIN', 'errors', 'INVALID', 'dropped', 'expectations'];
}

export function matrixTable(rows: MatrixRow[], dims: string[]): string {
  const files = new Set(rows.map((r) => r.scenario)).size > 1;
  const all = [head(dims, files), ...rows.map((r) => cells(r, dims, files))];
  const w = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r, k) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + (k === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}

export function matrixMarkdownTable(rows: MatrixRow[], dims: string[]): string {
  const files = new Set(rows.map((r) => r.scenario)).size > 1;
  const h = head(dims, files);
  return [`| ${h.join(' | ')} |`, `|${h.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r, dims, files).join(' | ')} |`)].join('\n');
}
