// The ladder diagram of any run: one lane per process (apps first on each host, then proxies and
// listeners), a conntrack lane for the verdicts, and a lane per host for packets no process sent
// or received (the kernel's own resets, forwarded strays). A packet's ends are found from the
// sockets the processes held: the socket whose local endpoint the packet carries; through NAT, the
// socket the packet is addressed to as its receiver sees it, whose peer (same ISNs) is the sender.
import { ladderSvg, type Lane } from '../ladder-svg.js';
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

export function runLadder(run: ScenarioRun, title: string): string {
  const f = new LaneFinder(run);
  const kinds = ['app', 'proxy', 'listener', 'inject', 'flood'];
  const lanes: Lane[] = [];
  const laneIds = new Set<string>();
  const flood = new Set(run.spec.processes.filter((p) => p.kind === 'flood').map((p) => p.name));
  const drawn = run.packets.filter((p) => !flood.has(f.sender(p))).slice(0, MAX_LADDER_PACKETS);
  const used = new Set<string>();
  for (const p of drawn) {
    used.add(f.sender(p));
    used.add(f.receiver(p));
  }
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
  return ladderSvg(drawn, {
    title: run.packets.length > drawn.length ? `${title} (first ${drawn.length} of ${run.packets.length} packets)` : title,
    lanes,
    laneOf: (ep, p) => (ep === p.src ? f.sender(p) : f.receiver(p)),
    conntrackLane: 'ct',
  });
}
