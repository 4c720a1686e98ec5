// The TCP layer of one host: the socket tables and demultiplexing of tcp_v4_rcv() (established
// hash first — full sockets, request and TIME_WAIT sockets — then listeners, then a reset),
// bind/connect port rules, the control socket that sends resets, and the host-wide challenge-ACK
// budget. It talks to the host through TcpHostPort only.
import type { KernelProfile } from '../../conntrack/kernel-profile.js';
import { ConfigError } from '../../conntrack/errors.js';
import { TcpFlag, TcpOptionScan, TcpSegment, formatIpv4Address, scanTcpOptions } from '../../wire/index.js';
import type { Scheduler } from '../scheduler.js';
import { SEC } from '../scheduler.js';
import { PortAllocator } from './port-allocator.js';
import { encodeOut, resetFor, type SegmentOut } from './tcp-segment-out.js';
import { TcpSocket, type SegIn } from './tcp-socket.js';
import { TcpState, ssStateName } from './tcp-state.js';
import type { TcpSysctls } from './tcp-sysctls.js';

/** What the TCP layer needs from its host. */
export interface TcpHostPort {
  readonly name: string;
  /** ip_local_out(): send a packet built by TCP; owner uid/gid for -m owner. */
  localOut(bytes: Uint8Array, owner: { uid: number; gid: number } | null): void;
  /** Source address the routing table picks for a destination. */
  sourceFor(dst: number): number;
  isLocalAddress(addr: number): boolean;
  /** MTU-derived MSS and initial windows for the route to dst (loopback vs Ethernet). */
  routeIsLoopback(dst: number): boolean;
  originalDst(local: number, localPort: number, remote: number, remotePort: number): { addr: number; port: number } | null;
  event(text: string): void;
}

export class TcpError extends Error {
  override readonly name = 'TcpError';
  constructor(readonly kind: 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL' | 'EISCONN', message: string) {
    super(`${kind}: ${message}`);
  }
}

const key = (la: number, lp: number, ra: number, rp: number) => `${la >>> 0}:${lp}:${ra >>> 0}:${rp}`;

export class TcpStack {
  private readonly ehash = new Map<string, TcpSocket>();
  private readonly listeners = new Map<string, TcpSocket>();
  /** Every socket holding a local port (bound or connected), by port. */
  private readonly byPort = new Map<number, Set<TcpSocket>>();
  readonly sockets = new Set<TcpSocket>();
  private readonly ports: PortAllocator;
  private readonly scan = new TcpOptionScan();
  private nextSockId = 1;
  private challengeWindowStart = -1;
  private challengeCount = 0;

  constructor(
    readonly host: TcpHostPort,
    readonly sched: Scheduler,
    readonly profile: KernelProfile,
    readonly sysctls: TcpSysctls,
  ) {
    this.ports = new PortAllocator(sched.randomU32());
  }

  socket(owner: { uid?: number; gid?: number } = {}): TcpSocket {
    const s = new TcpSocket(this, owner.uid ?? 0, owner.gid ?? owner.uid ?? 0, this.nextSockId++);
    this.sockets.add(s);
    return s;
  }

  random(): number {
    return this.sched.randomU32();
  }

  fmt(addr: number, port: number): string {
    return `${formatIpv4Address(addr >>> 0)}:${port}`;
  }

  event(text: string): void {
    this.host.event(text);
  }

  mssFor(dst: number): number {
    return this.host.routeIsLoopback(dst) ? 65495 : 1460;
  }

  /** Initial window in the SYN (tcp_select_initial_window with default rmem). */
  synWindowFor(dst: number): number {
    return this.host.routeIsLoopback(dst) ? 65495 : 64240;
  }

  synAckWindowFor(dst: number): number {
    return this.host.routeIsLoopback(dst) ? 65483 : 65160;
  }

  /** Receive window advertised after the handshake, before scaling. */
  windowFor(dst: number): number {
    return this.host.routeIsLoopback(dst) ? 65536 : 64256;
  }

  // ------------------------------------------------------------ binding

  private holdPort(s: TcpSocket): void {
    let set = this.byPort.get(s.localPort);
    if (!set) this.byPort.set(s.localPort, (set = new Set()));
    set.add(s);
  }

  /** inet_csk_get_port(): bind() conflicts, with SO_REUSEADDR relaxing them for non-listeners. */
  bind(s: TcpSocket, addr: number, port: number): void {
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

  listen(s: TcpSocket, backlog: number): void {
    if (!s.localPort) throw new TcpError('EINVAL', 'listen() on an unbound socket');
    const k = `${s.localAddr >>> 0}:${s.localPort}`;
    if (this.listeners.has(k)) throw new TcpError('EADDRINUSE', `already listening on ${this.fmt(s.localAddr, s.localPort)}`);
    s.backlog = backlog;
    this.listeners.set(k, s);
  }

  unlisten(s: TcpSocket): void {
    this.listeners.delete(`${s.localAddr >>> 0}:${s.localPort}`);
  }

  /** inet_hash_connect(): source address by route, ephemeral port unless bound; 4-tuple must be unique. */
  connect(s: TcpSocket, addr: number, port: number): void {
    if (s.state !== TcpState.CLOSE) throw new TcpError('EISCONN', 'socket already connected');
    if (!s.localAddr) s.localAddr = this.host.sourceFor(addr);
    s.remoteAddr = addr >>> 0;
    s.remotePort = port;
    if (s.localPort) {
      const existing = this.ehash.get(key(s.localAddr, s.localPort, addr, port));
      if (existing && existing !== s) {
        if (existing.state === TcpState.TIME_WAIT) existing.destroy('TIME_WAIT reused by connect()');
        else throw new TcpError('EADDRNOTAVAIL', `4-tuple ${this.fmt(s.localAddr, s.localPort)} -> ${this.fmt(addr, port)} in use`);
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
      if (tw) tw.destroy('TIME_WAIT reused by connect()');
      s.localPort = p;
      this.holdPort(s);
    }
    this.ehash.set(key(s.localAddr, s.localPort, s.remoteAddr, s.remotePort), s);
  }

  forget(s: TcpSocket): void {
    const k = key(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.ehash.get(k) === s) this.ehash.delete(k);
    if (s.state === TcpState.LISTEN || this.listeners.get(`${s.localAddr >>> 0}:${s.localPort}`) === s) this.unlisten(s);
    this.byPort.get(s.localPort)?.delete(s);
    if (this.byPort.get(s.localPort)?.size === 0) this.byPort.delete(s.localPort);
    this.sockets.delete(s);
  }

  originalDst(s: TcpSocket): { addr: number; port: number } | null {
    return this.host.originalDst(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
  }

  // ------------------------------------------------------------ output

  transmit(_s: TcpSocket, seg: SegmentOut, ipId: number): void {
    this.host.localOut(encodeOut(seg, ipId), { uid: _s.uid, gid: _s.gid });
  }

  /** tcp_v4_send_reset() from the per-netns control socket (never in reply to an RST). */
  sendReset(seg: SegIn): void {
    if (seg.flags & TcpFlag.RST) return;
    const r = resetFor(seg);
    this.event(`reset ${this.fmt(r.src, r.sport)} -> ${this.fmt(r.dst, r.dport)} seq=${r.seq}${r.flags & TcpFlag.ACK ? ` ack=${r.ack}` : ''}`);
    this.host.localOut(encodeOut(r, 0), null);
  }

  /** The RFC 5961 host/netns-wide budget (tcp_challenge_ack_limit per second; INT_MAX = none). */
  challengeAckBudget(): boolean {
    const limit = this.sysctls.tcp_challenge_ack_limit;
    if (limit >= 0x7fffffff) return true;
    const now = this.sched.now;
    if (this.challengeWindowStart < 0 || now - this.challengeWindowStart >= SEC) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    return ++this.challengeCount <= limit;
  }

  // ------------------------------------------------------------ input

  /** tcp_v4_rcv(): parse, look up the established hash, then listeners; no socket -> reset. */
  receive(bytes: Uint8Array, ipOff: number): void {
    const hl = (bytes[ipOff] & 0x0f) << 2;
    const total = (bytes[ipOff + 2] << 8) | bytes[ipOff + 3];
    const seg = TcpSegment.checked(bytes, ipOff + hl, total - hl);
    const s = scanTcpOptions(seg.buf, seg.optionsOffset, seg.optionsLength, this.scan);
    const src = ((bytes[ipOff + 12] << 24) | (bytes[ipOff + 13] << 16) | (bytes[ipOff + 14] << 8) | bytes[ipOff + 15]) >>> 0;
    const dst = ((bytes[ipOff + 16] << 24) | (bytes[ipOff + 17] << 16) | (bytes[ipOff + 18] << 8) | bytes[ipOff + 19]) >>> 0;
    const inSeg: SegIn = {
      src, dst, sport: seg.srcPort, dport: seg.dstPort, seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window,
      len: seg.payloadLength, payload: seg.buf.subarray(seg.payloadOffset, seg.off + seg.len),
      mss: s.mss, wscale: s.wscale, sackOk: s.sackPermitted, hasTs: s.hasTimestamp, tsval: s.tsval >>> 0, tsecr: s.tsecr >>> 0,
    };
    const est = this.ehash.get(key(dst, inSeg.dport, src, inSeg.sport));
    if (est) {
      est.receive(inSeg);
      return;
    }
    const l = this.listeners.get(`${dst}:${inSeg.dport}`) ?? this.listeners.get(`0:${inSeg.dport}`);
    if (l) {
      this.listenReceive(l, inSeg);
      return;
    }
    this.event(`no socket for ${this.fmt(dst, inSeg.dport)} <- ${this.fmt(src, inSeg.sport)}`);
    this.sendReset(inSeg);
  }

  /** A SYN re-dispatched to the listener after a TIME_WAIT socket gave way (TW_SYN). */
  synToListener(seg: SegIn, isn: number): void {
    const l = this.listeners.get(`${seg.dst}:${seg.dport}`) ?? this.listeners.get(`0:${seg.dport}`);
    if (l) this.listenReceive(l, seg, isn);
    else this.sendReset(seg);
  }

  /** tcp_v4_conn_request() and the LISTEN branch of tcp_rcv_state_process(). */
  listenReceive(l: TcpSocket, seg: SegIn, isn?: number): void {
    const f = seg.flags;
    if (f & TcpFlag.RST) return;
    if (f & TcpFlag.ACK) {
      this.sendReset(seg);
      return;
    }
    if (!(f & TcpFlag.SYN)) return;
    const child = this.socket({ uid: l.uid, gid: l.gid });
    child.parent = l;
    child.localAddr = seg.dst;
    child.localPort = seg.dport;
    child.remoteAddr = seg.src;
    child.remotePort = seg.sport;
    child.mss = this.mssFor(seg.src);
    child.adoptPeerOptions(seg);
    child.irs = seg.seq;
    child.rcvNxt = (seg.seq + 1) >>> 0;
    child.iss = isn ?? this.random();
    child.sndUna = child.iss;
    child.sndNxt = (child.iss + 1) >>> 0;
    child.tsOffset = this.random();
    this.holdPort(child);
    this.ehash.set(key(child.localAddr, child.localPort, child.remoteAddr, child.remotePort), child);
    child.setState(TcpState.SYN_RECV, `SYN to ${this.fmt(l.localAddr, l.localPort)} listener`);
    child.sendSynAck();
    child.armRtxPublic();
  }

  /** `ss -tanoe`-style lines for every socket. */
  ss(): string[] {
    const rows = [...this.sockets].sort((a, b) => a.id - b.id).map((s) => {
      const local = s.state === TcpState.LISTEN && s.localAddr === 0 ? `0.0.0.0:${s.localPort}` : this.fmt(s.localAddr, s.localPort);
      const peer = s.state === TcpState.LISTEN ? '0.0.0.0:*' : this.fmt(s.remoteAddr, s.remotePort);
      const extra = [s.timerInfo(), `uid:${s.uid}`, s.orphan && s.state !== TcpState.LISTEN ? 'orphan' : ''].filter(Boolean).join(' ');
      return `${ssStateName(s.state).padEnd(11)} ${String(s.recvQueued).padStart(6)} ${String(0).padStart(6)} ${local.padEnd(22)} ${peer.padEnd(22)} ${extra}`;
    });
    return rows;
  }
}

export function requireValidPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port ${port} out of range`);
}
