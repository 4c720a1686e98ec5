// What happened in a run, read from typed records only: program facts (the result of every socket
// call, EOFs, errors, what proxies and listeners saw), packets (flags and endpoints), counters,
// and — in ctsim's runs — the TCP layer's state events. The same functions read a real run's
// record (kernel-diff), except for what only the emulator can see (socket states: leaks).
import type { ConntrackCounter, Expectation } from '../file/expectations.js';
import { compare, formatExpectation } from '../file/expectations.js';
import type { ScenarioSpec } from '../file/spec.js';
import type { LadderPacket } from '../scenario-types.js';
import type { OwnedSocket } from './context.js';
import type { Errno, ProgramEvent } from './program-events.js';
import type { ScenarioRun } from './run.js';
import { TcpState, tcpStateName } from '../../stack/tcp/tcp-state.js';
import { inPrefix, parseIpv4Address } from '../../wire/index.js';

/** What outcomes and expectations need from a run (ctsim's or the kernel's). */
export interface RunRecord {
  spec: ScenarioSpec;
  program: ProgramEvent[];
  packets: LadderPacket[];
  counters: Record<string, Record<ConntrackCounter, number>>;
  /** ctsim only: TCP state events and the processes' sockets (for leaks). */
  tcp?: ScenarioRun['tcp'];
  sockets?: OwnedSocket[];
  endNs: number;
}

export interface ConnectOutcome {
  socket: string;
  /** The local endpoint the connect used ("a.b.c.d:port"), when it got one. */
  local: string | null;
  startNs: number;
  result: 'connected' | Errno;
  seconds: number;
  /** SYNs the socket sent for it (the first and its retransmissions). */
  syns: number;
}

export interface FinOutcome {
  socket: string;
  atNs: number;
  /** The process that read the FIN as EOF, or null when it never arrived. */
  reached: string | null;
}

export interface AppOutcome {
  process: string;
  connects: ConnectOutcome[];
  /** Errors the program saw: failed calls and socket errors while reading. */
  errors: Array<{ socket: string; error: Errno; t: number }>;
  received: number;
  fins: FinOutcome[];
}

export interface ScenarioOutcome {
  apps: AppOutcome[];
  /** Per process: the longest time one of its sockets spent in each state (ctsim only). */
  leaks: Record<string, Record<string, number>> | null;
  /** Per proxy: when it closed each connection and why. */
  proxies: Record<string, Array<{ conn: number; closedAtNs: number | null; reason: string | null }>>;
  counters: RunRecord['counters'];
}

/** How long before a close()/shutdown() is reported its FIN may already have been read as EOF (real runs). */
const FIN_REPORT_SLACK_NS = 50_000_000;

function portOf(ep: string): string {
  return ep.slice(ep.lastIndexOf(':') + 1);
}

/** SYNs from `local` on the app's host between `from` and `to` (ns). */
function synsFrom(packets: LadderPacket[], host: string, local: string | null, from: number, to: number): number {
  if (!local) return 0;
  let n = 0;
  for (const p of packets) {
    if (p.host !== host || p.flags !== 'S' || p.timeNs < from || p.timeNs > to) continue;
    if (p.src === local || portOf(p.src) === portOf(local)) n++;
  }
  return n;
}

function appOutcome(r: RunRecord, name: string, host: string): AppOutcome {
  const evs = r.program.filter((e) => e.process === name);
  const connects: ConnectOutcome[] = [];
  const errors: AppOutcome['errors'] = [];
  const fins: FinOutcome[] = [];
  let received = 0;
  /** Sockets connected (by name) and whether their FIN has gone out. */
  const open = new Map<string, { local: string; finSent: boolean }>();
  // Who read an EOF from which peer, when: listeners ('eof' after 'accept') and proxies ('down-eof').
  const peers = new Map<string, string>();
  const eofs: Array<{ process: string; peer: string; t: number }> = [];
  for (const e of r.program) {
    if (e.ev === 'accept' || e.ev === 'proxy-accept') peers.set(`${e.process}/${e.conn}`, e.peer);
    if (e.ev === 'eof' || e.ev === 'down-eof') eofs.push({ process: e.process, peer: peers.get(`${e.process}/${e.conn}`) ?? '', t: e.t });
  }
  const fin = (socket: string, t: number) => {
    const s = open.get(socket);
    if (!s || s.finSent) return;
    s.finSent = true;
    // A real program reports its call after it returned, so the peer's EOF may be logged first.
    const after = (x: { t: number }) => x.t >= t - FIN_REPORT_SLACK_NS;
    const exact = eofs.find((x) => after(x) && x.process !== name && x.peer === s.local);
    const byPort = exact ?? eofs.find((x) => after(x) && x.process !== name && portOf(x.peer) === portOf(s.local));
    fins.push({ socket, atNs: t, reached: byPort?.process ?? null });
  };
  for (const e of evs) {
    if (e.ev === 'call') {
      if (e.result !== 'ok') errors.push({ socket: e.socket, error: e.result, t: e.t });
      if (e.call === 'connect') {
        const start = e.t - Math.round((e.seconds ?? 0) * 1e9);
        const local = e.local ?? null;
        connects.push({ socket: e.socket, local, startNs: start, result: e.result === 'ok' ? 'connected' : e.result, seconds: e.seconds ?? 0, syns: synsFrom(r.packets, host, local, start, e.t + 1_000_000) });
        if (e.result === 'ok' && local) open.set(e.socket, { local, finSent: false });
      } else if (e.call === 'shutdown' && e.result === 'ok') {
        fin(e.socket, e.t);
      } else if (e.call === 'close') {
        fin(e.socket, e.t);
        open.delete(e.socket);
      }
    } else if (e.ev === 'recv-error') {
      errors.push({ socket: e.socket, error: e.error, t: e.t });
      received += e.bytes;
      const s = open.get(e.socket);
      if (s) s.finSent = true; // a dead socket sends no FIN
    } else if (e.ev === 'recv-eof' || e.ev === 'received') {
      received += e.bytes;
    }
  }
  // A connect that never returned (still in SYN_SENT at the end of the run).
  return { process: name, connects, errors, received, fins };
}

/** Per process and state, the longest stretch one of its sockets spent there (to the end of the run). */
function leaks(r: RunRecord): Record<string, Record<string, number>> | null {
  if (!r.tcp || !r.sockets) return null;
  const owner = new Map<number, string>();
  for (const s of r.sockets) owner.set(s.socket.id, s.process);
  const entered = new Map<number, { state: number; at: number }>();
  const out: Record<string, Record<string, number>> = {};
  const close = (id: number, until: number) => {
    const cur = entered.get(id);
    const p = owner.get(id);
    if (!cur || !p || cur.state === TcpState.CLOSE || cur.state === TcpState.LISTEN) return;
    const name = tcpStateName(cur.state);
    const secs = (until - cur.at) / 1e9;
    out[p] ??= {};
    out[p][name] = Math.max(out[p][name] ?? 0, secs);
  };
  for (const { timeNs, event } of r.tcp) {
    if (event.type !== 'state') continue;
    close(event.sock.id, timeNs);
    entered.set(event.sock.id, { state: event.to, at: timeNs });
  }
  for (const [id, cur] of entered) if (cur.state !== TcpState.CLOSE) close(id, r.endNs);
  return out;
}

export function computeOutcome(r: RunRecord): ScenarioOutcome {
  const apps = r.spec.processes.filter((p) => p.kind === 'app').map((p) => appOutcome(r, p.name, p.host));
  const proxies: ScenarioOutcome['proxies'] = {};
  for (const p of r.spec.processes) {
    if (p.kind !== 'proxy') continue;
    const conns = new Map<number, { conn: number; closedAtNs: number | null; reason: string | null }>();
    for (const e of r.program) {
      if (e.process !== p.name || !('conn' in e)) continue;
      if (!conns.has(e.conn)) conns.set(e.conn, { conn: e.conn, closedAtNs: null, reason: null });
      if (e.ev === 'close') Object.assign(conns.get(e.conn)!, { closedAtNs: e.t, reason: e.reason ?? null });
    }
    proxies[p.name] = [...conns.values()];
  }
  return { apps, leaks: leaks(r), proxies, counters: r.counters };
}

export interface ExpectationResult {
  text: string;
  expectation: Expectation;
  /** null: not observable in this run (a socket state in a real run). */
  pass: boolean | null;
  actual: string;
}

function cmpText(actual: number, op: string, want: number, unit = ''): string {
  return `${actual}${unit} (wanted ${op} ${want}${unit})`;
}

export function evaluateExpectations(r: RunRecord, o: ScenarioOutcome = computeOutcome(r)): ExpectationResult[] {
  return r.spec.expectations.map((e) => {
    const text = formatExpectation(e);
    const app = 'process' in e ? o.apps.find((a) => a.process === e.process) : undefined;
    switch (e.kind) {
      case 'connect': {
        const c = app?.connects.at(-1);
        if (!c) return { text, expectation: e, pass: false, actual: 'no connect() returned' };
        const okResult = c.result === e.result;
        const okTime = e.op === undefined || compare(c.seconds, e.op, e.seconds!);
        return { text, expectation: e, pass: okResult && okTime, actual: `${c.result} after ${c.seconds.toFixed(3)} s` };
      }
      case 'syns': {
        const c = app?.connects.at(-1);
        const n = c?.syns ?? 0;
        return { text, expectation: e, pass: compare(n, e.op, e.count), actual: cmpText(n, e.op, e.count) };
      }
      case 'fin': {
        const f = app?.fins.at(-1);
        if (!f) return { text, expectation: e, pass: false, actual: 'the app sent no FIN' };
        return { text, expectation: e, pass: f.reached === e.reaches, actual: f.reached ? `reached ${f.reached}` : 'lost' };
      }
      case 'error': {
        const errs = [...new Set(app?.errors.map((x) => x.error) ?? [])];
        const pass = e.error === null ? errs.length === 0 : errs.includes(e.error);
        return { text, expectation: e, pass, actual: errs.length ? errs.join(', ') : 'no error' };
      }
      case 'received': {
        const n = app?.received ?? 0;
        return { text, expectation: e, pass: compare(n, e.op, e.bytes), actual: cmpText(n, e.op, e.bytes, ' bytes') };
      }
      case 'leak': {
        if (!o.leaks) return { text, expectation: e, pass: null, actual: 'socket states are not observable in this run' };
        const secs = o.leaks[e.process]?.[e.state] ?? 0;
        return { text, expectation: e, pass: compare(secs, e.op, e.seconds), actual: `${secs.toFixed(3)} s in ${e.state}` };
      }
      case 'conntrack': {
        const n = r.counters[e.host]?.[e.counter] ?? 0;
        return { text, expectation: e, pass: compare(n, e.op, e.count), actual: cmpText(n, e.op, e.count) };
      }
      case 'packets': {
        const n = r.packets.filter((p) => p.host === e.host && p.iface === e.iface && inPrefix(parseIpv4Address(p.src.slice(0, p.src.lastIndexOf(':'))), e.from.addr, e.from.prefixLen)).length;
        return { text, expectation: e, pass: compare(n, e.op, e.count), actual: cmpText(n, e.op, e.count) };
      }
    }
  });
}
