// The seed incidents (the shipped files scenarios/half-close-leak.yaml and port-collision.yaml,
// run by the scenario engine with seed-knobs.ts's overrides) across kernel releases chosen to
// straddle every relevant change, times the
// mitigations, times where the pod drops INVALID packets (none, or one of the four placements),
// times the time between the two connections of the port collision: Linux's ISN is the 4-tuple's
// hash plus the clock (64 ns per step, a 274.9 s cycle), so a reconnect within 137.4 s of the
// first connect gets an ISN after the old connection's sequence space (the RST after the challenge
// ACK carries a seq "before" the new SYN's) and one 137.4-274.9 s later an ISN before it.
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { INVALID_DROP_PLACEMENTS, type InvalidDropPlacement } from './invalid-drop.js';
import { reconnectCell } from './outcome-text.js';
import type { ScenarioOutcome } from './scenario-types.js';
import type { SeedName as ScenarioName } from './seed-knobs.js';
import { runSeed } from './seed-run.js';

export const MATRIX_KERNELS = [
  '4.19', '5.4', 'ubuntu-20.04', '5.10.166', '5.14', 'sles-15-sp4', '5.15.90', '5.17.5', '5.17.6', '6.1.8', '6.1.9', '6.2', '6.6', '6.18',
];

/** Reconnect times (s after the first connect()): one in each half of the ISN clock's cycle. */
export const MATRIX_RECONNECT_AT = [120, 200] as const;

export interface Mitigation {
  id: string;
  sysctls: string[];
  idleTimeoutSec?: number;
}

export const MITIGATIONS: Mitigation[] = [
  { id: 'none', sysctls: [] },
  { id: 'ignore_invalid_rst=1', sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] },
  { id: 'be_liberal=1', sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] },
  { id: 'close_wait=3700', sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700'] },
  { id: 'idle_timeout=30s', sysctls: [], idleTimeoutSec: 30 },
];

export interface MatrixRow {
  incident: ScenarioName;
  kernel: string;
  mitigation: string;
  /** Where the pod drops INVALID packets, or '-'. */
  invalidDrop: InvalidDropPlacement | '-';
  /** port-collision: when the app reconnects (s after its first connect()); null for half-close-leak. */
  reconnectAt: number | null;
  /** Where the leaked socket's rcv_nxt (the RST's seq) fell relative to the SYN that went out. */
  rstSeq: ScenarioOutcome['rstSeq'];
  /** The outcome in one cell (reconnectCell, or the half-close result). */
  result: string;
  connect: ScenarioOutcome['connect'];
  seconds: number | null;
  leakSeconds: number;
  invalid: number;
  dropped: number;
}

export function runMatrix(o: { kernels?: string[]; mitigations?: string[]; onRow?: (r: MatrixRow, i: number, n: number) => void } = {}): MatrixRow[] {
  const kernels = o.kernels ?? MATRIX_KERNELS;
  const mitigations = MITIGATIONS.filter((m) => !o.mitigations || o.mitigations.includes(m.id));
  const jobs: Array<{ incident: ScenarioName; kernel: string; m: Mitigation; invalidDrop: InvalidDropPlacement | null; reconnectAt: number | null }> = [];
  for (const kernel of kernels) {
    const p = resolveKernel(kernel);
    for (const m of mitigations) {
      if (m.id.startsWith('ignore_invalid_rst') && !p.behaviour.ignoreInvalidRstSysctl) continue;
      for (const invalidDrop of [null, ...INVALID_DROP_PLACEMENTS]) {
        jobs.push({ incident: 'half-close-leak', kernel, m, invalidDrop, reconnectAt: null });
        for (const reconnectAt of MATRIX_RECONNECT_AT) jobs.push({ incident: 'port-collision', kernel, m, invalidDrop, reconnectAt });
      }
    }
  }
  const rows: MatrixRow[] = [];
  jobs.forEach((j, i) => {
    const r = runSeed(j.incident, { kernel: j.kernel, sysctls: j.m.sysctls, invalidDrop: j.invalidDrop, idleTimeoutSec: j.m.idleTimeoutSec, reconnectAtSec: j.reconnectAt ?? undefined });
    const out = r.outcome;
    const row: MatrixRow = {
      incident: j.incident, kernel: j.kernel, mitigation: j.m.id, invalidDrop: j.invalidDrop ?? '-', reconnectAt: j.reconnectAt, rstSeq: out.rstSeq,
      result: j.incident === 'half-close-leak' ? halfCloseResult(out.appFinReachedSidecar, out.leakSeconds) : reconnectCell(out),
      connect: out.connect,
      seconds: j.incident === 'half-close-leak' ? null : out.connectSeconds,
      leakSeconds: Math.round(out.leakSeconds * 1000) / 1000,
      invalid: out.invalidPackets,
      dropped: out.droppedPackets,
    };
    rows.push(row);
    o.onRow?.(row, i + 1, jobs.length);
  });
  return rows;
}

/** The half-close leak's result: a lost FIN leaks the sidecar's sockets only while it holds them. */
function halfCloseResult(finReached: boolean, leakSeconds: number): string {
  if (finReached) return 'FIN reached sidecar';
  return leakSeconds > 0 ? 'FIN lost: sockets leaked' : 'FIN lost, no leak (sidecar closed first)';
}

const HEAD = ['incident', 'kernel', 'mitigation', 'INVALID drop', 'reconnect at (s)', 'RST seq vs SYN', 'result', 'leak (s)', 'INVALID', 'dropped'];

function cells(r: MatrixRow): string[] {
  return [
    r.incident, r.kernel, r.mitigation, r.invalidDrop, r.reconnectAt === null ? '-' : String(r.reconnectAt), r.rstSeq ?? '-', r.result,
    r.leakSeconds ? r.leakSeconds.toFixed(1) : '0', String(r.invalid), String(r.dropped),
  ];
}

export function matrixText(rows: MatrixRow[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r, k) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + (k === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}

export function matrixMarkdown(rows: MatrixRow[]): string {
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).join(' | ')} |`)].join('\n');
}

/** The outcome table: one row per kernel, the columns that tell the story (`npm start` prints it, the README shows it). */
export function matrixSummary(rows: readonly MatrixRow[]): { head: string[]; rows: string[][] } {
  const pick = (kernel: string, incident: ScenarioName, mitigation: string, drop: MatrixRow['invalidDrop'], at: number | null) =>
    rows.find((r) => r.kernel === kernel && r.incident === incident && r.mitigation === mitigation && r.invalidDrop === drop && r.reconnectAt === at);
  const cell = (r: MatrixRow | undefined) => (!r ? 'n/a' : r.incident === 'half-close-leak' ? (r.leakSeconds ? `leak ${r.leakSeconds.toFixed(0)} s` : 'no leak') : r.result);
  const [early, late] = MATRIX_RECONNECT_AT;
  // The three placements that keep the pod's packets flowing give one cell when they agree.
  const flowing = INVALID_DROP_PLACEMENTS.filter((p) => p !== 'raw-prerouting');
  const drops = (k: string, at: number) => [...new Set(flowing.map((p) => cell(pick(k, 'port-collision', 'none', p, at))))].join(' / ');
  const cols: Array<[string, (k: string) => string]> = [
    [`reconnect at ${early} s`, (k) => cell(pick(k, 'port-collision', 'none', '-', early))],
    [`reconnect at ${late} s`, (k) => cell(pick(k, 'port-collision', 'none', '-', late))],
    [`${late} s + ignore_invalid_rst=1`, (k) => cell(pick(k, 'port-collision', 'ignore_invalid_rst=1', '-', late))],
    [`${late} s + be_liberal=1`, (k) => cell(pick(k, 'port-collision', 'be_liberal=1', '-', late))],
    [`INVALID drop (mangle PREROUTING, filter OUTPUT or INPUT), ${early} s`, (k) => drops(k, early)],
    [`the same, ${late} s`, (k) => drops(k, late)],
    ['INVALID drop in raw PREROUTING', (k) => cell(pick(k, 'port-collision', 'none', 'raw-prerouting', early))],
    ['half-close leak', (k) => cell(pick(k, 'half-close-leak', 'none', '-', null))],
    ['+ close_wait=3700', (k) => cell(pick(k, 'half-close-leak', 'close_wait=3700', '-', null))],
  ];
  const kernels = [...new Set(rows.map((r) => r.kernel))];
  return { head: ['kernel', ...cols.map((c) => c[0])], rows: kernels.map((k) => [k, ...cols.map((c) => c[1](k))]) };
}

export function matrixSummaryMarkdown(rows: MatrixRow[]): string {
  const t = matrixSummary(rows);
  return [`| ${t.head.join(' | ')} |`, `|${t.head.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** What the matrix shows beyond single cells, computed from its rows (never written by hand). */
export interface MatrixFinding {
  id: 'collision-timeout' | 'close-wait-time-wait-stall';
  kernels: string[];
  /** The reconnect's connect() time per kernel (s). */
  seconds: number[];
}

export function matrixFindings(rows: readonly MatrixRow[]): MatrixFinding[] {
  const out: MatrixFinding[] = [];
  const collision = rows.filter((r) => r.incident === 'port-collision' && r.invalidDrop === '-');
  const timeouts = collision.filter((r) => r.mitigation === 'none' && r.connect === 'ETIMEDOUT');
  if (timeouts.length) out.push({ id: 'collision-timeout', kernels: [...new Set(timeouts.map((r) => r.kernel))], seconds: timeouts.map((r) => r.seconds ?? 0) });
  // close_wait=3700 cures the leak, yet the reconnect meets the sidecar's TIME_WAIT socket.
  const stalls = collision.filter((r) => r.mitigation === 'close_wait=3700' && r.connect === 'connected' && (r.seconds ?? 0) >= 10);
  if (stalls.length) out.push({ id: 'close-wait-time-wait-stall', kernels: [...new Set(stalls.map((r) => r.kernel))], seconds: stalls.map((r) => r.seconds ?? 0) });
  return out;
}
