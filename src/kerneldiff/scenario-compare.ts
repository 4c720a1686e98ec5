// ctsim versus the running kernel on one scenario file: the real run (scenario-run.ts) and ctsim's
// run of the same spec under the running kernel's profile, brought into one representation and
// compared — outcome (the typed outcome of both runs, field by field), every program fact, every
// packet each host sent, every conntrack event of each tracking host.
//
// The representation: a packet is "where it was sent" (host and interface), its endpoints with
// the addresses named by their host (`pod`, or `node.eth1` for a host with several interfaces;
// 127.0.0.1 is `lo`) and the ports the file does not name numbered in order of appearance (eph1,
// eph2, ...), its flags, its sequence and acknowledgment numbers relative to an ISN (c<n>+x: the
// client side of the n-th connection from that client endpoint, s<n>+x: its server side; the
// nearest ISN below the number wins, so a challenge ACK or a late FIN is expressed in the old
// connection's space) and its payload length. Packets are aligned per flow (one connection at one
// interface) by longest common subsequence; conntrack events per host and entry, likewise.
//
// What decides agreement: the outcome, the program facts and the packet and event sequences.
// Timing is reported as numbers (TOLERANCE marks a row `~`), never a disagreement by itself: a
// loaded machine's real run is late by milliseconds. A DESTROY for an expired entry may come later
// in the kernel (reported when a packet, `conntrack -L` or the GC worker next touches the entry).
// Rows within TOLERANCE.absoluteMs of the end of the run are not compared (either side may have
// them). Event lines are compared on what both print: a state or timeout only one side's line
// carries is a format note, and timeouts one second apart are equal.
// Length: one comparison (the common representation, alignment, packets, events, facts, outcome)
// over shared row types and tolerances; its parts only make sense together.
import { align, pairCrossed } from './align.js';
import { performance } from 'node:perf_hooks';
import type { ConntrackEvent } from '../conntrack/events.js';
import { Status } from '../conntrack/status.js';
import { tcpStateName } from '../conntrack/tcp-states.js';
import type { Tuple } from '../conntrack/tuple.js';
import { computeOutcome, type RunRecord, type ScenarioOutcome } from '../scenarios/engine/outcome.js';
import type { ProgramEvent } from '../scenarios/engine/program-events.js';
import { runScenario, type ScenarioRun } from '../scenarios/engine/run.js';
import type { ScenarioSpec, Step } from '../scenarios/file/spec.js';
import type { LadderPacket } from '../scenarios/scenario-types.js';
import { formatIpv4Address } from '../wire/index.js';
import { runningKernelProfile } from './kernel-diff.js';
import { runRealScenario, type RealRun, type RealRunOptions } from './scenario-run.js';

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
 * Inside a user-mode-linux guest every packet's path runs through the UML kernel, so on a loaded
 * machine programs answer tens to hundreds of milliseconds late; the kernel's own timers keep their
 * times. The gap tolerance still tells a 1 s retransmission from a missing or an extra one, and
 * packets, events and counts must match exactly whatever the timing.
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
  host: string;
  /** The entry's original tuple, abstracted. */
  entry: string;
  ctsim: string | null;
  kernel: string | null;
  ctsimNs: number | null;
  kernelNs: number | null;
  status: RowStatus;
  note?: string;
  /** A difference in what the event line carries, not in behaviour. */
  formatNote?: string;
}

export interface ComparedFact {
  process: string;
  fact: string;
  ctsimNs: number | null;
  kernelNs: number | null;
  status: RowStatus;
  note?: string;
}

export interface ComparedOutcome {
  field: string;
  ctsim: string;
  kernel: string;
  agree: boolean;
  /** A time: reported, never a disagreement. */
  timing?: boolean;
}

export interface ScenarioComparison {
  name: string;
  /** The seed variant's id when the run was one (kernel-diff --scenario ID): what records and captures are named by. */
  variant?: string;
  file: string;
  kernel: string;
  profile: string;
  durationSec: number;
  tolerance: Readonly<Tolerance>;
  packets: ComparedPacket[];
  events: ComparedEvent[];
  program: ComparedFact[];
  outcome: ComparedOutcome[];
  /** Kernel snapshots (ss, conntrack -L) taken during the real run. */
  snapshots: RealRun['snapshots'];
  late: string[];
  /** The real run could not keep up (a flood still going when ctsim's run was past it): not a verdict on the model. */
  tooSlow: string | null;
  summary: {
    packets: { ctsim: number; kernel: number; matched: number; timing: number; onlyCtsim: number; onlyKernel: number };
    events: { ctsim: number; kernel: number; matched: number; timing: number; onlyCtsim: number; onlyKernel: number; formatNotes: number };
    program: { ctsim: number; kernel: number; matched: number; onlyCtsim: number; onlyKernel: number };
    outcomeAgree: boolean;
    agree: boolean;
  };
  realWallSeconds: number;
  ctsimWallSeconds: number;
}

// ------------------------------------------------------------ the common representation

/** Ports the file names; which of them are servers' (for the client/server side of a packet). */
function specPorts(spec: ScenarioSpec): { fixed: Set<number>; servers: Set<number> } {
  const fixed = new Set<number>();
  const servers = new Set<number>();
  const steps = (xs: Step[]) => {
    for (const st of xs) {
      if ('bind' in st) fixed.add(st.bind.port);
      if ('connect' in st) {
        servers.add(st.connect.to.port);
        if (st.connect.from_port) fixed.add(st.connect.from_port);
      }
      if ('repeat' in st) steps(st.repeat.steps);
    }
  };
  for (const p of spec.processes) {
    if (p.kind === 'listener') servers.add(p.port);
    if (p.kind === 'proxy') {
      servers.add(p.listenPort);
      if (p.upstream !== 'original-destination') servers.add(p.upstream.port);
    }
    if (p.kind === 'app') steps(p.timeline);
    if (p.kind === 'inject') for (const s of p.segments) fixed.add(s.segment.from.port);
  }
  for (const s of servers) fixed.add(s);
  return { fixed, servers };
}

/** Names endpoints; ports that vary between runs are numbered in order of first appearance. */
class EndpointNames {
  private readonly eph = new Map<number, string>();
  private readonly addrs = new Map<string, string>([['127.0.0.1', 'lo']]);

  constructor(spec: ScenarioSpec, private readonly fixed: Set<number>) {
    for (const h of spec.hosts) {
      for (const i of h.interfaces) this.addrs.set(formatIpv4Address(i.addr), h.interfaces.length > 1 ? `${h.name}.${i.name}` : h.name);
    }
  }

  port(p: number): string {
    if (this.fixed.has(p)) return String(p);
    let n = this.eph.get(p);
    if (!n) this.eph.set(p, (n = `eph${this.eph.size + 1}`));
    return n;
  }

  endpoint(addr: string, port: number): string {
    return `${this.addrs.get(addr) ?? addr}:${this.port(port)}`;
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
  /** The sending endpoint (by name): a packet's direction within its flow. */
  sender: string;
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
    const d = (v - base) >>> 0;
    if (d < 1 << 24 && (!best || d < best[1])) best = [i, d];
  });
  return best ? `${side}${best[0] + 1}+${best[1]}` : '?';
}

/** The flood's own SYNs (no TCP options): not compared (the real capture leaves them out). */
function isFloodSyn(spec: ScenarioSpec, p: LadderPacket): boolean {
  return p.flags === 'S' && p.optionLen === 0 && spec.processes.some((x) => x.kind === 'flood');
}

function packetRows(spec: ScenarioSpec, packets: LadderPacket[], names: EndpointNames, servers: Set<number>): Row[] {
  const conns = new Map<string, SeqInstance[]>();
  const rows: Row[] = [];
  for (const p of [...packets].sort((a, b) => a.timeNs - b.timeNs)) {
    if (isFloodSyn(spec, p)) continue;
    const [sa, sp] = splitEndpoint(p.src);
    const [da, dp] = splitEndpoint(p.dst);
    const fromClient = !servers.has(sp);
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
      timeNs: p.timeNs, where, flow: `${where} ${fromClient ? src : dst}`, sender: src,
      text: `${src} > ${dst} ${p.flags} seq=${seq}${ack !== null ? ` ack=${ack}` : ''}${p.len ? ` len=${p.len}` : ''}`,
    });
  }
  return rows;
}

interface CtRow {
  host: string;
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

/** A `conntrack -E` line of the kernel's in the common representation. */
function kernelCtRow(host: string, timeNs: number, text: string, names: EndpointNames): CtRow | null {
  const m = CT_LINE.exec(text.trim());
  if (!m) return null;
  const tuple = (s: string, d: string, sp: string, dp: string) => `${names.endpoint(s, Number(sp))} > ${names.endpoint(d, Number(dp))}`;
  return {
    host, timeNs, type: m[1], timeout: m[2] !== undefined ? Number(m[2]) : null, state: m[3] ?? null,
    orig: tuple(m[4], m[5], m[6], m[7]), reply: tuple(m[9], m[10], m[11], m[12]), flags: `${m[8] ? ' [UNREPLIED]' : ''}${m[13] ? ' [ASSURED]' : ''}`,
  };
}

/** ctsim's typed event in the same representation (what `conntrack -E` would print of it). */
function ctsimCtRow(host: string, ev: ConntrackEvent, names: EndpointNames): CtRow {
  const tuple = (t: Tuple) => `${names.endpoint(formatIpv4Address(t.src), t.sport)} > ${names.endpoint(formatIpv4Address(t.dst), t.dport)}`;
  return {
    host, timeNs: ev.timeNs, type: ev.type,
    timeout: ev.type !== 'DESTROY' || ev.timeoutSecs > 0 ? Math.max(0, ev.timeoutSecs) : null,
    state: ev.type === 'UPDATE' && !ev.stateChanged ? null : tcpStateName(ev.state),
    orig: tuple(ev.orig), reply: tuple(ev.reply),
    flags: `${ev.status & Status.SEEN_REPLY ? '' : ' [UNREPLIED]'}${ev.status & Status.ASSURED ? ' [ASSURED]' : ''}`,
    reason: ev.destroyReason,
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

/** A program fact in a form both sides print identically (times and byte counts of reads aside). */
function factText(e: ProgramEvent, names: EndpointNames): string {
  const ep = (x: string) => {
    const [a, p] = splitEndpoint(x);
    return names.endpoint(a, p);
  };
  switch (e.ev) {
    case 'call': return `${e.call}(${e.socket}) = ${e.result}${e.local ? ` local ${ep(e.local)}` : ''}`;
    case 'recv-eof': return `read(${e.socket}) EOF after ${e.bytes} bytes`;
    case 'recv-error': return `read(${e.socket}) ${e.error}`;
    case 'received': return `${e.socket} received ${e.bytes} bytes`;
    case 'accept': return `accept C${e.conn} from ${ep(e.peer)}`;
    case 'proxy-accept': return `accept C${e.conn} from ${ep(e.peer)} to ${ep(e.orig)}`;
    case 'no-original-dst': return `C${e.conn} from ${ep(e.peer)}: no original destination`;
    case 'upstream-connected': return `C${e.conn} upstream connected from ${ep(e.local)}`;
    case 'inject': return `inject #${e.index}`;
    default: {
      const { t: _t, process: _p, ...rest } = e;
      return Object.entries(rest).map(([k, v]) => (k === 'ev' ? String(v) : `${k}=${String(v)}`)).join(' ');
    }
  }
}

// ------------------------------------------------------------ alignment and timing

const ms = (ns: number) => ns / 1e6;

/** Why a matched pair's timing is off, or null. */
function timingProblem(c: number, k: number, prev: [number, number] | null, lateOk: boolean, tol: Readonly<Tolerance>): string | null {
  const d = ms(k - c);
  if (lateOk ? d < -tol.absoluteMs : Math.abs(d) > tol.absoluteMs) return `kernel ${d >= 0 ? '+' : ''}${d.toFixed(1)} ms off ctsim's time (tolerance ${tol.absoluteMs} ms)`;
  if (prev && !lateOk) {
    const gc = ms(c - prev[0]);
    const gk = ms(k - prev[1]);
    const gapTol = Math.max(tol.gapMinMs, tol.gapRelative * Math.max(gc, gk));
    if (Math.abs(gk - gc) > gapTol) return `gap after the previous one of its flow: ctsim ${gc.toFixed(1)} ms, kernel ${gk.toFixed(1)} ms (tolerance ${gapTol.toFixed(1)} ms)`;
  }
  return null;
}

/**
 * Unmatched rows at the very end of the run (either side may or may not have them): ctsim's within
 * the tolerance of the end, the kernel's from there on (its run goes on a little while it stops).
 */
function unmatched(side: 'only-ctsim' | 'only-kernel', t: number, windowNs: number, tol: Readonly<Tolerance>): RowStatus {
  return t > windowNs - tol.absoluteMs * 1e6 ? 'after-window' : side;
}

function comparePackets(sim: Row[], real: Row[], windowNs: number, tol: Readonly<Tolerance>): ComparedPacket[] {
  const out: ComparedPacket[] = [];
  const flows = [...new Set([...sim.map((r) => r.flow), ...real.map((r) => r.flow)])];
  const simBy = groupBy(sim, (r) => r.flow);
  const realBy = groupBy(real, (r) => r.flow);
  const same = (x: Row, y: Row) => x.text === y.text;
  const at = (x: Row) => x.timeNs;
  const dir = (x: Row) => x.sender;
  // Two hosts' timers that fire at one instant (1 ms) race: either may send first.
  const keys = { timeA: at, timeB: at, dirA: dir, dirB: dir, instantNs: 1e6 };
  for (const f of flows) {
    let prev: [number, number] | null = null;
    for (const { a: c, b: k, crossed } of pairCrossed(align(simBy.get(f) ?? [], realBy.get(f) ?? [], same), same, keys, tol.absoluteMs * 1e6)) {
      if (c && k && crossed) {
        // The same packet on the other side of a packet it crossed in flight: a timing matter.
        const d = ms(k.timeNs - c.timeNs);
        out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: k.timeNs, status: 'timing', note: `captured in another order within its flow (crossed a packet in flight), kernel ${d >= 0 ? '+' : ''}${d.toFixed(1)} ms` });
      } else if (c && k) {
        const problem = timingProblem(c.timeNs, k.timeNs, prev, false, tol);
        out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: k.timeNs, status: problem ? 'timing' : 'ok', ...(problem ? { note: problem } : {}) });
        prev = [c.timeNs, k.timeNs];
      } else if (c) out.push({ where: c.where, packet: c.text, ctsimNs: c.timeNs, kernelNs: null, status: unmatched('only-ctsim', c.timeNs, windowNs, tol) });
      else if (k) out.push({ where: k.where, packet: k.text, ctsimNs: null, kernelNs: k.timeNs, status: unmatched('only-kernel', k.timeNs, windowNs, tol) });
    }
  }
  return out.sort(byTime);
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

/** ctsim's time first; ties (ctsim often sends several packets in one instant) in the kernel's order. */
function byTime(a: { ctsimNs: number | null; kernelNs: number | null }, b: { ctsimNs: number | null; kernelNs: number | null }): number {
  return (a.ctsimNs ?? a.kernelNs!) - (b.ctsimNs ?? b.kernelNs!) || (a.kernelNs ?? Infinity) - (b.kernelNs ?? Infinity);
}

function compareEvents(sim: CtRow[], real: CtRow[], windowNs: number, tol: Readonly<Tolerance>): ComparedEvent[] {
  const out: ComparedEvent[] = [];
  const key = (r: CtRow) => `${r.host} ${r.orig}`;
  const simBy = groupBy(sim, key);
  const realBy = groupBy(real, key);
  for (const entry of new Set([...simBy.keys(), ...realBy.keys()])) {
    let prev: [number, number] | null = null;
    const host = entry.slice(0, entry.indexOf(' '));
    const orig = entry.slice(host.length + 1);
    for (const [c, k] of align(simBy.get(entry) ?? [], realBy.get(entry) ?? [], ctEqual)) {
      if (c && k) {
        const expired = c.type === 'DESTROY' && c.reason === 'timeout';
        const problem = timingProblem(c.timeNs, k.timeNs, prev, expired, tol);
        const formatNote = ctFormatNote(c, k);
        const lag = expired && k.timeNs - c.timeNs > tol.absoluteMs * 1e6 ? `expired entry reported ${((k.timeNs - c.timeNs) / 1e9).toFixed(3)} s after its deadline` : undefined;
        out.push({
          host, entry: orig, ctsim: ctText(c), kernel: ctText(k), ctsimNs: c.timeNs, kernelNs: k.timeNs, status: problem ? 'timing' : 'ok',
          ...(problem || lag ? { note: problem ?? lag } : {}), ...(formatNote ? { formatNote } : {}),
        });
        if (!expired) prev = [c.timeNs, k.timeNs];
      } else if (c) out.push({ host, entry: orig, ctsim: ctText(c), kernel: null, ctsimNs: c.timeNs, kernelNs: null, status: unmatched('only-ctsim', c.timeNs, windowNs, tol) });
      else if (k) out.push({ host, entry: orig, ctsim: null, kernel: ctText(k), ctsimNs: null, kernelNs: k.timeNs, status: unmatched('only-kernel', k.timeNs, windowNs, tol) });
    }
  }
  return out.sort(byTime);
}

function compareProgram(sim: ProgramEvent[], real: ProgramEvent[], simNames: EndpointNames, realNames: EndpointNames, windowNs: number, tol: Readonly<Tolerance>): ComparedFact[] {
  const out: ComparedFact[] = [];
  const simBy = groupBy(sim, (e) => e.process);
  const realBy = groupBy(real, (e) => e.process);
  for (const proc of new Set([...simBy.keys(), ...realBy.keys()])) {
    const a = (simBy.get(proc) ?? []).map((e) => ({ t: e.t, text: factText(e, simNames) }));
    const b = (realBy.get(proc) ?? []).map((e) => ({ t: e.t, text: factText(e, realNames) }));
    for (const [c, k] of align(a, b, (x, y) => x.text === y.text)) {
      if (c && k) {
        const d = ms(k.t - c.t);
        out.push({ process: proc, fact: c.text, ctsimNs: c.t, kernelNs: k.t, status: Math.abs(d) > tol.absoluteMs ? 'timing' : 'ok', ...(Math.abs(d) > tol.absoluteMs ? { note: `kernel ${d >= 0 ? '+' : ''}${d.toFixed(1)} ms` } : {}) });
      } else if (c) out.push({ process: proc, fact: c.text, ctsimNs: c.t, kernelNs: null, status: unmatched('only-ctsim', c.t, windowNs, tol) });
      else if (k) out.push({ process: proc, fact: k.text, ctsimNs: null, kernelNs: k.t, status: unmatched('only-kernel', k.t, windowNs, tol) });
    }
  }
  return out.sort(byTime);
}

/** ctsim's entry counts at the moment the real run read `conntrack -C` (and a GC lag before), when that was after the end. */
interface EntriesAtRead {
  label: string;
  at: Record<string, number>;
  lagBefore: Record<string, number>;
}

function entriesAtRead(real: RealRun, sim: ScenarioRun, tol: Readonly<Tolerance>): EntriesAtRead | null {
  const times = entriesReadTimes(real, tol);
  const counts = sim.entriesAfterEnd ?? [];
  const at = counts.find((c) => c.timeNs === times.at(-1));
  if (!at) return null;
  const before = counts.find((c) => c.timeNs === times[0]) ?? at;
  const late = real.entriesReadNs - real.spec.durationNs > tol.absoluteMs * 1e6;
  return { label: late ? ` (read at ${(real.entriesReadNs / 1e9).toFixed(2)} s, after the end)` : '', at: at.entries, lagBefore: before.entries };
}

function compareOutcome(spec: ScenarioSpec, s: ScenarioOutcome, k: ScenarioOutcome, tracking: Record<string, boolean>, simNames: EndpointNames, realNames: EndpointNames, invalidRead = '', entriesRead: EntriesAtRead | null = null): ComparedOutcome[] {
  const rows: ComparedOutcome[] = [];
  const ep = (names: EndpointNames, x: string | null) => {
    if (!x) return '-';
    const [a, p] = splitEndpoint(x);
    return names.endpoint(a, p);
  };
  const row = (field: string, a: string, b: string, timing = false) => rows.push({ field, ctsim: a, kernel: b, agree: timing || a === b, ...(timing ? { timing } : {}) });
  for (const sa of s.apps) {
    const ka = k.apps.find((x) => x.process === sa.process);
    const n = Math.max(sa.connects.length, ka?.connects.length ?? 0);
    for (let i = 0; i < n; i++) {
      const c = sa.connects[i];
      const r = ka?.connects[i];
      const what = `${sa.process}: connect #${i + 1}${c ? ` (${c.socket})` : ''}`;
      row(`${what} result`, c?.result ?? '-', r?.result ?? '-');
      row(`${what} from`, ep(simNames, c?.local ?? null), ep(realNames, r?.local ?? null));
      row(`${what} SYNs`, String(c?.syns ?? '-'), String(r?.syns ?? '-'));
      row(`${what} took (s)`, c ? c.seconds.toFixed(3) : '-', r ? r.seconds.toFixed(3) : '-', true);
    }
    const fins = Math.max(sa.fins.length, ka?.fins.length ?? 0);
    for (let i = 0; i < fins; i++) row(`${sa.process}: FIN #${i + 1} reached`, sa.fins[i]?.reached ?? (sa.fins[i] ? 'no one' : '-'), ka?.fins[i]?.reached ?? (ka?.fins[i] ? 'no one' : '-'));
    row(`${sa.process}: errors`, [...new Set(sa.errors.map((e) => e.error))].join(',') || 'none', [...new Set(ka?.errors.map((e) => e.error) ?? [])].join(',') || 'none');
    row(`${sa.process}: bytes received`, String(sa.received), String(ka?.received ?? 0));
  }
  for (const [proxy, conns] of Object.entries(s.proxies)) {
    const kc = k.proxies[proxy] ?? [];
    for (let i = 0; i < Math.max(conns.length, kc.length); i++) {
      const a = conns[i];
      const b = kc[i];
      row(`${proxy}: connection ${i + 1} closed`, a?.reason ?? (a ? 'open at the end' : '-'), b?.reason ?? (b ? 'open at the end' : '-'));
      row(`${proxy}: connection ${i + 1} closed at (s)`, a?.closedAtNs != null ? (a.closedAtNs / 1e9).toFixed(3) : '-', b?.closedAtNs != null ? (b.closedAtNs / 1e9).toFixed(3) : '-', true);
    }
  }
  for (const h of spec.hosts) {
    if (!tracking[h.name]) continue;
    const a = s.counters[h.name];
    const b = k.counters[h.name];
    // How many entries early_drop() frees depends on the kernel's random hash seed (every
    // unassured entry of one bucket): with early drops on both sides the counts are reported only.
    const seeded = (a?.early_drop ?? 0) > 0 && (b?.early_drop ?? 0) > 0;
    for (const c of ['invalid', 'drop', 'early_drop', 'insert_failed'] as const) row(`${h.name}: conntrack ${c}${c === 'invalid' ? invalidRead : ''}`, String(a?.[c] ?? '-'), String(b?.[c] ?? '-'), seeded && c === 'early_drop');
    // A late `conntrack -C` is compared with ctsim's count at the same moment; a kernel count
    // between that and the count a GC lag earlier is an expired entry not yet freed (timing).
    const atRead = entriesRead?.at[h.name];
    const mine = atRead ?? a?.entries;
    const theirs = b?.entries;
    const reapLag = atRead !== undefined && theirs !== undefined && theirs > atRead && theirs <= (entriesRead?.lagBefore[h.name] ?? atRead);
    row(`${h.name}: conntrack entries${entriesRead?.label ?? ''}`, String(mine ?? '-'), String(theirs ?? '-'), seeded || reapLag);
  }
  return rows;
}

// ------------------------------------------------------------ entry points

/** ctsim's run of the spec on the running kernel's profile (every host). */
export function simulateForKernel(spec: ScenarioSpec, profile: string = runningKernelProfile().name, countEntriesAtNs: readonly number[] = []): ScenarioRun {
  return runScenario({ ...spec, hosts: spec.hosts.map((h) => ({ ...h, kernel: profile })) }, { countEntriesAtNs });
}

/**
 * The real run reads `conntrack -C` after the end (seconds after on a slow UML guest): ctsim's
 * count is taken at that moment and `tol.absoluteMs` earlier (the kernel frees an expired entry
 * when its GC worker or a lookup next reaches it, so one that expired just before may still count).
 */
export function entriesReadTimes(real: Pick<RealRun, 'entriesReadNs' | 'spec'>, tol: Readonly<Tolerance>): number[] {
  const end = real.spec.durationNs;
  if (real.entriesReadNs <= end) return [];
  return [...new Set([Math.max(end + 1, real.entriesReadNs - tol.absoluteMs * 1e6), real.entriesReadNs])];
}

export function compareScenario(real: RealRun, sim: ScenarioRun, ctsimWallSeconds = 0, profile: string = runningKernelProfile().name, tol: Readonly<Tolerance> = TOLERANCE): ScenarioComparison {
  const spec = real.spec;
  const windowNs = spec.durationNs;
  const { fixed, servers } = specPorts(spec);
  const simNames = new EndpointNames(spec, fixed);
  const realNames = new EndpointNames(spec, fixed);
  // Packets first, in time order, so that ephemeral ports get the same names on both sides.
  // The kernel's rows after the end stay in: a late program's packet still finds its match.
  const simRows = packetRows(spec, sim.packets.filter((p) => p.timeNs <= windowNs), simNames, servers);
  const realRows = packetRows(spec, real.packets, realNames, servers);
  // Entries a flood opens are not compared (the real run does not watch them).
  const floodAddrs = new Set(spec.hosts.filter((h) => spec.processes.some((p) => p.kind === 'flood' && p.host === h.name)).flatMap((h) => h.interfaces.map((i) => i.addr >>> 0)));
  const simEvents = sim.conntrack.filter((c) => real.tracking[c.host] && c.event.timeNs <= windowNs && !floodAddrs.has(c.event.orig.src >>> 0)).map((c) => ctsimCtRow(c.host, c.event, simNames));
  const realEvents = real.conntrackEvents.map((e) => kernelCtRow(e.host, e.timeNs, e.text, realNames)).filter((e): e is CtRow => e !== null);
  const packets = comparePackets(simRows, realRows, windowNs, tol);
  const events = compareEvents(simEvents, realEvents, windowNs, tol);
  const program = compareProgram(sim.program, real.program, simNames, realNames, windowNs, tol);
  const simRecord: RunRecord = { ...sim, counters: sim.counters };
  // The real programs are stopped at the end of the run: what they report from then on (an EOF the
  // teardown causes, a proxy closing its connection) is not part of the outcome, as ctsim's run ends there.
  const realInWindow: RunRecord = { ...real, program: real.program.filter((e) => e.t < windowNs) };
  // `conntrack -S` is read once the run ends; a slow (UML) guest reads it late, when later packets
  // (a teardown's) may have counted: the row says when, so such a difference is read as what it is.
  const read = real.invalidReadNs;
  const invalidRead = read && read.to - windowNs > tol.absoluteMs * 1e6 ? ` (read at ${(read.from / 1e9).toFixed(2)}-${(read.to / 1e9).toFixed(2)} s, after the end)` : '';
  const outcome = compareOutcome(spec, computeOutcome(simRecord), computeOutcome(realInWindow), real.tracking, simNames, realNames, invalidRead, entriesAtRead(real, sim, tol));
  const count = <T extends { status: RowStatus }>(xs: T[]) => ({
    matched: xs.filter((x) => x.status === 'ok' || x.status === 'timing').length,
    timing: xs.filter((x) => x.status === 'timing').length,
    onlyCtsim: xs.filter((x) => x.status === 'only-ctsim').length,
    onlyKernel: xs.filter((x) => x.status === 'only-kernel').length,
  });
  const pc = count(packets);
  const ec = count(events);
  const fc = count(program);
  const outcomeAgree = outcome.every((o) => o.agree);
  // A flood the kernel was still sending when the apps went on (ctsim's had ended before).
  let tooSlow: string | null = null;
  for (const f of real.program.filter((e) => e.ev === 'flood-done')) {
    const simDone = sim.program.find((e) => e.ev === 'flood-done' && e.process === f.process);
    const next = simDone && real.program.find((e) => e.ev === 'call' && sim.program.some((x) => x.ev === 'call' && x.process === e.process && x.t >= simDone.t));
    if (next && f.t > next.t) tooSlow = `${f.process} ended at ${(f.t / 1e9).toFixed(1)} s in the real run, after ${next.process}'s calls began (${(next.t / 1e9).toFixed(1)} s): this machine is too slow (or too loaded) for this storm`;
  }
  // Programs that began late: the lab's start barrier sends time 0 once every program is ready,
  // but a starved guest can still wake a program seconds after it; that program then meets the
  // others and the kernel's timers at other moments than the scenario says, and the run is not
  // the scenario.
  const firstCall = (run: ReadonlyArray<{ ev: string; t: number }>) => Math.min(...run.filter((e) => e.ev === 'call').map((e) => e.t));
  const lateStartNs = firstCall(real.program) - firstCall(sim.program);
  if (!tooSlow && Number.isFinite(lateStartNs) && lateStartNs > Math.max(1e9, 2 * tol.absoluteMs * 1e6)) {
    tooSlow = `the programs' first call came ${(lateStartNs / 1e9).toFixed(1)} s late in the real run (ctsim ${(firstCall(sim.program) / 1e9).toFixed(3)} s): this machine is too slow (or too loaded) to start them on time`;
  }
  return {
    name: spec.name, file: spec.file, kernel: real.kernel, profile, durationSec: spec.durationNs / 1e9, tolerance: tol,
    packets, events, program, outcome, snapshots: real.snapshots, late: real.late, tooSlow,
    summary: {
      packets: { ctsim: simRows.length, kernel: realRows.filter((r) => r.timeNs <= windowNs).length, ...pc },
      events: { ctsim: simEvents.length, kernel: realEvents.length, ...ec, formatNotes: events.filter((e) => e.formatNote).length },
      program: { ctsim: sim.program.length, kernel: real.program.length, matched: fc.matched, onlyCtsim: fc.onlyCtsim, onlyKernel: fc.onlyKernel },
      outcomeAgree,
      agree: outcomeAgree && pc.onlyCtsim + pc.onlyKernel + ec.onlyCtsim + ec.onlyKernel + fc.onlyCtsim + fc.onlyKernel === 0,
    },
    realWallSeconds: real.wallSeconds, ctsimWallSeconds,
  };
}

/** Runs the spec for real, then in ctsim (on `profile`, default the running kernel's), and compares. */
export async function runScenarioDiff(spec: ScenarioSpec, o: RealRunOptions & { profile?: string; tolerance?: Readonly<Tolerance>; variant?: string } = {}): Promise<ScenarioComparison> {
  const real = await runRealScenario(spec, { ...o, captureStem: o.captureStem ?? o.variant });
  const profile = o.profile ?? runningKernelProfile().name;
  const t0 = performance.now();
  const tol = o.tolerance ?? TOLERANCE;
  const sim = simulateForKernel(spec, profile, entriesReadTimes(real, tol));
  const c = compareScenario(real, sim, (performance.now() - t0) / 1000, profile, tol);
  return o.variant ? { ...c, variant: o.variant } : c;
}
