// The TCP layer of one host: the socket tables and tcp_v4_rcv()'s demultiplexing (established
// hash first — full sockets, request and TIME_WAIT minisockets — then listeners, then a reset),
// the listener's request sockets (tcp_v4_conn_request), bind/connect port rules, the control
// socket that sends resets, and the netns-wide challenge-ACK budget. The stack parses each
// segment once and offers it to the socket, which answers (consumed, or "send a reset"); a
// TIME_WAIT minisocket answers as tcp_timewait_state_process() does. Sockets reach the stack only
// through TcpSocketPort, the stack reaches its host only through TcpHostPort.
import type { KernelProfile } from '../../conntrack/kernel-profile.js';
import { ConfigError } from '../../conntrack/errors.js';
import { TcpFlag, TcpOptionScan, formatIpv4Address } from '../../wire/index.js';
import type { Scheduler } from '../scheduler.js';
import { PortAllocator } from './port-allocator.js';
import { ChallengeAckBudget } from './tcp-challenge-ack.js';
import type { SocketOwner, TcpEndpoint, TcpRoute } from './tcp-endpoint.js';
import { Cause, formatEndpoint, type TcpEvent } from './tcp-events.js';
import { parseSegIn, type SegIn } from './tcp-segment-in.js';
import { encodeOut, resetFor, type SegmentOut } from './tcp-segment-out.js';
import type { TcpSock, TcpSocketPort } from './tcp-sock.js';
import { TcpSocket } from './tcp-socket.js';
import { TcpState, ssStateName } from './tcp-state.js';
import type { TcpSysctls } from './tcp-sysctls.js';
import { TimeWaitSock } from './tcp-timewait.js';

/** What the TCP layer needs from its host. */
export interface TcpHostPort {
  readonly name: string;
  /** ip_local_out(): send a packet built by TCP; owner uid/gid for -m owner. */
  localOut(bytes: Uint8Array, owner: SocketOwner | null): void;
  /** Source address the routing table picks for a destination. */
  sourceFor(dst: number): number;
  isLocalAddress(addr: number): boolean;
  /** MTU-derived MSS and initial windows for the route to dst (loopback vs Ethernet). */
  routeIsLoopback(dst: number): boolean;
  originalDst(local: number, localPort: number, remote: number, remotePort: number): { addr: number; port: number } | null;
  tcpEvent(e: TcpEvent): void;
}

export class TcpError extends Error {
  override readonly name = 'TcpError';
  constructor(readonly kind: 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL' | 'EISCONN', message: string) {
    super(`${kind}: ${message}`);
  }
}

/** Loopback (MTU 65536) and Ethernet (MTU 1500) routes: MSS and tcp_select_initial_window() results. */
const LOOPBACK_ROUTE: TcpRoute = { mss: 65495, synWindow: 65495, synAckWindow: 65483, window: 65536 };
const ETHERNET_ROUTE: TcpRoute = { mss: 1460, synWindow: 64240, synAckWindow: 65160, window: 64256 };

const key = (la: number, lp: number, ra: number, rp: number) => `${la >>> 0}:${lp}:${ra >>> 0}:${rp}`;
const listenKey = (la: number, lp: number) => `${la >>> 0}:${lp}`;

export class TcpStack implements TcpSocketPort {
  /** Established hash: connected sockets and TIME_WAIT minisockets, by 4-tuple. */
  private readonly ehash = new Map<string, TcpSock | TimeWaitSock>();
  private readonly listeners = new Map<string, TcpSock>();
  /** Every endpoint holding a local port (bound, connected or in TIME_WAIT), by port. */
  private readonly byPort = new Map<number, Set<TcpEndpoint>>();
  /** Every endpoint `ss` lists. */
  readonly sockets = new Set<TcpEndpoint>();
  private readonly ports: PortAllocator;
  private readonly scan = new TcpOptionScan();
  private nextSockId = 1;
  readonly challengeAcks: ChallengeAckBudget;
  readonly earlySynResend: boolean;

  constructor(
    readonly host: TcpHostPort,
    readonly sched: Scheduler,
    readonly profile: KernelProfile,
    readonly sysctls: TcpSysctls,
  ) {
    this.ports = new PortAllocator(sched.randomU32());
    this.challengeAcks = new ChallengeAckBudget(sysctls.tcp_challenge_ack_limit);
    this.earlySynResend = profile.earlySynResend;
  }

  socket(owner: { uid?: number; gid?: number } = {}): TcpSocket {
    const s = new TcpSocket(this, owner.uid ?? 0, owner.gid ?? owner.uid ?? 0, this.nextSockId++);
    this.sockets.add(s);
    return s;
  }

  // ------------------------------------------------------------ TcpSocketPort

  route(dst: number): TcpRoute {
    return this.host.routeIsLoopback(dst) ? LOOPBACK_ROUTE : ETHERNET_ROUTE;
  }

  output(seg: SegmentOut, ipId: number, owner: SocketOwner): void {
    this.host.localOut(encodeOut(seg, ipId), owner);
  }

  event(e: TcpEvent): void {
    this.host.tcpEvent(e);
  }

  originalDst(s: TcpSock): { addr: number; port: number } | null {
    return this.host.originalDst(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
  }

  private holdPort(s: TcpEndpoint): void {
    let set = this.byPort.get(s.localPort);
    if (!set) this.byPort.set(s.localPort, (set = new Set()));
    set.add(s);
  }

  private releasePort(s: TcpEndpoint): void {
    const set = this.byPort.get(s.localPort);
    set?.delete(s);
    if (set?.size === 0) this.byPort.delete(s.localPort);
  }

  /** inet_csk_get_port(): bind() conflicts, with SO_REUSEADDR relaxing them for non-listeners. */
  bind(s: TcpSock, addr: number, port: number): void {
    if (s.localPort) throw new TcpError('EINVAL', 'socket already bound');
    if (addr !== 0 && !this.host.isLocalAddress(addr)) throw new TcpError('EADDRNOTAVAIL', `${formatIpv4Address(addr)} is not an address of ${this.host.name}`);
    if (port !== 0) {
      for (const o of this.byPort.get(port) ?? []) {
        if (o === s || o.state === TcpState.CLOSE) continue;
        const sameAddr = addr === 0 || o.localAddr === 0 || o.localAddr === addr;
        if (!sameAddr) continue;
        // SO_REUSEADDR on both: allowed unless the other one listens (or is in TIME_WAIT: always ok).
        if (o.state === TcpState.TIME_WAIT) continue;
        if (s.reuseAddr && o.reuseAddr && o.state !== TcpState.LISTEN) continue;
        throw new TcpError('EADDRINUSE', `${formatIpv4Address(addr)}:${port} is in use by a ${ssStateName(o.state)} socket`);
      }
    } else {
      port = this.ports.choose(addr, 0, 0, this.sysctls.ip_local_port_range[0], this.sysctls.ip_local_port_range[1], (p) => !(this.byPort.get(p)?.size));
      if (port < 0) throw new TcpError('EADDRINUSE', 'no free port');
    }
    s.localAddr = addr;
    s.localPort = port;
    s.boundByBind = true;
    this.holdPort(s);
  }

  listen(s: TcpSock, backlog: number): void {
    if (!s.localPort) throw new TcpError('EINVAL', 'listen() on an unbound socket');
    const k = listenKey(s.localAddr, s.localPort);
    if (this.listeners.has(k)) throw new TcpError('EADDRINUSE', `already listening on ${formatEndpoint(s.localAddr, s.localPort)}`);
    s.backlog = backlog;
    this.listeners.set(k, s);
  }

  /** inet_hash_connect(): source address by route, ephemeral port unless bound; 4-tuple must be unique. */
  connect(s: TcpSock, addr: number, port: number): void {
    if (s.state !== TcpState.CLOSE) throw new TcpError('EISCONN', 'socket already connected');
    if (!s.localAddr) s.localAddr = this.host.sourceFor(addr);
    s.remoteAddr = addr >>> 0;
    s.remotePort = port;
    if (s.localPort) {
      const existing = this.ehash.get(key(s.localAddr, s.localPort, addr, port));
      if (existing && existing !== s) {
        if (existing instanceof TimeWaitSock && existing.state === TcpState.TIME_WAIT) existing.kill(Cause['tw-reused-by-connect']);
        else throw new TcpError('EADDRNOTAVAIL', `4-tuple ${formatEndpoint(s.localAddr, s.localPort)} -> ${formatEndpoint(addr, port)} in use`);
      }
    } else {
      const [low, high] = this.sysctls.ip_local_port_range;
      const p = this.ports.choose(s.localAddr, addr, port, low, high, (cand) => {
        const holders = this.byPort.get(cand);
        if (holders) for (const o of holders) if (o.boundByBind && o.state !== TcpState.CLOSE) return false;
        const tw = this.ehash.get(key(s.localAddr, cand, addr, port));
        return !tw || tw.state === TcpState.TIME_WAIT;
      });
      if (p < 0) throw new TcpError('EADDRNOTAVAIL', 'no ephemeral port left for this destination');
      const tw = this.ehash.get(key(s.localAddr, p, addr, port));
      if (tw instanceof TimeWaitSock) tw.kill(Cause['tw-reused-by-connect']);
      s.localPort = p;
      this.holdPort(s);
    }
    this.ehash.set(key(s.localAddr, s.localPort, s.remoteAddr, s.remotePort), s);
  }

  unhash(s: TcpSock): void {
    const k = key(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.ehash.get(k) === s) this.ehash.delete(k);
    const lk = listenKey(s.localAddr, s.localPort);
    if (this.listeners.get(lk) === s) this.listeners.delete(lk);
    this.releasePort(s);
    this.sockets.delete(s);
  }

  hashTimeWait(s: TcpSock, tw: TimeWaitSock): void {
    const k = key(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.ehash.get(k) === s) this.ehash.set(k, tw);
    this.releasePort(s);
    this.holdPort(tw);
    this.sockets.delete(s);
    this.sockets.add(tw);
  }

  releaseTimeWait(tw: TimeWaitSock): void {
    const k = key(tw.localAddr, tw.localPort, tw.remoteAddr, tw.remotePort);
    if (this.ehash.get(k) === tw) this.ehash.delete(k);
    this.releasePort(tw);
    this.sockets.delete(tw);
  }

  // ------------------------------------------------------------ input

  /** tcp_v4_rcv(): parse once, look up the established hash, then listeners; no socket -> reset. */
  receive(bytes: Uint8Array, ipOff: number): void {
    const seg = parseSegIn(bytes, ipOff, this.scan);
    const est = this.ehash.get(key(seg.dst, seg.dport, seg.src, seg.sport));
    if (est instanceof TimeWaitSock) {
      this.timeWaitReceive(est, seg);
      return;
    }
    if (est) {
      if (est.receive(seg) === 'reset') this.sendReset(seg);
      return;
    }
    const l = this.listenerFor(seg);
    if (l) {
      this.listenReceive(l, seg);
      return;
    }
    this.event({ type: 'no-socket', localAddr: seg.dst, localPort: seg.dport, remoteAddr: seg.src, remotePort: seg.sport });
    this.sendReset(seg);
  }

  private listenerFor(seg: SegIn): TcpSock | undefined {
    return this.listeners.get(listenKey(seg.dst, seg.dport)) ?? this.listeners.get(listenKey(0, seg.dport));
  }

  /** do_time_wait: acts on the minisocket's answer (enum tcp_tw_status). */
  private timeWaitReceive(tw: TimeWaitSock, seg: SegIn): void {
    const r = tw.receive(seg);
    if (r.action === 'reset') {
      this.sendReset(seg);
      tw.kill(r.kill);
    } else if (r.action === 'syn') {
      // TW_SYN: with a listener the minisocket gives way and the SYN opens a request socket with
      // the ISN it chose; without one the SYN is answered like any other segment (TW_ACK).
      const l = this.listenerFor(seg);
      if (l) {
        tw.kill(Cause['tw-recycled']);
        this.listenReceive(l, seg, r.isn);
      } else {
        tw.sendAck();
      }
    }
  }

  /** tcp_v4_conn_request() and the LISTEN branch of tcp_rcv_state_process(). */
  private listenReceive(l: TcpSock, seg: SegIn, isn?: number): void {
    const f = seg.flags;
    if (f & TcpFlag.RST) return;
    if (f & TcpFlag.ACK) {
      this.sendReset(seg);
      return;
    }
    if (!(f & TcpFlag.SYN)) return;
    const child = this.socket({ uid: l.uid, gid: l.gid });
    child.localAddr = seg.dst;
    child.localPort = seg.dport;
    child.remoteAddr = seg.src;
    child.remotePort = seg.sport;
    this.holdPort(child);
    this.ehash.set(key(child.localAddr, child.localPort, child.remoteAddr, child.remotePort), child);
    child.openRequest(l, seg, isn);
  }

  /** tcp_v4_send_reset() from the per-netns control socket (never in reply to an RST). */
  private sendReset(seg: SegIn): void {
    if (seg.flags & TcpFlag.RST) return;
    const r = resetFor(seg);
    this.event({ type: 'reset-sent', src: r.src, sport: r.sport, dst: r.dst, dport: r.dport, seq: r.seq, ack: r.flags & TcpFlag.ACK ? r.ack : null });
    this.host.localOut(encodeOut(r, 0), null);
  }

  /** `ss -tanoe`-style lines for every socket. */
  ss(): string[] {
    return [...this.sockets].sort((a, b) => a.id - b.id).map((s) => {
      const local = s.state === TcpState.LISTEN && s.localAddr === 0 ? `0.0.0.0:${s.localPort}` : formatEndpoint(s.localAddr, s.localPort);
      const peer = s.state === TcpState.LISTEN ? '0.0.0.0:*' : formatEndpoint(s.remoteAddr, s.remotePort);
      const extra = [s.timerInfo(), `uid:${s.uid}`, s.orphan && s.state !== TcpState.LISTEN ? 'orphan' : ''].filter(Boolean).join(' ');
      return `${ssStateName(s.state).padEnd(11)} ${String(s.recvQueued).padStart(6)} ${String(0).padStart(6)} ${local.padEnd(22)} ${peer.padEnd(22)} ${extra}`;
    });
  }
}

export function requireValidPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port ${port} out of range`);
}
