// The seed incidents across kernel releases chosen to straddle every relevant change, times the
// mitigations, times Istio's INVALID-drop rule, times the two halves of sequence space where the
// outcome depends on them.
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { runIncident } from './incidents.js';
import { DEFAULT_OPTIONS, type ScenarioName } from './scenario-types.js';

export const MATRIX_KERNELS = [
  '4.19', '5.4', 'ubuntu-20.04', '5.10.166', '5.14', 'sles-15-sp4', '5.15.90', '5.17.5', '5.17.6', '6.1.8', '6.1.9', '6.2', '6.6', '6.18',
];

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
  invalidDrop: boolean;
  isn: 'after' | 'before' | '-';
  result: string;
  seconds: number | null;
  leakSeconds: number;
  invalid: number;
  dropped: number;
}

export function runMatrix(o: { kernels?: string[]; mitigations?: string[]; onRow?: (r: MatrixRow, i: number, n: number) => void } = {}): MatrixRow[] {
  const kernels = o.kernels ?? MATRIX_KERNELS;
  const mitigations = MITIGATIONS.filter((m) => !o.mitigations || o.mitigations.includes(m.id));
  const jobs: Array<{ incident: ScenarioName; kernel: string; m: Mitigation; invalidDrop: boolean; isn: 'after' | 'before' | '-' }> = [];
  for (const kernel of kernels) {
    const p = resolveKernel(kernel);
    for (const m of mitigations) {
      if (m.id.startsWith('ignore_invalid_rst') && !p.behaviour.ignoreInvalidRstSysctl) continue;
      for (const invalidDrop of [false, true]) {
        jobs.push({ incident: 'half-close-leak', kernel, m, invalidDrop, isn: '-' });
        for (const isn of ['after', 'before'] as const) jobs.push({ incident: 'port-collision', kernel, m, invalidDrop, isn });
      }
    }
  }
  const rows: MatrixRow[] = [];
  jobs.forEach((j, i) => {
    const r = runIncident(j.incident, {
      ...DEFAULT_OPTIONS, kernel: j.kernel, sysctls: j.m.sysctls, invalidDrop: j.invalidDrop, idleTimeoutSec: j.m.idleTimeoutSec ?? 3600,
      isn: j.isn === '-' ? 'after' : j.isn,
    });
    const out = r.outcome;
    const row: MatrixRow = {
      incident: j.incident, kernel: j.kernel, mitigation: j.m.id, invalidDrop: j.invalidDrop, isn: j.isn,
      result: j.incident === 'half-close-leak' ? halfCloseResult(out.appFinReachedSidecar, out.leakSeconds) : out.connect ?? 'pending',
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

const HEAD = ['incident', 'kernel', 'mitigation', 'INVALID drop', 'isn', 'result', 'time (s)', 'leak (s)', 'INVALID', 'dropped'];

function cells(r: MatrixRow): string[] {
  return [r.incident, r.kernel, r.mitigation, r.invalidDrop ? 'yes' : 'no', r.isn, r.result, r.seconds === null ? '-' : r.seconds.toFixed(3), r.leakSeconds ? r.leakSeconds.toFixed(1) : '0', String(r.invalid), String(r.dropped)];
}

export function matrixText(rows: MatrixRow[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r, k) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + (k === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}

export function matrixMarkdown(rows: MatrixRow[]): string {
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).join(' | ')} |`)].join('\n');
}

/** One cell of the summary: a port-collision outcome, or the half-close leak's. */
function summaryCell(r: MatrixRow | undefined): string {
  if (!r) return 'n/a';
  if (r.incident === 'half-close-leak') return r.leakSeconds > 0 ? `leak ${r.leakSeconds.toFixed(0)}s` : 'no leak';
  return `${r.result === 'connected' ? 'ok' : r.result}${r.seconds !== null ? ` ${r.seconds.toFixed(3)}s` : ''}`;
}

/** The summary columns: which matrix row each one reads. */
const SUMMARY_COLUMNS: { head: string; incident: ScenarioName; mitigation: string; invalidDrop: boolean; isn: MatrixRow['isn'] }[] = [
  { head: 'RST after SYN', incident: 'port-collision', mitigation: 'none', invalidDrop: false, isn: 'after' },
  { head: 'before SYN', incident: 'port-collision', mitigation: 'none', invalidDrop: false, isn: 'before' },
  { head: '+ignore_invalid_rst', incident: 'port-collision', mitigation: 'ignore_invalid_rst=1', invalidDrop: false, isn: 'after' },
  { head: '+be_liberal', incident: 'port-collision', mitigation: 'be_liberal=1', invalidDrop: false, isn: 'after' },
  { head: '+INVALID drop', incident: 'port-collision', mitigation: 'none', invalidDrop: true, isn: 'after' },
  { head: '+close_wait', incident: 'port-collision', mitigation: 'close_wait=3700', invalidDrop: false, isn: 'after' },
  { head: 'leak', incident: 'half-close-leak', mitigation: 'none', invalidDrop: false, isn: '-' },
  { head: 'leak +close_wait', incident: 'half-close-leak', mitigation: 'close_wait=3700', invalidDrop: false, isn: '-' },
];

/**
 * The matrix in one row per kernel (what `npm start` prints; the whole matrix goes to
 * pcaps/matrix.md): the port collision (connect() result and time) with the RST's seq after and
 * before the SYN's, each mitigation (close_wait = nf_conntrack_tcp_timeout_close_wait=3700), the
 * INVALID drop rule, and the half-close leak with and without close_wait=3700.
 */
export function matrixSummary(rows: readonly MatrixRow[]): { head: string[]; rows: string[][] } {
  const kernels = [...new Set(rows.map((r) => r.kernel))];
  const find = (kernel: string, c: (typeof SUMMARY_COLUMNS)[number]) =>
    rows.find((r) => r.kernel === kernel && r.incident === c.incident && r.mitigation === c.mitigation && r.invalidDrop === c.invalidDrop && r.isn === c.isn);
  return { head: ['kernel', ...SUMMARY_COLUMNS.map((c) => c.head)], rows: kernels.map((k) => [k, ...SUMMARY_COLUMNS.map((c) => summaryCell(find(k, c)))]) };
}

/** What the matrix shows beyond single cells, computed from its rows (never written by hand). */
export interface MatrixFinding {
  id: 'collision-timeout' | 'close-wait-time-wait-stall';
  kernels: string[];
  /** Seconds the reconnect took, per kernel (the stall). */
  seconds: number[];
}

export function matrixFindings(rows: readonly MatrixRow[]): MatrixFinding[] {
  const out: MatrixFinding[] = [];
  const timeouts = rows.filter((r) => r.incident === 'port-collision' && r.mitigation === 'none' && !r.invalidDrop && r.isn === 'after' && r.result === 'ETIMEDOUT');
  if (timeouts.length) out.push({ id: 'collision-timeout', kernels: timeouts.map((r) => r.kernel), seconds: timeouts.map((r) => r.seconds ?? 0) });
  // close_wait=3700 cures the leak, yet the reconnect meets the sidecar's TIME_WAIT socket.
  const stalls = rows.filter((r) => r.incident === 'port-collision' && r.mitigation === 'close_wait=3700' && !r.invalidDrop && r.result === 'connected' && (r.seconds ?? 0) >= 10);
  if (stalls.length) out.push({ id: 'close-wait-time-wait-stall', kernels: [...new Set(stalls.map((r) => r.kernel))], seconds: stalls.map((r) => r.seconds ?? 0) });
  return out;
}
