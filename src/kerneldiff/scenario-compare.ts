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
// Timing is reported, not judged: a matched packet is marked 'timing' (with its numbers) when it
// lies more than TOLERANCE.absoluteMs from ctsim's time, or when its gap to the previous matched
// packet of its flow differs from ctsim's by more than the kernel's own run-to-run spread for a
// gap that long: 5 ms (a jiffy at HZ=250 plus scheduling), or for a timer on the wheel's coarser
// levels its granule (32 ms for 0.25-2 s, 256 ms up to 16 s, 2 s beyond: the kernel rounds a timer
// up to the next granule boundary of jiffies it runs at, whose phase differs from run to run).
// Packets, events and the outcome decide agreement; a timing difference that changes what happens
// shows up there. A DESTROY event for an expired entry (ctsim's reason
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
import { runningKernelProfile } from './kernel-diff.js';
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { APP_PORT, runRealScenario, type RealRunOptions, type RealScenarioResult } from './scenario-run.js';
import { findVariant, variantOptions, type ScenarioTimings, type ScenarioVariant } from './scenario-variants.js';
import { Status } from '../conntrack/status.js';
import { tcpStateName as ctStateName } from '../conntrack/tcp-states.js';
import type { Tuple } from '../conntrack/tuple.js';
import { formatIpv4Address, seqAfter, seqSub } from '../wire/index.js';

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

/** Gaps: 5 ms, or the timer wheel's spread for the gap's length (see wheelSpreadMs). */
export const TOLERANCE: Readonly<Tolerance> = Object.freeze({ absoluteMs: 50, gapMinMs: 5, gapRelative: 0 });

/**
 * Inside a user-mode-linux guest every system call of the python programs is a ptrace round trip
 * through the UML kernel, so on a loaded machine they answer tens to hundreds of milliseconds
 * late (seen: a constant +0.3 s from the first data segment on, with the host at load 16); the
 * kernel's own timers (conntrack timeouts, TCP retransmissions) keep their times. The gap
 * tolerance still tells a 1 s SYN retransmission from a missing or an extra one, and packets,
 * events and counts must match exactly whatever the timing.
 */
export const UML_TOLERANCE: Readonly<Tolerance> = Object.freeze({ absoluteMs: 750, gapMinMs: 200, gapRelative: 0.25 });

const TICK_MS = 4; // HZ=250

/** The timer wheel's granule for a timer of `gapMs` (calc_wheel_index levels), plus one jiffy: how far two runs of the same timer can differ. */
export function wheelSpreadMs(gapMs: number): number {
  const j = gapMs / TICK_MS;
  const granule = j < 63 ? 1 : j < 504 ? 8 : j < 4032 ? 64 : 512;
  return (granule + 1) * TICK_MS;
}

export type RowStatus = 'ok' | 'timing' | 'only-ctsim' | 'only-kernel' | 'after-window';

export interface ComparedPacket {
  /** "pod lo", "pod eth0", "upstream eth0". */
  where: string;
  /** Kernel gap minus ctsim gap to the previous matched packet of the flow (ms), when both exist. */
  gapDiffMs?: number;
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
  /** The DESTROY of an expired entry: the kernel reports it when something next touches the entry (its lag is not a timing difference). */
  expired?: true;
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
  /** The variant's id (kernel-diff --scenario ID). */
  variant: string;
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
    /**
     * Packets and events outside the timing tolerance, timing outcome fields outside it, the largest
     * deviation of a matched packet or event from ctsim's time (ms), and the largest gap difference
     * of a matched packet with its previous one in the flow (ms).
     */
    timing: { packets: number; events: number; outcome: number; maxDeviationMs: number; maxGapDiffMs: number };
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

/** A `conntrack -E` line of the kernel in the common representation. */
function ctRow(timeNs: number, text: string, names: EndpointNames): CtRow | null {
  const m = CT_LINE.exec(text.trim());
  if (!m) return null;
  const tuple = (s: string, d: string, sp: string, dp: string) => `${names.endpoint(s, Number(sp))} > ${names.endpoint(d, Number(dp))}`;
  return {
    timeNs, type: m[1], timeout: m[2] !== undefined ? Number(m[2]) : null, state: m[3] ?? null,
    orig: tuple(m[4], m[5], m[6], m[7]), reply: tuple(m[9], m[10], m[11], m[12]), flags: `${m[8] ? ' [UNREPLIED]' : ''}${m[13] ? ' [ASSURED]' : ''}`,
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
    const allowed = Math.max(tol.gapMinMs, tol.gapRelative * Math.max(gc, gk), wheelSpreadMs(Math.max(gc, gk)));
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
        const gapDiffMs = prev ? ms((k.timeNs - prev[1]) - (c.timeNs - prev[0])) : undefined;
        out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: k.timeNs, status: problem ? 'timing' : 'ok', ...(gapDiffMs !== undefined ? { gapDiffMs } : {}), ...(problem ? { note: problem } : {}) });
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
          ...(problem || lag ? { note: problem ?? lag } : {}), ...(formatNote ? { formatNote } : {}), ...(expired ? { expired: true as const } : {}),
        });
        if (!expired) prev = [c.timeNs, k.timeNs];
      } else if (c) out.push({ entry, ctsim: ctText(c), kernel: null, ctsimNs: c.timeNs, kernelNs: null, status: 'only-ctsim' });
      else if (k) out.push({ entry, ctsim: null, kernel: ctText(k), ctsimNs: null, kernelNs: k.timeNs, status: k.timeNs > windowNs ? 'after-window' : 'only-kernel' });
    }
  }
  return out.sort(byTime);
}

/**
 * Where the RST after the challenge ACK lies relative to the reconnect's SYN, read from the
 * packets: the leaked socket's challenge ACK acknowledges its rcv_nxt (the RST's seq); the
 * reconnect's SYN carries the new ISN. '-' when no challenge ACK answered it.
 */
function rstSeqVsSyn(packets: LadderPacket[]): string {
  const app = `${POD_IP}:${APP_PORT}`;
  const sorted = [...packets].sort((a, b) => a.timeNs - b.timeNs);
  // The reconnect's SYN: the first one from the app's port with another ISN than the first connection's.
  const first = sorted.find((p) => p.src === app && p.flags === 'S');
  const i = sorted.findIndex((p) => p.src === app && p.flags === 'S' && p.seq !== first?.seq);
  if (i < 0) return '-';
  const syn = sorted[i];
  // The next packet to the app on lo: the challenge ACK, or the SYN-ACK when the SYN was accepted.
  const challenge = sorted.slice(i + 1).find((p) => p.dst === app && p.iface === 'lo');
  if (!challenge || challenge.flags !== '.' || challenge.ack === ((syn.seq + 1) >>> 0)) return '-';
  return seqAfter(challenge.ack, syn.seq) ? 'after-syn' : 'before-syn';
}

function compareOutcome(name: ScenarioName, sim: ScenarioResult, real: RealScenarioResult, windowNs: number, tol: Tolerance, profile: string): ComparedOutcome[] {
  // Both are compared within the window: ctsim runs on past it, the real programs log a little past it.
  const inWindow = <T extends { sidecarClosedAtSec: number | null; leakSeconds: number }>(o: T): T =>
    o.sidecarClosedAtSec !== null && o.sidecarClosedAtSec * 1e9 <= windowNs ? o : { ...o, sidecarClosedAtSec: null, leakSeconds: 0 };
  const s = inWindow(sim.outcome);
  const k = inWindow(real.outcome);
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
      ? Math.abs(k.connectSeconds - s.connectSeconds) * 1000 <= Math.max(tol.gapMinMs, tol.gapRelative * 1000 * Math.max(s.connectSeconds, k.connectSeconds), wheelSpreadMs(1000 * Math.max(s.connectSeconds, k.connectSeconds)))
      : s.connectSeconds === k.connectSeconds;
    const calls = (o: { callErrors: ScenarioResult['outcome']['callErrors'] }) => (o.callErrors ? `${o.callErrors.errno} x${o.callErrors.attempts}` : 'none');
    const rs = rstSeqVsSyn(sim.packets.filter((p) => p.timeNs <= windowNs));
    const rk = rstSeqVsSyn(real.packets);
    rows.push(
      { field: 'bind()/connect() failing at once', ctsim: calls(s), kernel: calls(k), agree: calls(s) === calls(k) },
      { field: 'connect() attempts', ctsim: String(s.connectAttempts), kernel: String(k.connectAttempts), agree: s.connectAttempts === k.connectAttempts },
      { field: 'reconnect from the same port', ctsim: s.connect ?? '-', kernel: k.connect ?? '-', agree: s.connect === k.connect },
      { field: 'connect() took (s)', ctsim: secs(s.connectSeconds), kernel: secs(k.connectSeconds), agree: gapOk, timing: true },
      { field: 'SYNs sent by the reconnect', ctsim: String(s.synsSent), kernel: String(k.synsSent), agree: s.synsSent === k.synsSent },
      { field: "the RST after the challenge ACK vs the new SYN's ISN", ctsim: rs, kernel: rk, agree: rs === rk },
    );
  }
  // The kernel side is the `conntrack -S` invalid counter, read once at the window's end (between
  // invalidReadNs.from and .to: a slow guest reads it late); ctsim's side counts its typed events
  // up to the same moments. Before 830af2eba403 the counter also counts each SYN that re-opened
  // a closed entry (-NF_REPEAT).
  const repeatCounts = !resolveKernel(profile).behaviour.repeatNotCountedInvalid;
  const simInvalidUntil = (ns: number) => sim.timeline.filter((e) => e.host === 'pod' && e.timeNs <= ns &&
    (e.invalid || (repeatCounts && e.ct?.type === 'DESTROY' && e.ct.destroyReason === 'reopen'))).length;
  const readFrom = Math.max(windowNs, real.invalidReadNs.from);
  const readTo = Math.max(readFrom, real.invalidReadNs.to);
  const lo = simInvalidUntil(readFrom);
  const hi = simInvalidUntil(readTo);
  rows.push({
    field: `conntrack -S invalid in the pod (read at ${(readFrom / 1e9).toFixed(readTo - readFrom > 5e6 ? 2 : 1)}${readTo - readFrom > 5e6 ? `-${(readTo / 1e9).toFixed(2)}` : ''} s)`,
    ctsim: lo === hi ? String(lo) : `${lo}-${hi}`, kernel: String(k.invalidPackets), agree: k.invalidPackets >= lo && k.invalidPackets <= hi,
  });
  return rows;
}

/** ctsim's conntrack events in the common representation, from the typed events (no text parsed). */
function simConntrackRows(sim: ScenarioResult, windowNs: number, names: EndpointNames): CtRow[] {
  const out: CtRow[] = [];
  for (const e of sim.timeline) {
    const ev = e.ct;
    if (e.host !== 'pod' || !ev || e.timeNs > windowNs) continue;
    const tuple = (t: Tuple) => `${names.endpoint(formatIpv4Address(t.src), t.sport)} > ${names.endpoint(formatIpv4Address(t.dst), t.dport)}`;
    const withState = ev.type !== 'UPDATE' || !!ev.stateChanged;
    out.push({
      timeNs: e.timeNs, type: ev.type, timeout: ev.type !== 'DESTROY' || ev.timeoutSecs > 0 ? Math.max(0, ev.timeoutSecs) : null,
      state: withState ? ctStateName(ev.state) : null, orig: tuple(ev.orig), reply: tuple(ev.reply),
      flags: `${ev.status & Status.SEEN_REPLY ? '' : ' [UNREPLIED]'}${ev.status & Status.ASSURED ? ' [ASSURED]' : ''}`, reason: ev.destroyReason,
    });
  }
  return out;
}

// ------------------------------------------------------------ entry points

/** ctsim's run of a variant with the real run's timings, on the running kernel's profile (or `profile`). */
export function simulateScenario(which: ScenarioName | ScenarioVariant, t?: ScenarioTimings, profile: string = runningKernelProfile().name): ScenarioResult {
  const base = typeof which === 'string' ? findVariant(which)! : which;
  const v = t ? { ...base, timings: t } : base;
  return runIncident(v.name, variantOptions(v, profile));
}

export function compareScenario(real: RealScenarioResult, sim: ScenarioResult, ctsimWallSeconds = 0, profile: string = runningKernelProfile().name, tol: Readonly<Tolerance> = TOLERANCE): ScenarioComparison {
  const windowNs = real.timings.windowSec * 1e9;
  const simNames = new EndpointNames();
  const realNames = new EndpointNames();
  // Packets first, in time order, so that ephemeral ports get the same names on both sides.
  const simRows = packetRows(sim.packets.filter((p) => p.timeNs <= windowNs), simNames);
  const realRows = packetRows(real.packets, realNames);
  const simEvents = simConntrackRows(sim, windowNs, simNames);
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
  const deviations = [...packets, ...events.filter((e) => !e.expired)].filter((x) => x.ctsimNs !== null && x.kernelNs !== null && x.status !== 'after-window').map((x) => Math.abs(x.kernelNs! - x.ctsimNs!) / 1e6);
  const gapDiffs = packets.flatMap((p) => (p.gapDiffMs !== undefined ? [Math.abs(p.gapDiffMs)] : []));
  return {
    name: real.name, variant: real.variant.id, kernel: real.kernel, profile, sysctls: real.sysctls, timings: real.timings, tolerance: { ...tol },
    packets, events, outcome, snapshots: real.snapshots,
    summary: {
      packets: { ctsim: simRows.length, kernel: realRows.filter((r) => r.timeNs <= windowNs).length, ...pc },
      events: { ctsim: simEvents.length, kernel: realEvents.length, ...ec, formatNotes: events.filter((e) => e.formatNote).length },
      outcomeAgree,
      timing: {
        packets: pc.timing, events: ec.timing, outcome: outcome.filter((o) => o.timing && !o.agree).length,
        maxDeviationMs: deviations.length ? Math.max(...deviations) : 0, maxGapDiffMs: gapDiffs.length ? Math.max(...gapDiffs) : 0,
      },
      agree: outcomeAgree && pc.onlyCtsim + pc.onlyKernel + ec.onlyCtsim + ec.onlyKernel === 0,
    },
    realWallSeconds: real.wallSeconds, ctsimWallSeconds,
  };
}

/** Runs a variant for real, then in ctsim, and compares. */
export async function runScenarioDiff(which: ScenarioName | ScenarioVariant, o: RealRunOptions & { profile?: string; tolerance?: Readonly<Tolerance> } = {}): Promise<ScenarioComparison> {
  const base = typeof which === 'string' ? findVariant(which)! : which;
  const v = o.timings ? { ...base, timings: o.timings } : base;
  const real = await runRealScenario(v, o);
  const t0 = performance.now();
  const profile = o.profile ?? runningKernelProfile().name;
  const sim = simulateScenario(v, undefined, profile);
  return compareScenario(real, sim, (performance.now() - t0) / 1000, profile, o.tolerance ?? TOLERANCE);
}
