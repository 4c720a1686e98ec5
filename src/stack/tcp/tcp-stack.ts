// The TCP layer of one host: the socket tables and tcp_v4_rcv()'s demultiplexing (established
// hash first — full sockets, request and TIME_WAIT minisockets — then listeners, then a reset),
// the listener's request sockets (tcp_v4_conn_request), bind/connect port rules, the control
// socket that sends resets, and the netns-wide challenge-ACK budget. The stack parses each
// segment once and offers it to the socket, which answers (consumed, or "send a reset"); a
// TIME_WAIT minisocket answers as tcp_timewait_state_process() does. Sockets reach the stack only
// through TcpSocketPort, the stack reaches its host only through TcpHostPort.
import type { KernelProfile } from '../../conntrack/kernel-profile.js';
import { ConfigError } from '../../conntrack/errors.js';
import { TcpFlag, TcpOptionScan } from '../../wire/index.js';
import type { Scheduler } from '../scheduler.js';
import { PortAllocator } from './port-allocator.js';
import { ChallengeAckBudget } from './tcp-challenge-ack.js';
import type { SocketOwner, TcpEndpoint, TcpRoute } from './tcp-endpoint.js';
import { CALL_OK, Cause, formatEndpoint, type CallErrno, type CallFailure, type CallResult, type TcpEvent } from './tcp-events.js';
import { InetHashinfo } from './tcp-hashtables.js';
import { SecureSeq } from './secure-seq.js';
import type { KernelClock } from '../kernel-clock.js';
import { parseSegIn, type SegIn } from './tcp-segment-in.js';
import { encodeOut, resetFor, type SegmentOut } from './tcp-segment-out.js';
import type { ConnectOutcome, TcpSock, TcpSocketPort } from './tcp-sock.js';
import { TcpSocket } from './tcp-socket.js';
import { TcpState, ssStateName } from './tcp-state.js';
import type { TcpSysctls } from './tcp-sysctls.js';
import { TimeWaitSock } from './tcp-timewait.js';

/** What the TCP layer needs from its host. */
export interface TcpHostPort {
  readonly name: string;
  /** ip_local_out(): send a packet built by TCP; owner uid/gid for -m owner. False: dropped on the output path (the sender sees -EPERM). */
  localOut(bytes: Uint8Array, owner: SocketOwner | null): boolean;
  /** Source address the routing table picks for a destination. */
  sourceFor(dst: number): number;
  isLocalAddress(addr: number): boolean;
  /** MTU-derived MSS and initial windows for the route to dst (loopback vs Ethernet). */
  routeIsLoopback(dst: number): boolean;
  originalDst(local: number, localPort: number, remote: number, remotePort: number): { addr: number; port: number } | null;
  tcpEvent(e: TcpEvent): void;
}

/** Loopback (MTU 65536) and Ethernet (MTU 1500) routes: MSS and tcp_select_initial_window() results. */
const LOOPBACK_ROUTE: TcpRoute = { mss: 65495, synWindow: 65495, synAckWindow: 65483, window: 65536 };
const ETHERNET_ROUTE: TcpRoute = { mss: 1460, synWindow: 64240, synAckWindow: 65160, window: 64256 };

const fail = (errno: CallErrno, failure: CallFailure): CallResult => ({ errno, failure });

export class TcpStack implements TcpSocketPort {
  /** The namespace's port and 4-tuple ownership (established hash, listeners, bind buckets). */
  private readonly hash = new InetHashinfo();
  /** Every endpoint `ss` lists. */
  readonly sockets = new Set<TcpEndpoint>();
  private readonly ports: PortAllocator;
  private readonly scan = new TcpOptionScan();
  private nextSockId = 1;
  readonly challengeAcks: ChallengeAckBudget;
  readonly earlySynResend: boolean;
  readonly pingpongThresh: number;
  readonly finCwndExempt: boolean;
  /** secure_tcp_seq_and_ts_off() with this kernel's boot keys. */
  readonly secureSeq: SecureSeq;

  constructor(
    readonly host: TcpHostPort,
    readonly sched: Scheduler,
    readonly profile: KernelProfile,
    readonly sysctls: TcpSysctls,
    readonly clock: KernelClock,
    secrets: readonly number[],
  ) {
    this.ports = new PortAllocator(sched.randomU32());
    this.challengeAcks = new ChallengeAckBudget(sysctls.tcp_challenge_ack_limit);
    this.earlySynResend = profile.earlySynResend;
    this.pingpongThresh = profile.pingpongThresh;
    this.finCwndExempt = profile.finCwndExempt;
    this.secureSeq = new SecureSeq(secrets, profile.tsOffsetPerTuple);
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

  output(seg: SegmentOut, ipId: number, owner: SocketOwner): boolean {
    return this.host.localOut(encodeOut(seg, ipId), owner);
  }

  event(e: TcpEvent): void {
    this.host.tcpEvent(e);
  }

  originalDst(s: TcpSock): { addr: number; port: number } | null {
    return this.host.originalDst(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
  }

  /** tcp_v4_init_seq() + tcp_v4_init_ts_off(): the ISN and timestamp offset of a connection, from its 4-tuple and the clock. */
  initSeq(saddr: number, daddr: number, sport: number, dport: number): { seq: number; tsOff: number } {
    return this.secureSeq.seqAndTsOff(saddr, daddr, sport, dport, this.clock.isnClock(), this.sysctls.tcp_timestamps);
  }

  /** inet_bind() + inet_csk_get_port(): the address must be local; the port free of conflicting holders (bind conflicts). */
  bind(s: TcpSock, addr: number, port: number): CallResult {
    if (s.localPort || s.state !== TcpState.CLOSE) return fail('EINVAL', { kind: 'already-bound' });
    if (addr !== 0 && !this.host.isLocalAddress(addr)) return fail('EADDRNOTAVAIL', { kind: 'not-local-address', addr });
    if (port !== 0) {
      const holder = this.hash.conflict(s, addr, port);
      if (holder) return fail('EADDRINUSE', { kind: 'port-in-use', holder: holder.ref(), holderState: holder.state });
    } else {
      port = this.freePort(addr);
      if (port < 0) return fail('EADDRINUSE', { kind: 'no-free-port' });
    }
    s.localAddr = addr;
    s.localPort = port;
    s.boundByBind = true;
    this.hash.hold(s, port);
    return CALL_OK;
  }

  /** inet_csk_find_open_port(), simplified: a port nobody holds. */
  private freePort(addr: number): number {
    const [low, high] = this.sysctls.ip_local_port_range;
    return this.ports.choose(addr, 0, 0, low, high, (p) => !this.hash.portHeld(p));
  }

  /**
   * inet_listen() -> inet_csk_listen_start(): the port is taken again with the socket in LISTEN
   * (so SO_REUSEADDR no longer shares it with another listener); an unbound socket gets a free one.
   */
  listen(s: TcpSock, backlog: number): CallResult {
    if (s.state === TcpState.LISTEN) {
      s.backlog = backlog;
      return CALL_OK;
    }
    if (s.state !== TcpState.CLOSE) return fail('EINVAL', { kind: 'not-closed' });
    if (!s.localPort) {
      const port = this.freePort(0);
      if (port < 0) return fail('EADDRINUSE', { kind: 'no-free-port' });
      s.localPort = port;
      this.hash.hold(s, port);
    }
    const holder = this.hash.conflict(s, s.localAddr, s.localPort, true);
    if (holder) return fail('EADDRINUSE', { kind: 'port-in-use', holder: holder.ref(), holderState: holder.state });
    s.backlog = backlog;
    this.hash.hashListener(s);
    return CALL_OK;
  }

  /**
   * tcp_v4_connect() up to inet_hash_connect(): the source address by route, then the port rules
   * (see tcp-hashtables.ts). A TIME_WAIT minisocket the connection takes over is killed here and
   * its successor ISN returned.
   */
  connect(s: TcpSock, addr: number, port: number): ConnectOutcome {
    if (s.state === TcpState.SYN_SENT) return { result: fail('EALREADY', { kind: 'connecting' }), writeSeq: null };
    if (s.state !== TcpState.CLOSE) return { result: fail('EISCONN', { kind: 'already-connected' }), writeSeq: null };
    const hadAddr = s.localAddr;
    if (!s.localAddr) s.localAddr = this.host.sourceFor(addr);
    const [low, high] = this.sysctls.ip_local_port_range;
    const r = this.hash.hashConnect(s, addr >>> 0, port, {
      portRange: this.sysctls.ip_local_port_range, twReuse: this.sysctls.tcp_tw_reuse, seconds: this.clock.seconds(), ms: this.clock.ms(),
      reuseDelayMs: this.profile.twReuseDelay ? this.sysctls.tcp_tw_reuse_delay : null,
      finWait2NoReuse: this.profile.twFinWait2NoReuse,
    }, (usable) => this.ports.choose(s.localAddr, addr, port, low, high, usable));
    if (!r.ok) {
      s.localAddr = hadAddr; // failure: inet_bhash2_reset_saddr()
      return { result: fail('EADDRNOTAVAIL', r.failure), writeSeq: null };
    }
    s.remoteAddr = addr >>> 0;
    s.remotePort = port;
    s.localPort = r.port;
    if (r.reuse) {
      r.reuse.tw.kill(Cause['tw-reused-by-connect']);
      s.tsRecent = r.reuse.tsRecent;
      s.tsRecentStamp = r.reuse.tsRecentStamp;
      s.tsRecentStampMs = r.reuse.tsRecentStampMs;
    }
    return { result: CALL_OK, writeSeq: r.reuse ? r.reuse.writeSeq : null };
  }

  unhash(s: TcpSock): void {
    this.hash.unhash(s);
    this.sockets.delete(s);
  }

  hashTimeWait(s: TcpSock, tw: TimeWaitSock): void {
    this.hash.hashTimeWait(s, tw);
    this.sockets.delete(s);
    this.sockets.add(tw);
  }

  releaseTimeWait(tw: TimeWaitSock): void {
    this.hash.releaseTimeWait(tw);
    this.sockets.delete(tw);
  }

  // ------------------------------------------------------------ input

  /** tcp_v4_rcv(): parse once, look up the established hash, then listeners; no socket -> reset. */
  receive(bytes: Uint8Array, ipOff: number): void {
    const seg = parseSegIn(bytes, ipOff, this.scan);
    const est = this.hash.established(seg.dst, seg.dport, seg.src, seg.sport);
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
    return this.hash.listener(seg.dst, seg.dport);
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
    this.hash.hashChild(child);
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
