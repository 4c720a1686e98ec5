// The ladder diagram of any run: one lane per process (apps first on each host, then proxies and
// listeners), a conntrack lane for the verdicts, and a lane per host for packets no process sent
// or received (the kernel's own resets, forwarded strays). A packet's ends are found from the
// sockets the processes held: the socket whose local endpoint the packet carries; through NAT, the
// socket the packet is addressed to as its receiver sees it, whose peer (same ISNs) is the sender.
import { formatIpv4Address } from '../../wire/index.js';
import { tcpStateName as ctStateName } from '../../conntrack/index.js';
import { tcpStateName } from '../../stack/tcp/tcp-state.js';
import { ladderSvg, type LadderArrow, type LadderBar, type LadderDiagram, type LadderMarker, type LadderVerdict, type Lane } from '../ladder-svg.js';
import type { LadderPacket } from '../scenario-types.js';
import type { OwnedSocket } from './context.js';
import type { ScenarioRun } from './run.js';
import { endpointText } from './program-events.js';

interface SockView {
  process: string;
  host: string;
  since: number;
  local: string;
  remote: string;
  iss: number;
  irs: number;
}

function view(s: OwnedSocket): SockView {
  const k = s.socket;
  return { process: s.process, host: s.host, since: s.since, local: endpointText(k.localAddr, k.localPort), remote: k.remotePort ? endpointText(k.remoteAddr, k.remotePort) : '', iss: k.iss, irs: k.irs };
}

const port = (ep: string) => ep.slice(ep.lastIndexOf(':') + 1);

export class LaneFinder {
  private readonly socks: SockView[];
  /** Host, interface -> the host at the other end of its link. */
  private readonly linkPeer = new Map<string, string>();

  constructor(run: Pick<ScenarioRun, 'spec' | 'sockets'>) {
    this.socks = run.sockets.map(view);
    for (const l of run.spec.links) {
      this.linkPeer.set(`${l.a.host}/${l.a.iface}`, l.b.host);
      this.linkPeer.set(`${l.b.host}/${l.b.iface}`, l.a.host);
    }
  }

  /** The most recent socket (before t) matching. */
  private find(t: number, ok: (s: SockView) => boolean): SockView | undefined {
    let best: SockView | undefined;
    for (const s of this.socks) if (s.since <= t && ok(s) && (!best || s.since >= best.since)) best = s;
    return best;
  }

  /** The process holding the other end of s's connection (same ISNs, crossed). */
  private peerProcess(s: SockView | undefined, t: number): string | undefined {
    if (!s?.remote) return undefined;
    return this.find(t, (o) => o !== s && o.iss === s.irs && o.irs === s.iss && o.remote !== '')?.process;
  }

  sender(p: LadderPacket): string {
    const h = p.host;
    const t = p.timeNs;
    return this.find(t, (s) => s.host === h && s.local === p.src && s.remote === p.dst)?.process
      ?? this.find(t, (s) => s.host === h && s.local === p.src && !!s.remote)?.process
      ?? this.find(t, (s) => s.local === p.src && s.remote === p.dst)?.process
      ?? this.peerProcess(this.find(t, (s) => s.local === p.dst && s.remote === p.src), t)
      ?? this.find(t, (s) => s.host === h && s.remote === p.dst)?.process
      ?? this.find(t, (s) => s.host === h && !s.remote && port(s.local) === port(p.src))?.process
      ?? `${h} (kernel)`;
  }

  receiver(p: LadderPacket): string {
    const r = p.iface === 'lo' ? p.host : this.linkPeer.get(`${p.host}/${p.iface}`) ?? p.host;
    const t = p.timeNs;
    return this.find(t, (s) => s.host === r && s.local === p.dst && s.remote === p.src)?.process
      ?? this.find(t, (s) => s.host === r && s.local === p.dst && !!s.remote)?.process
      ?? this.peerProcess(this.find(t, (s) => s.local === p.src && s.remote === p.dst), t)
      ?? this.find(t, (s) => s.host === r && !s.remote && port(s.local) === port(p.dst))?.process
      ?? `${r} (kernel)`;
  }
}

/** At most this many packets are drawn (a flood would make the picture unreadable). */
const MAX_LADDER_PACKETS = 3000;

/** The conntrack verdict a packet's capture notes record (the host writes "ct ..." and "DROP ..."). */
export function verdictOf(notes: readonly string[]): { verdict: LadderVerdict; text: string } {
  const drop = notes.find((n) => n.startsWith('DROP'));
  if (drop) return { verdict: 'drop', text: drop };
  const ct = notes.find((n) => n.startsWith('ct '));
  if (!ct) return { verdict: 'none', text: '' };
  if (ct.startsWith('ct INVALID')) return { verdict: 'invalid', text: ct };
  if (ct.includes('ignored')) return { verdict: 'ignore', text: ct };
  return { verdict: 'accept', text: ct };
}

const ENTRY_END: Record<string, string> = {
  'timeout': 'entry expired', 'rst-unreplied': 'destroyed: RST', 'reopen': 'destroyed: re-open',
  'early-drop': 'early-dropped', 'flush': 'flushed', 'nat-evict': 'evicted (NAT)',
};

/** Socket state bars: one track per socket a process held, from the TCP layer's typed state events. */
function socketBars(run: ScenarioRun): LadderBar[] {
  const owner = new Map<string, string>();
  for (const s of run.sockets) owner.set(`${s.host}#${s.socket.id}`, s.process);
  const bars: LadderBar[] = [];
  const open = new Map<string, LadderBar>();
  for (const e of run.tcp) {
    if (e.event.type !== 'state') continue;
    const track = `${e.host}#${e.event.sock.id}`;
    const lane = owner.get(track);
    if (!lane) continue;
    const prev = open.get(track);
    if (prev) prev.endNs = e.timeNs;
    const to = tcpStateName(e.event.to);
    if (to === 'CLOSE' || to === 'LISTEN') {
      open.delete(track);
      continue;
    }
    const bar: LadderBar = { lane, track, kind: 'socket', startNs: e.timeNs, endNs: null, label: to, endLabel: null };
    bars.push(bar);
    open.set(track, bar);
  }
  return bars;
}

/** Entry bars of the first host that tracks connections: one track per entry, ended by its DESTROY. */
function entryBars(run: ScenarioRun): LadderBar[] {
  const host = Object.keys(run.counters).find((h) => run.counters[h].tracking);
  if (!host) return [];
  const bars: LadderBar[] = [];
  const last = new Map<number, LadderBar>();
  for (const { host: h, event: ev } of run.conntrack) {
    if (h !== host) continue;
    const prev = last.get(ev.id);
    if (ev.type === 'DESTROY') {
      if (prev) {
        prev.endNs = ev.timeNs;
        prev.endLabel = ENTRY_END[ev.destroyReason ?? 'timeout'] ?? 'destroyed';
        last.delete(ev.id);
      }
      continue;
    }
    const state = ctStateName(ev.state);
    if (prev && prev.label.endsWith(state)) continue;
    if (prev) prev.endNs = ev.timeNs;
    const t = ev.orig;
    const bar: LadderBar = {
      lane: 'ct', track: `entry ${ev.id}`, kind: 'entry', startNs: ev.timeNs, endNs: null,
      label: prev ? state : `#${ev.id} ${state}`,
      detail: `${formatIpv4Address(t.src)}:${t.sport} > ${formatIpv4Address(t.dst)}:${t.dport}`, endLabel: null,
    };
    bars.push(bar);
    last.set(ev.id, bar);
  }
  return bars;
}

/** What the programs saw: connect() results and idle timeouts, on the process's lane. */
function programMarkers(run: ScenarioRun, lanes: ReadonlySet<string>): LadderMarker[] {
  const markers: LadderMarker[] = [];
  for (const e of run.program) {
    if (!lanes.has(e.process)) continue;
    if (e.ev === 'call' && e.call === 'connect' && e.result !== 'EINPROGRESS') {
      markers.push({ lane: e.process, timeNs: e.t, text: `connect(): ${e.result === 'ok' ? 'connected' : e.result}${e.seconds !== undefined ? ` after ${e.seconds.toFixed(3)} s` : ''}`, tone: e.result === 'ok' ? 'good' : 'bad' });
    } else if (e.ev === 'idle-timeout') {
      markers.push({ lane: e.process, timeNs: e.t, text: `idle timeout (connection ${e.conn})`, tone: 'bad' });
    }
  }
  return markers;
}

/** The ladder diagram of a run: packets with conntrack's verdicts, socket states, conntrack entries, program outcomes. */
export function runLadderDiagram(run: ScenarioRun, title: string, seq: 'raw' | 'relative' = 'raw'): LadderDiagram {
  const f = new LaneFinder(run);
  const kinds = ['app', 'proxy', 'listener', 'inject', 'flood'];
  const lanes: Lane[] = [];
  const laneIds = new Set<string>();
  const flood = new Set(run.spec.processes.filter((p) => p.kind === 'flood').map((p) => p.name));
  const drawn = run.packets.filter((p) => !flood.has(f.sender(p))).slice(0, MAX_LADDER_PACKETS);
  const used = new Set<string>();
  const arrows: LadderArrow[] = drawn.map((p) => {
    const from = f.sender(p);
    const to = f.receiver(p);
    used.add(from);
    used.add(to);
    const v = verdictOf(p.notes);
    return {
      timeNs: p.timeNs, from, to, flags: p.flags, seq: p.seq, ack: p.flags.includes('.') ? p.ack : null, len: p.len,
      verdict: v.verdict, verdictText: v.text, flowKey: `${from}|${p.src}|${to}`,
    };
  });
  for (const h of run.spec.hosts) {
    const procs = run.spec.processes.filter((p) => p.host === h.name).sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
    for (const p of procs) {
      lanes.push({ id: p.name, title: `${p.name} (${p.kind}${p.uid ? `, uid ${p.uid}` : ''})` });
      laneIds.add(p.name);
      if (lanes.length === 1) lanes.push({ id: 'ct', title: 'conntrack' });
    }
    const k = `${h.name} (kernel)`;
    if (used.has(k)) lanes.push({ id: k, title: k });
  }
  if (!lanes.some((l) => l.id === 'ct')) lanes.unshift({ id: 'ct', title: 'conntrack' });
  return {
    title: run.packets.length > drawn.length ? `${title} (first ${drawn.length} of ${run.packets.length} packets)` : title,
    lanes, arrows,
    bars: [...socketBars(run).filter((b) => laneIds.has(b.lane)), ...entryBars(run)],
    markers: programMarkers(run, laneIds),
    conntrackLane: 'ct', seq,
  };
}

export function runLadder(run: ScenarioRun, title: string): string {
  return ladderSvg(runLadderDiagram(run, title));
}
