// ctsim versus the running kernel on one seed incident: the real run (scenario-run.ts) and
// runIncident under the running kernel's profile with the same shortened timings, brought into
// one representation and compared.
//
// The representation: a packet is "where it was sent" (host and interface), its endpoints with
// the addresses named (pod, upstream, lo) and the ports that differ from run to run (the sidecar's
// ephemeral upstream ports) numbered in order of appearance (eph1, eph2, ...), its flags, its
// sequence and acknowledgment numbers relative to an ISN (c<n>+x: the client side of the n-th
// connection from that client port, s<n>+x: its server side; the nearest ISN below the number
// wins, so a challenge ACK or a late FIN is expressed in the old connection's space) and its
// payload length. Packets are aligned per flow (one connection at one interface) by longest common
// subsequence; conntrack events per entry (original tuple), likewise.
//
// Timing tolerance: a matched packet agrees when it is within TOLERANCE.absoluteMs of ctsim's time
// (a quarter of the minimum RTO, so a retransmission round more or less is always a difference)
// and when its gap to the previous matched packet of its flow is within max(gapMinMs, gapRelative
// x gap) of ctsim's gap (gapMinMs is just over one jiffy at HZ=250, so TCP_TIMEOUT_MIN, a delayed
// ACK or a timer a few ms off shows). A DESTROY event for an expired entry (ctsim's reason
// "timeout") may come later in the kernel: it is reported when a packet, a `conntrack -L` or the GC
// worker next touches the entry; ctsim reports it at the deadline. Event lines are compared on
// what both print: a state or timeout only one side's line carries is a format note, not a
// difference, and timeouts one second apart are equal (whole seconds left when the message is
// built). Nothing else is forgiven.
// Length: one comparison (packets, events, outcome) over shared row types and tolerances; its
// parts only make sense together.
//
// Timing is reported, not judged: a packet or event outside the tolerance is marked 'timing' with
// its numbers (and the outcome's times likewise), counted in the summary with the largest
// deviation, and does not make the scenario disagree. What happens (which packets and events, in
// which order per flow, and the outcome: FIN delivered, leak, connect result, SYNs sent, INVALID
// count) decides agreement; a timing difference that changes what happens shows up there.
import { performance } from 'node:perf_hooks';
import { runIncident } from '../scenarios/incidents.js';
import { POD_IP, UPSTREAM_IP, UPSTREAM_PORT } from '../scenarios/istio-pod.js';
import type { LadderPacket, ScenarioName, ScenarioResult } from '../scenarios/scenario-types.js';
import { ISTIO_DEFAULTS } from '../stack/presets/istio.js';
import { seqSub } from '../wire/index.js';
import { runningKernelProfile } from './kernel-diff.js';
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { APP_PORT, SCENARIO_TIMINGS, runRealScenario, scenarioSysctls, type RealRunOptions, type RealScenarioResult, type ScenarioTimings } from './scenario-run.js';

/** The kernel and ctsim disagreed on a scenario (the CLI throws it after printing the comparison: exit status 1). */
export class ScenarioDisagreement extends Error {
  override readonly name = 'ScenarioDisagreement';
  readonly kind = 'disagreement';
}

export interface Tolerance {
  absoluteMs: number;
  gapMinMs: number;
  gapRelative: number;
}

export const TOLERANCE: Readonly<Tolerance> = Object.freeze({ absoluteMs: 50, gapMinMs: 5, gapRelative: 0.25 });

/**
 * Inside a user-mode-linux guest every system call of the python programs is a ptrace round trip
 * through the UML kernel, so on a loaded machine they answer tens to hundreds of milliseconds
 * late (seen: a constant +0.3 s from the first data segment on, with the host at load 16); the
 * kernel's own timers (conntrack timeouts, TCP retransmissions) keep their times. The gap
 * tolerance still tells a 1 s SYN retransmission from a missing or an extra one, and packets,
 * events and counts must match exactly whatever the timing.
 */
export const UML_TOLERANCE: Readonly<Tolerance> = Object.freeze({ absoluteMs: 750, gapMinMs: 200, gapRelative: 0.25 });

export type RowStatus = 'ok' | 'timing' | 'only-ctsim' | 'only-kernel' | 'after-window';

export interface ComparedPacket {
  /** "pod lo", "pod eth0", "upstream eth0". */
  where: string;
  /** The packet in the common representation (identical on both sides when matched). */
  packet: string;
  ctsimNs: number | null;
  kernelNs: number | null;
  status: RowStatus;
  note?: string;
}

export interface ComparedEvent {
  /** The entry's original tuple, abstracted. */
  entry: string;
  ctsim: string | null;
  kernel: string | null;
  ctsimNs: number | null;
  kernelNs: number | null;
  status: RowStatus;
  note?: string;
  /** A difference in what the event line carries, not in behaviour (see formatNotes). */
  formatNote?: string;
}

export interface ComparedOutcome {
  field: string;
  ctsim: string;
  kernel: string;
  /** Equal (for a time: within the tolerance). */
  agree: boolean;
  /** A time (reported with its deviation, never a disagreement). */
  timing?: true;
  note?: string;
}

export interface ScenarioComparison {
  name: ScenarioName;
  kernel: string;
  profile: string;
  sysctls: string[];
  timings: ScenarioTimings;
  tolerance: Tolerance;
  packets: ComparedPacket[];
  events: ComparedEvent[];
  outcome: ComparedOutcome[];
  /** Kernel snapshots (ss, conntrack -L) taken during the real run. */
  snapshots: RealScenarioResult['snapshots'];
  summary: {
    packets: { ctsim: number; kernel: number; matched: number; timing: number; onlyCtsim: number; onlyKernel: number };
    events: { ctsim: number; kernel: number; matched: number; timing: number; onlyCtsim: number; onlyKernel: number; formatNotes: number };
    /** The outcome's non-timing fields agree. */
    outcomeAgree: boolean;
    /** Packets and events outside the timing tolerance, timing outcome fields outside it, and the largest deviation of a matched packet or event from ctsim's time (ms). */
    timing: { packets: number; events: number; outcome: number; maxDeviationMs: number };
    /** Same packets, events and outcome; timing is not part of it. */
    agree: boolean;
  };
  realWallSeconds: number;
  ctsimWallSeconds: number;
}

// ------------------------------------------------------------ the common representation

const SERVER_PORTS = new Set<number>([UPSTREAM_PORT, ISTIO_DEFAULTS.outboundCapturePort, ISTIO_DEFAULTS.inboundCapturePort]);
const FIXED_PORTS = new Set<number>([APP_PORT, ...SERVER_PORTS]);
const ADDRESS_NAMES = new Map<string, string>([[POD_IP, 'pod'], [UPSTREAM_IP, 'upstream'], ['127.0.0.1', 'lo']]);

/** Names endpoints; ports that vary between runs are numbered in order of first appearance. */
class EndpointNames {
  private readonly eph = new Map<number, string>();

  port(p: number): string {
    if (FIXED_PORTS.has(p)) return String(p);
    let n = this.eph.get(p);
    if (!n) this.eph.set(p, (n = `eph${this.eph.size + 1}`));
    return n;
  }

  endpoint(addr: string, port: number): string {
    return `${ADDRESS_NAMES.get(addr) ?? addr}:${this.port(port)}`;
  }
}

function splitEndpoint(e: string): [string, number] {
  const i = e.lastIndexOf(':');
  return [e.slice(0, i), Number(e.slice(i + 1))];
}

interface Row {
  timeNs: number;
  flow: string;
  where: string;
  text: string;
}

interface SeqInstance {
  c: number;
  s: number | null;
}

/** Offset of v from the nearest ISN at or below it (within 16 MiB), named c<n>/s<n>; '?' if none. */
function relative(v: number, list: SeqInstance[], side: 'c' | 's'): string {
  let best: [number, number] | null = null;
  list.forEach((inst, i) => {
    const base = side === 'c' ? inst.c : inst.s;
    if (base === null) return;
    const d = seqSub(v, base);
    if (d < 1 << 24 && (!best || d < best[1])) best = [i, d];
  });
  return best ? `${side}${best[0] + 1}+${best[1]}` : '?';
}

function packetRows(packets: LadderPacket[], names: EndpointNames): Row[] {
  const conns = new Map<string, SeqInstance[]>();
  const rows: Row[] = [];
  for (const p of [...packets].sort((a, b) => a.timeNs - b.timeNs)) {
    const [sa, sp] = splitEndpoint(p.src);
    const [da, dp] = splitEndpoint(p.dst);
    const fromClient = !SERVER_PORTS.has(sp);
    const client = fromClient ? p.src : p.dst;
    let list = conns.get(client);
    if (!list) conns.set(client, (list = []));
    const last = list.at(-1);
    if (p.flags === 'S' && fromClient && (!last || last.c !== p.seq)) list.push({ c: p.seq, s: null });
    if (p.flags === 'S.' && !fromClient && last && last.s === null) last.s = p.seq;
    const seq = relative(p.seq, list, fromClient ? 'c' : 's');
    const ack = p.flags.includes('.') ? relative(p.ack, list, fromClient ? 's' : 'c') : null;
    const src = names.endpoint(sa, sp);
    const dst = names.endpoint(da, dp);
    const where = `${p.host} ${p.iface}`;
    // A flow is one connection (both directions) as seen at one place.
    rows.push({
      timeNs: p.timeNs, where, flow: `${where} ${fromClient ? src : dst}`,
      text: `${src} > ${dst} ${p.flags} seq=${seq}${ack !== null ? ` ack=${ack}` : ''}${p.len ? ` len=${p.len}` : ''}`,
    });
  }
  return rows;
}

interface CtRow {
  timeNs: number;
  type: string;
  timeout: number | null;
  state: string | null;
  orig: string;
  reply: string;
  flags: string;
  reason?: string;
}

const CT_LINE = /^\[(NEW|UPDATE|DESTROY)\]\s+tcp\s+6\s+(?:(\d+)\s+)?(?:([A-Z_]+)\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)\s*(\[UNREPLIED\])?\s*src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)\s*(\[ASSURED\])?/;

/** A `conntrack -E` line (the kernel's, or ctsim's formatEvent text) in the common representation. */
function ctRow(timeNs: number, text: string, names: EndpointNames, reason?: string): CtRow | null {
  const m = CT_LINE.exec(text.trim());
  if (!m) return null;
  const tuple = (s: string, d: string, sp: string, dp: string) => `${names.endpoint(s, Number(sp))} > ${names.endpoint(d, Number(dp))}`;
  return {
    timeNs, type: m[1], timeout: m[2] !== undefined ? Number(m[2]) : null, state: m[3] ?? null,
    orig: tuple(m[4], m[5], m[6], m[7]), reply: tuple(m[9], m[10], m[11], m[12]), flags: `${m[8] ? ' [UNREPLIED]' : ''}${m[13] ? ' [ASSURED]' : ''}`, reason,
  };
}

function ctText(e: CtRow): string {
  return `[${e.type}]${e.timeout !== null ? ` ${e.timeout}` : ''}${e.state ? ` ${e.state}` : ''} ${e.orig} | ${e.reply}${e.flags}`;
}

/**
 * Same event, possibly printed with different detail: a state or timeout only one side shows is
 * not compared. A timeout is the whole seconds left when the kernel builds the message, which can
 * be a jiffy after it set the timeout (432000 shows as 431999): one second apart is the same.
 */
function ctEqual(a: CtRow, b: CtRow): boolean {
  if (a.type !== b.type || a.orig !== b.orig || a.reply !== b.reply || a.flags !== b.flags) return false;
  if (a.state !== null && b.state !== null && a.state !== b.state) return false;
  if (a.type !== 'DESTROY' && a.timeout !== null && b.timeout !== null && Math.abs(a.timeout - b.timeout) > 1) return false;
  return true;
}

function ctFormatNote(sim: CtRow, real: CtRow): string | undefined {
  const notes: string[] = [];
  if (sim.state !== null && real.state === null) notes.push(`the kernel's event carries no state (ctsim prints ${sim.state})`);
  if (sim.state === null && real.state !== null) notes.push(`ctsim's line omits the state the kernel's event carries (${real.state})`);
  if (sim.timeout === null && real.timeout !== null) notes.push(`ctsim's line omits the timeout the kernel's event carries (${real.timeout})`);
  return notes.length ? notes.join('; ') : undefined;
}

// ------------------------------------------------------------ alignment and timing

/** Longest common subsequence alignment, in order, with gaps as nulls. */
function align<A, B>(a: A[], b: B[], eq: (x: A, y: B) => boolean): Array<[A | null, B | null]> {
  const n = a.length;
  const m = b.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = eq(a[i], b[j]) ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out: Array<[A | null, B | null]> = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (eq(a[i], b[j])) out.push([a[i++], b[j++]]);
    else if (L[i + 1][j] >= L[i][j + 1]) out.push([a[i++], null]);
    else out.push([null, b[j++]]);
  }
  while (i < n) out.push([a[i++], null]);
  while (j < m) out.push([null, b[j++]]);
  return out;
}

const ms = (ns: number) => ns / 1e6;

/** Why a matched pair's timing disagrees, or null. */
function timingProblem(c: number, k: number, prev: [number, number] | null, lateOk: boolean, tol: Tolerance): string | null {
  const d = ms(k - c);
  if (lateOk ? d < -tol.absoluteMs : Math.abs(d) > tol.absoluteMs) return `kernel ${d >= 0 ? '+' : ''}${d.toFixed(1)} ms off ctsim's time (tolerance ${tol.absoluteMs} ms)`;
  if (prev && !lateOk) {
    const gc = ms(c - prev[0]);
    const gk = ms(k - prev[1]);
    const allowed = Math.max(tol.gapMinMs, tol.gapRelative * Math.max(gc, gk));
    if (Math.abs(gk - gc) > allowed) return `gap after the previous one of its flow: ctsim ${gc.toFixed(1)} ms, kernel ${gk.toFixed(1)} ms (tolerance ${allowed.toFixed(1)} ms)`;
  }
  return null;
}

function comparePackets(sim: Row[], real: Row[], windowNs: number, tol: Tolerance): ComparedPacket[] {
  const out: ComparedPacket[] = [];
  const flows = [...new Set([...sim.map((r) => r.flow), ...real.map((r) => r.flow)])];
  for (const f of flows) {
    let prev: [number, number] | null = null;
    for (const [c, k] of align(sim.filter((r) => r.flow === f), real.filter((r) => r.flow === f), (x, y) => x.text === y.text)) {
      if (c && k) {
        const problem = timingProblem(c.timeNs, k.timeNs, prev, false, tol);
        out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: k.timeNs, status: problem ? 'timing' : 'ok', ...(problem ? { note: problem } : {}) });
        prev = [c.timeNs, k.timeNs];
      } else if (c) out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: null, status: 'only-ctsim' });
      else if (k) out.push({ where: k.where, packet: k.text, ctsimNs: null, kernelNs: k.timeNs, status: k.timeNs > windowNs ? 'after-window' : 'only-kernel' });
    }
  }
  return out.sort(byTime);
}

/** ctsim's time first; ties (ctsim often sends several packets in one instant) in the kernel's order. */
function byTime(a: { ctsimNs: number | null; kernelNs: number | null }, b: { ctsimNs: number | null; kernelNs: number | null }): number {
  return (a.ctsimNs ?? a.kernelNs!) - (b.ctsimNs ?? b.kernelNs!) || (a.kernelNs ?? Infinity) - (b.kernelNs ?? Infinity);
}

function compareEvents(sim: CtRow[], real: CtRow[], windowNs: number, tol: Tolerance): ComparedEvent[] {
  const out: ComparedEvent[] = [];
  const entries = [...new Set([...sim.map((r) => r.orig), ...real.map((r) => r.orig)])];
  for (const entry of entries) {
    let prev: [number, number] | null = null;
    for (const [c, k] of align(sim.filter((r) => r.orig === entry), real.filter((r) => r.orig === entry), ctEqual)) {
      if (c && k) {
        const expired = c.type === 'DESTROY' && c.reason === 'timeout';
        const problem = timingProblem(c.timeNs, k.timeNs, prev, expired, tol);
        const formatNote = ctFormatNote(c, k);
        const lag = expired && k.timeNs - c.timeNs > tol.absoluteMs * 1e6 ? `expired entry reported ${((k.timeNs - c.timeNs) / 1e9).toFixed(3)} s after its deadline` : undefined;
        out.push({
          entry, ctsim: ctText(c), kernel: ctText(k), ctsimNs: c.timeNs, kernelNs: k.timeNs, status: problem ? 'timing' : 'ok',
          ...(problem || lag ? { note: problem ?? lag } : {}), ...(formatNote ? { formatNote } : {}),
        });
        if (!expired) prev = [c.timeNs, k.timeNs];
      } else if (c) out.push({ entry, ctsim: ctText(c), kernel: null, ctsimNs: c.timeNs, kernelNs: null, status: 'only-ctsim' });
      else if (k) out.push({ entry, ctsim: null, kernel: ctText(k), ctsimNs: null, kernelNs: k.timeNs, status: k.timeNs > windowNs ? 'after-window' : 'only-kernel' });
    }
  }
  return out.sort(byTime);
}

function compareOutcome(name: ScenarioName, sim: ScenarioResult, real: RealScenarioResult, windowNs: number, tol: Tolerance, profile: string): ComparedOutcome[] {
  const s = sim.outcome;
  const k = real.outcome;
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const secs = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  const near = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) * 1000 <= tol.absoluteMs);
  const rows: ComparedOutcome[] = [
    { field: 'app FIN reached the sidecar', ctsim: yn(s.appFinReachedSidecar), kernel: yn(k.appFinReachedSidecar), agree: s.appFinReachedSidecar === k.appFinReachedSidecar },
    { field: 'sidecar closed the leaked connection at (s)', ctsim: secs(s.sidecarClosedAtSec), kernel: secs(k.sidecarClosedAtSec), agree: near(s.sidecarClosedAtSec, k.sidecarClosedAtSec), timing: true },
    { field: 'leak after the app closed (s)', ctsim: s.leakSeconds.toFixed(3), kernel: k.leakSeconds.toFixed(3), agree: near(s.leakSeconds, k.leakSeconds), timing: true },
  ];
  if (name === 'port-collision') {
    const gapOk = s.connectSeconds !== null && k.connectSeconds !== null
      ? Math.abs(k.connectSeconds - s.connectSeconds) * 1000 <= Math.max(tol.gapMinMs, tol.gapRelative * 1000 * Math.max(s.connectSeconds, k.connectSeconds))
      : s.connectSeconds === k.connectSeconds;
    rows.push(
      { field: 'reconnect from the same port', ctsim: s.connect ?? '-', kernel: k.connect ?? '-', agree: s.connect === k.connect },
      { field: 'connect() took (s)', ctsim: secs(s.connectSeconds), kernel: secs(k.connectSeconds), agree: gapOk, timing: true },
      { field: 'SYNs sent by the reconnect', ctsim: String(s.synsSent), kernel: String(k.synsSent), agree: s.synsSent === k.synsSent },
    );
  }
  // ctsim counts over its whole run; the kernel's counter covers the real run (up to the window).
  // The kernel side is the `conntrack -S` invalid counter: before 830af2eba403 it also counts each
  // SYN that re-opened a closed entry (-NF_REPEAT).
  const repeatCounts = !resolveKernel(profile).behaviour.repeatNotCountedInvalid;
  const simInvalid = sim.timeline.filter((e) => e.host === 'pod' && e.kind === 'conntrack' && e.timeNs <= windowNs &&
    (e.text.startsWith('conntrack INVALID') || (repeatCounts && e.text.startsWith('conntrack [DESTROY]') && e.text.endsWith('(reopen)')))).length;
  rows.push({ field: `conntrack -S invalid in the pod (first ${windowNs / 1e9} s)`, ctsim: String(simInvalid), kernel: String(k.invalidPackets), agree: simInvalid === k.invalidPackets });
  return rows;
}

// ------------------------------------------------------------ entry points

/** ctsim's run of the incident with the real run's timings, on the running kernel's profile. */
export function simulateScenario(name: ScenarioName, t: ScenarioTimings = SCENARIO_TIMINGS[name], profile: string = runningKernelProfile().name): ScenarioResult {
  return runIncident(name, {
    kernel: profile, sysctls: scenarioSysctls(t), invalidDrop: false, idleTimeoutSec: t.idleTimeoutSec, seed: 1,
    appCloseAtSec: t.appCloseAtSec, reconnectAtSec: t.reconnectAtSec, portChoice: 'explicit',
    // Linux's ISN for the same 4-tuple grows with time (secure_tcp_seq: a keyed hash plus ns/64), so
    // the reconnect's ISN lies ~Δt/64 ns after the old one: the RST's seq (the old rcv_nxt) comes
    // before the new SYN's ISN, which is ctsim's 'before'.
    isn: 'before',
  });
}

export function compareScenario(real: RealScenarioResult, sim: ScenarioResult, ctsimWallSeconds = 0, profile: string = runningKernelProfile().name, tol: Readonly<Tolerance> = TOLERANCE): ScenarioComparison {
  const windowNs = real.timings.windowSec * 1e9;
  const simNames = new EndpointNames();
  const realNames = new EndpointNames();
  // Packets first, in time order, so that ephemeral ports get the same names on both sides.
  const simRows = packetRows(sim.packets.filter((p) => p.timeNs <= windowNs), simNames);
  const realRows = packetRows(real.packets, realNames);
  const simEvents = sim.timeline
    .filter((e) => e.host === 'pod' && e.kind === 'conntrack' && e.text.startsWith('conntrack [') && e.timeNs <= windowNs)
    .map((e) => {
      const m = /\s\(([a-z-]+)\)$/.exec(e.text);
      return ctRow(e.timeNs, e.text.slice('conntrack '.length).replace(/\s\([a-z-]+\)$/, ''), simNames, m?.[1]);
    })
    .filter((e): e is CtRow => e !== null);
  const realEvents = real.conntrackEvents.map((e) => ctRow(e.timeNs, e.text, realNames)).filter((e): e is CtRow => e !== null);
  const packets = comparePackets(simRows, realRows, windowNs, tol);
  const events = compareEvents(simEvents, realEvents, windowNs, tol);
  const outcome = compareOutcome(real.name, sim, real, windowNs, tol, profile);
  const count = <T extends { status: RowStatus }>(xs: T[]) => ({
    matched: xs.filter((x) => x.status === 'ok' || x.status === 'timing').length,
    timing: xs.filter((x) => x.status === 'timing').length,
    onlyCtsim: xs.filter((x) => x.status === 'only-ctsim').length,
    onlyKernel: xs.filter((x) => x.status === 'only-kernel').length,
  });
  const pc = count(packets);
  const ec = count(events);
  const outcomeAgree = outcome.every((o) => o.agree || o.timing);
  const deviations = [...packets, ...events].filter((x) => x.ctsimNs !== null && x.kernelNs !== null && x.status !== 'after-window').map((x) => Math.abs(x.kernelNs! - x.ctsimNs!) / 1e6);
  return {
    name: real.name, kernel: real.kernel, profile, sysctls: real.sysctls, timings: real.timings, tolerance: { ...tol },
    packets, events, outcome, snapshots: real.snapshots,
    summary: {
      packets: { ctsim: simRows.length, kernel: realRows.filter((r) => r.timeNs <= windowNs).length, ...pc },
      events: { ctsim: simEvents.length, kernel: realEvents.length, ...ec, formatNotes: events.filter((e) => e.formatNote).length },
      outcomeAgree,
      timing: { packets: pc.timing, events: ec.timing, outcome: outcome.filter((o) => o.timing && !o.agree).length, maxDeviationMs: deviations.length ? Math.max(...deviations) : 0 },
      agree: outcomeAgree && pc.onlyCtsim + pc.onlyKernel + ec.onlyCtsim + ec.onlyKernel === 0,
    },
    realWallSeconds: real.wallSeconds, ctsimWallSeconds,
  };
}

/** Runs the incident for real, then in ctsim, and compares. */
export async function runScenarioDiff(name: ScenarioName, o: RealRunOptions & { profile?: string; tolerance?: Readonly<Tolerance> } = {}): Promise<ScenarioComparison> {
  const t = o.timings ?? SCENARIO_TIMINGS[name];
  const real = await runRealScenario(name, { ...o, timings: t });
  const t0 = performance.now();
  const profile = o.profile ?? runningKernelProfile().name;
  const sim = simulateScenario(name, t, profile);
  return compareScenario(real, sim, (performance.now() - t0) / 1000, profile, o.tolerance ?? TOLERANCE);
}
