// What a run prints and writes: the human tables (stdout), the README section between
// <!-- bench:start --> and <!-- bench:end -->, and the comparison of two JSON files.
import { formatCount, formatOps, printTable } from './harness.js';
import type { BenchFile, BenchMeta, BenchRecord, ImplResult } from './record.js';

const TARGETS = {
  lookupsAt1e6: 20e6,
  lookupRatioVsPlain: 2,
  fullPathAt1e4: 5e6,
  fullPathAt1e6: 3e6,
  indexBytes: 64,
};

/** The implementation named exactly, or (for 'ctsim batch') ctsim's batched one. */
function impl(r: BenchRecord, name: string): ImplResult | undefined {
  if (name === 'ctsim batch') return r.results.find((x) => x.impl.startsWith('ctsim (batch'));
  return r.results.find((x) => x.impl === name || x.impl.startsWith(`${name} (`));
}

function mops(x: ImplResult | undefined): string {
  return x ? (x.opsPerSec / 1e6).toFixed(2) : '-';
}

function ns(x: ImplResult | undefined): string {
  return x ? x.nsPerOp.toFixed(0) : '-';
}

function ratio(a: ImplResult | undefined, b: ImplResult | undefined): string {
  return a && b ? `${(a.opsPerSec / b.opsPerSec).toFixed(2)}x` : '-';
}

interface Table {
  title: string;
  header: string[];
  rows: string[][];
  note?: string;
}

/** The speed tables: one per workload and variant, a row per size (the cost curve). */
function speedTables(records: BenchRecord[]): Table[] {
  const tables: Table[] = [];
  const group = (w: string, v: string) => records.filter((r) => r.workload === w && r.variant === v).sort((a, b) => a.entries - b.entries);
  for (const v of ['uniform hits', 'zipf hits', 'uniform misses']) {
    const rs = group('lookup', v);
    if (!rs.length) continue;
    tables.push({
      title: `Lookups, ${v} (M lookups/s; ns per lookup in brackets)`,
      header: ['entries', 'ctsim batch', 'ctsim', 'plain typed-array', 'Map<bigint>', 'Map<string>', 'batch / plain', 'batch / Map<string>', 'index B/entry'],
      rows: rs.map((r) => {
        const b = impl(r, 'ctsim batch'), s = r.results.find((x) => x.impl === 'ctsim'), p = impl(r, 'plain typed-array table'), bi = impl(r, 'Map<bigint>'), st = impl(r, 'Map<string>');
        return [formatCount(r.entries), `${mops(b)} (${ns(b)})`, `${mops(s)} (${ns(s)})`, `${mops(p)} (${ns(p)})`, bi ? `${mops(bi)} (${ns(bi)})` : 'not run', st ? `${mops(st)} (${ns(st)})` : 'not run', ratio(b, p), ratio(b, st), r.bytesPerEntry?.toFixed(1) ?? '-'];
      }),
    });
  }
  const reuse = group('port-reuse', 'uniform');
  if (reuse.length) {
    tables.push({
      title: 'Port reuse (M cycles/s; ns per cycle in brackets): SYN lookup finds the old entry, delete, look up again, insert both tuples, SYN-ACK and ACK lookups',
      header: ['entries', 'ctsim batch', 'ctsim', 'plain typed-array', 'Map<bigint>', 'Map<string>', 'batch / plain', 'batch / Map<string>'],
      rows: reuse.map((r) => {
        const b = impl(r, 'ctsim batch'), s = r.results.find((x) => x.impl === 'ctsim'), p = impl(r, 'plain typed-array table'), bi = impl(r, 'Map<bigint>'), st = impl(r, 'Map<string>');
        return [formatCount(r.entries), `${mops(b)} (${ns(b)})`, `${mops(s)} (${ns(s)})`, `${mops(p)} (${ns(p)})`, bi ? `${mops(bi)} (${ns(bi)})` : 'not run', st ? `${mops(st)} (${ns(st)})` : 'not run', ratio(b, p), ratio(b, st)];
      }),
    });
  }
  for (const v of ['uniform', 'zipf']) {
    const rs = group('full-path', v);
    if (!rs.length) continue;
    tables.push({
      title: `Full path, ${v} flows (M packets/s; ns per packet in brackets)`,
      header: ['entries', 'ctsim trackBatch', 'ctsim track', 'naive (repr + Map<string>)', 'trackBatch / naive'],
      rows: rs.map((r) => {
        const b = impl(r, 'ctsim trackBatch'), s = impl(r, 'ctsim track'), nv = impl(r, 'naive');
        return [formatCount(r.entries), `${mops(b)} (${ns(b)})`, `${mops(s)} (${ns(s)})`, nv ? `${mops(nv)} (${ns(nv)})` : 'not run', ratio(b, nv)];
      }),
    });
  }
  const life = group('lifecycle', 'teardown + port reuse');
  if (life.length) {
    tables.push({
      title: 'Connection lifecycle (M connections/s; ns per connection in brackets): FIN, ACK, FIN, ACK, then the port reused: SYN re-opens TIME_WAIT, SYN-ACK, ACK, data, ACK (9 packets)',
      header: ['entries', 'ctsim trackBatch', 'ctsim track', 'naive (repr + Map<string>)', 'trackBatch / naive', 'trackBatch packets/s'],
      rows: life.map((r) => {
        const b = impl(r, 'ctsim trackBatch'), s = impl(r, 'ctsim track'), nv = impl(r, 'naive');
        const per = (r.detail?.packetsPerConnection as number | undefined) ?? 9;
        return [formatCount(r.entries), `${mops(b)} (${ns(b)})`, `${mops(s)} (${ns(s)})`, nv ? `${mops(nv)} (${ns(nv)})` : 'not run', ratio(b, nv), b ? `${((b.opsPerSec * per) / 1e6).toFixed(2)} M` : '-'];
      }),
    });
  }
  const mem = group('memory', 'engine');
  if (mem.length) {
    const d = (r: BenchRecord, k: string) => (typeof r.detail?.[k] === 'number' ? (r.detail[k] as number).toFixed(1) : 'not run');
    tables.push({
      title: 'Memory (bytes per live entry)',
      header: ['entries', 'ctsim index', 'ctsim total (counted)', 'ctsim total (measured)', 'plain typed-array index', 'Map<bigint> (measured)', 'Map<string> (measured)'],
      rows: mem.map((r) => [formatCount(r.entries), d(r, 'ctsimIndexBytes'), d(r, 'ctsimTotalCountedBytes'), d(r, 'ctsimMeasuredBytes'), d(r, 'plainTableBytes'), d(r, 'bigintMapBytes'), d(r, 'stringMapBytes')]),
    });
  }
  return tables;
}

/** The cost curve: ns per operation of ctsim's best path by table size. */
function costCurve(records: BenchRecord[]): Table | null {
  const sizes = [...new Set(records.filter((r) => ['lookup', 'port-reuse', 'full-path', 'lifecycle'].includes(r.workload)).map((r) => r.entries))].sort((a, b) => a - b);
  if (!sizes.length) return null;
  const cell = (w: string, v: string, n: number, name: string) => {
    const r = records.find((x) => x.workload === w && x.variant === v && x.entries === n);
    const x = r && (name === 'ctsim' ? r.results.find((y) => y.impl === 'ctsim') : impl(r, name));
    return x ? x.nsPerOp.toFixed(0) : '-';
  };
  return {
    title: 'Cost per operation by table size (ns, median): the cost curve',
    header: ['entries', 'lookup (batch)', 'lookup (one by one)', 'plain table lookup', 'port-reuse cycle (batch)', 'full path (trackBatch)', 'full path (track)', 'full path zipf (trackBatch)', 'connection lifecycle (trackBatch)'],
    rows: sizes.map((n) => [formatCount(n), cell('lookup', 'uniform hits', n, 'ctsim batch'), cell('lookup', 'uniform hits', n, 'ctsim'), cell('lookup', 'uniform hits', n, 'plain typed-array table'),
      cell('port-reuse', 'uniform', n, 'ctsim batch'), cell('full-path', 'uniform', n, 'ctsim trackBatch'), cell('full-path', 'uniform', n, 'ctsim track'), cell('full-path', 'zipf', n, 'ctsim trackBatch'), cell('lifecycle', 'teardown + port reuse', n, 'ctsim trackBatch')]),
  };
}

/** Targets of issue 19, each with what was measured in this run. */
function targets(records: BenchRecord[]): Table {
  const find = (w: string, v: string, n: number) => records.find((r) => r.workload === w && r.variant === v && r.entries === n);
  const rows: string[][] = [];
  const verdict = (got: number, want: number) => (got >= want ? 'met' : `missed by ${((1 - got / want) * 100).toFixed(0)} %`);
  const l6 = find('lookup', 'uniform hits', 1_000_000);
  const lb = l6 && impl(l6, 'ctsim batch');
  const lp = l6 && impl(l6, 'plain typed-array table');
  rows.push(['lookups at 1M entries, distinct random flows', `>= ${TARGETS.lookupsAt1e6 / 1e6} M/s`, lb ? `${mops(lb)} M/s` : 'not run', lb ? verdict(lb.opsPerSec, TARGETS.lookupsAt1e6) : '-']);
  rows.push(['... against the plain typed-array table', `>= ${TARGETS.lookupRatioVsPlain}x`, ratio(lb, lp), lb && lp ? verdict(lb.opsPerSec / lp.opsPerSec, TARGETS.lookupRatioVsPlain) : '-']);
  for (const [n, want] of [[10_000, TARGETS.fullPathAt1e4], [1_000_000, TARGETS.fullPathAt1e6]] as const) {
    const r = find('full-path', 'uniform', n);
    rows.push([`full path at ${formatCount(n)} random flows`, `>= ${want / 1e6} M packets/s`, r ? `${(r.opsPerSec / 1e6).toFixed(2)} M packets/s` : 'not run', r ? verdict(r.opsPerSec, want) : '-']);
  }
  const idx = records.filter((r) => r.workload === 'memory').map((r) => r.bytesPerEntry ?? 0);
  rows.push(['index bytes per entry (every size)', `<= ${TARGETS.indexBytes}`, idx.length ? `${Math.max(...idx).toFixed(1)} at most` : 'not run', idx.length ? (Math.max(...idx) <= TARGETS.indexBytes ? 'met' : 'missed') : '-']);
  const churn = records.find((r) => r.workload === 'churn');
  if (churn) {
    const d = churn.detail as { cycles: number; change: number; fresh: { meanProbe: number; homeLineShare: number }; churned: { meanProbe: number; homeLineShare: number } };
    rows.push([`flat after ${d.cycles.toExponential(0).replace('e+', 'e')} churn cycles`, 'same probes and rate', `probe ${d.fresh.meanProbe.toFixed(3)} -> ${d.churned.meanProbe.toFixed(3)}, home line ${(d.fresh.homeLineShare * 100).toFixed(1)} % -> ${(d.churned.homeLineShare * 100).toFixed(1)} %, rate ${(d.change * 100).toFixed(1)} %`, Math.abs(d.churned.meanProbe - d.fresh.meanProbe) < 0.05 ? 'met' : 'missed']);
  }
  for (const a of records.filter((r) => r.workload === 'allocation')) {
    const d = a.detail as { bytesPerPacket: number; scavenges: number; packets: number };
    rows.push([`allocations per packet (${a.variant})`, '0', `${d.bytesPerPacket.toFixed(3)} B/packet, ${d.scavenges} scavenges in ${formatCount(d.packets)} packets`, d.bytesPerPacket < 0.1 && d.scavenges <= 1 ? 'met' : 'missed']);
  }
  return { title: 'Targets (issue 19)', header: ['target', 'wanted', 'measured', ''], rows };
}

function otherRows(records: BenchRecord[]): Table {
  const rows = records.filter((r) => ['expiry', 'sim', 'vs-ovs', 'churn', 'allocation'].includes(r.workload)).map((r) => {
    const first = r.results[0];
    const second = r.results[1];
    return [`${r.workload} (${r.variant})`, r.entries ? formatCount(r.entries) : '-', `${formatOps(r.opsPerSec)} ${r.unit}`, second ? `${second.impl}: ${formatOps(second.opsPerSec)}` : '-', second && first ? ratio(first, second) : '-'];
  });
  return { title: 'Other measurements', header: ['workload', 'entries', 'ctsim', 'compared with', 'ratio'], rows };
}

function allTables(records: BenchRecord[]): Table[] {
  const curve = costCurve(records);
  return [targets(records), ...speedTables(records), ...(curve ? [curve] : []), otherRows(records)];
}

export function printReport(file: BenchFile): void {
  for (const t of allTables(file.records)) if (t.rows.length) printTable(t.title, t.rows, t.header);
  process.stdout.write(`\n${describeRun(file.meta)}\n`);
}

export function describeRun(m: BenchMeta): string {
  const la = (x: number[]) => x.map((v) => v.toFixed(1)).join(' / ');
  return `Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC on ${m.cpu} (${m.cores} cores, ${m.platform}), Node ${m.node}, ${m.mode} mode; load average (1/5/15 min) ${la(m.loadAverageStart)} at the start, ${la(m.loadAverageEnd)} at the end; clock: ${m.clock ?? 'wall-clock time'}.`;
}

function markdown(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`**${t.title}**`, '', `| ${t.header.map(esc).join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`), ...(t.note ? ['', t.note] : [])].join('\n');
}

/** The README section between the markers, regenerated from this run only. */
export function readmeSection(file: BenchFile): string {
  const defs = new Map<string, BenchRecord>();
  for (const r of file.records) if (!defs.has(r.workload) && r.workload !== 'wire') defs.set(r.workload, r);
  return [
    `${describeRun(file.meta)} Regenerate with \`npm run bench -- --readme README.md\` (results also in \`bench/results.json\`).`,
    '',
    ...allTables(file.records).filter((t) => t.rows.length).flatMap((t) => [markdown(t), '']),
    '**What each workload measures** (also in every JSON record as `definition`):',
    '',
    ...[...defs.values()].map((r) => `- \`${r.workload}\`: ${r.definition.operation}. Keys: ${r.definition.keys}. Flows: ${r.definition.flows}. Outside the timed loop: ${r.definition.harness}.`),
  ].join('\n');
}

export const README_MARKERS = { start: '<!-- bench:start -->', end: '<!-- bench:end -->' };

export function hasReadmeSection(text: string): boolean {
  const a = text.indexOf(README_MARKERS.start);
  return a >= 0 && text.indexOf(README_MARKERS.end, a) > a;
}

/** `text` with the section between the markers replaced by this run's (the rest unchanged). */
export function writeReadmeSection(text: string, file: BenchFile): string {
  const { start, end } = README_MARKERS;
  if (!hasReadmeSection(text)) throw new Error(`no ${start} ... ${end} section`);
  const a = text.indexOf(start);
  const b = text.indexOf(end, a);
  return `${text.slice(0, a)}${start}\n${readmeSection(file)}\n${text.slice(b)}`;
}

/** Ratios new/old for every implementation of every record the two runs share. */
export function compareRuns(oldFile: BenchFile, newFile: BenchFile): { rows: string[][]; notes: string[] } {
  const key = (r: BenchRecord) => `${r.workload} | ${r.variant} | ${r.entries}`;
  const olds = new Map(oldFile.records.map((r) => [key(r), r]));
  const rows: string[][] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const r of newFile.records) {
    const k = key(r);
    seen.add(k);
    const o = olds.get(k);
    if (!o) {
      notes.push(`only in the new run: ${k}`);
      continue;
    }
    const sameDef = JSON.stringify(o.definition ?? null) === JSON.stringify(r.definition ?? null);
    for (const x of r.results) {
      const y = o.results?.find((z) => z.impl === x.impl);
      if (!y) continue;
      rows.push([`${r.workload} (${r.variant})`, r.entries ? formatCount(r.entries) : '-', x.impl, formatOps(y.opsPerSec), formatOps(x.opsPerSec), `${(x.opsPerSec / y.opsPerSec).toFixed(2)}x${sameDef ? '' : ' (definition changed)'}`]);
    }
    if (!r.results.length && r.bytesPerEntry !== null && o.bytesPerEntry !== null) {
      rows.push([`${r.workload} (${r.variant})`, formatCount(r.entries), 'index bytes/entry', o.bytesPerEntry.toFixed(1), r.bytesPerEntry.toFixed(1), `${(r.bytesPerEntry / o.bytesPerEntry).toFixed(2)}x`]);
    }
  }
  for (const k of olds.keys()) if (!seen.has(k)) notes.push(`only in the old run: ${k}`);
  return { rows, notes };
}

export function printComparison(oldFile: BenchFile, newFile: BenchFile): void {
  const { rows, notes } = compareRuns(oldFile, newFile);
  printTable('new / old (ops per second; above 1 is faster)', rows, ['workload', 'entries', 'implementation', 'old', 'new', 'new/old']);
  process.stdout.write(`\nold: ${oldFile.meta ? describeRun(oldFile.meta) : '(no meta)'}\nnew: ${newFile.meta ? describeRun(newFile.meta) : '(no meta)'}\n`);
  for (const n of notes) process.stdout.write(`${n}\n`);
}
