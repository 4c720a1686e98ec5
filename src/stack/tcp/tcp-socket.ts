// One emulated Linux TCP socket and its state machine, modelled on net/ipv4/tcp_input.c
// (tcp_rcv_state_process, tcp_rcv_synsent_state_process, tcp_validate_incoming), tcp_timer.c
// (retransmission and connect timeouts), tcp_minisocks.c (TIME_WAIT and orphaned FIN_WAIT2) and
// tcp.c (close/shutdown). Simplifications, each chosen because no seed scenario depends on it:
// in-order data is ACKed at once, before the application reads it (quickack mode throughout; the
// one delayed ACK modelled is that of a FIN moving ESTABLISHED -> CLOSE_WAIT), out-of-order segments are
// dropped with a duplicate ACK (no OFO queue), no congestion control (windows are large enough
// for the scenarios' transfers), no PAWS rejection, no keepalive.
import { TcpFlag } from '../../wire/index.js';
import type { Timer } from '../scheduler.js';
import { MS, SEC } from '../scheduler.js';
import { synOptions, tsOptions, type SegmentOut } from './tcp-segment-out.js';
import { TcpState, isSynchronized, tcpStateName } from './tcp-state.js';
import type { TcpStack } from './tcp-stack.js';

/** TCP_DELACK_MIN / TCP_ATO_MIN: HZ/25 jiffies = 40 ms. */
const DELACK_MIN_NS = 40 * MS;

/** A received segment, parsed once by the stack. Sequence numbers are unsigned. */
export interface SegIn {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  len: number;
  payload: Uint8Array;
  mss: number;
  wscale: number;
  sackOk: boolean;
  hasTs: boolean;
  tsval: number;
  tsecr: number;
}

export type SocketError = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EPIPE';

const TCP_TIMEOUT_INIT = 1 * SEC;
const TCP_RTO_MIN = 200 * MS;
const TCP_RTO_MAX = 120 * SEC;
const TCP_TIMEWAIT_LEN = 60 * SEC;
const OUR_WSCALE = 7;

const before = (a: number, b: number) => ((a - b) | 0) < 0;
const after = (a: number, b: number) => ((b - a) | 0) < 0;
const add = (a: number, n: number) => (a + n) >>> 0;

export class TcpSocket {
  state: number = TcpState.CLOSE;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  /** Port taken by bind() (not by connect()'s ephemeral choice). */
  boundByBind = false;
  reuseAddr = false;
  /** The application closed its fd: the kernel owns the socket now (tcp_close). */
  orphan = false;
  shutWr = false;
  shutRd = false;
  // sequence space (unsigned 32-bit)
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  irs = 0;
  rcvNxt = 0;
  sndWnd = 0;
  finSeq = -1; // seq of our FIN once sent
  // negotiated options
  mss = 1460;
  tsOn = false;
  tsRecent = 0;
  tsOffset = 0;
  sackOn = false;
  sndWscale = 0;
  rcvWscale = 0;
  // retransmission
  rto = TCP_TIMEOUT_INIT;
  retransmits = 0;
  srtt = -1;
  rttvar = 0;
  private rtxTimer: Timer | null = null;
  private slowTimer: Timer | null = null; // TIME_WAIT / orphaned FIN_WAIT2 / SYN_RECV request expiry
  private rttProbe: { seq: number; at: number } | null = null;
  lastOowAck = -1;
  ipId: number;
  // buffers
  private sendQueue: Uint8Array[] = [];
  private sendQueued = 0;
  private unacked: Array<{ seq: number; data: Uint8Array }> = [];
  readonly recvBuffer: Uint8Array[] = [];
  recvQueued = 0;
  // listener side
  backlog = 0;
  parent: TcpSocket | null = null;
  readonly acceptQueue: TcpSocket[] = [];
  /** For TIME_WAIT sockets: timewait substate came from an orphaned FIN_WAIT2 (tw_substate). */
  twSubstate: number = TcpState.TIME_WAIT;
  pendingError: SocketError | null = null;
  readonly id: number;

  // application callbacks
  onConnect?: () => void;
  onAccept?: (child: TcpSocket) => void;
  /** Data as it arrives; setting it means the application reads everything (nothing queues). */
  onData?: (data: Uint8Array) => void;
  onEof?: () => void;
  onError?: (e: SocketError) => void;
  onClosed?: () => void;
  onStateChange?: (from: number, to: number) => void;

  constructor(readonly stack: TcpStack, readonly uid: number, readonly gid: number, id: number) {
    this.id = id;
    this.ipId = stack.random() & 0xffff;
  }

  get now(): number {
    return this.stack.sched.now;
  }

  describe(): string {
    return `${this.stack.fmt(this.localAddr, this.localPort)} <-> ${this.stack.fmt(this.remoteAddr, this.remotePort)}`;
  }

  setState(s: number, why = ''): void {
    if (s === this.state) return;
    const from = this.state;
    this.state = s;
    this.stack.event(`socket ${this.describe()}${this.uid ? ` (uid ${this.uid})` : ''}: ${tcpStateName(from)} -> ${tcpStateName(s)}${why ? ` (${why})` : ''}`);
    this.onStateChange?.(from, s);
  }

  // ---------------------------------------------------------------- socket API

  bind(addr: number, port: number): void {
    this.stack.bind(this, addr, port);
  }

  listen(backlog = 4096): void {
    this.stack.listen(this, backlog);
    this.setState(TcpState.LISTEN, 'listen()');
  }

  /**
   * connect(): picks the source address and, unless bound, an ephemeral port; sends the SYN.
   * `iss` fixes the initial sequence number (scenarios use it to reproduce both halves of a
   * sequence-number-dependent outcome); by default it is drawn from the run's seed.
   */
  connect(addr: number, port: number, o: { iss?: number; issFor?: (localPort: number) => number | undefined } = {}): void {
    this.stack.connect(this, addr, port);
    const fixed = o.iss ?? o.issFor?.(this.localPort);
    this.iss = fixed !== undefined ? fixed >>> 0 : this.stack.random();
    this.sndUna = this.iss;
    this.sndNxt = add(this.iss, 1);
    this.tsOffset = this.stack.random();
    this.mss = this.stack.mssFor(addr);
    this.setState(TcpState.SYN_SENT, 'connect()');
    this.lastSynAt = this.now;
    this.sendSyn();
    this.rto = TCP_TIMEOUT_INIT;
    this.armRtx(this.rto);
  }

  send(data: Uint8Array): void {
    if (this.shutWr || this.state === TcpState.CLOSE) throw new Error(`send on ${tcpStateName(this.state)} socket (EPIPE)`);
    if (data.length === 0) return;
    this.sendQueue.push(data.slice());
    this.sendQueued += data.length;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
  }

  /** Reads and removes everything received so far. */
  recv(): Uint8Array {
    const out = new Uint8Array(this.recvQueued);
    let o = 0;
    for (const b of this.recvBuffer) {
      out.set(b, o);
      o += b.length;
    }
    this.recvBuffer.length = 0;
    this.recvQueued = 0;
    return out;
  }

  /** shutdown(SHUT_WR) sends our FIN once queued data is out; SHUT_RD only stops delivery. */
  shutdown(how: 'wr' | 'rd' | 'rdwr'): void {
    if (how !== 'wr') this.shutRd = true;
    if (how === 'rd') return;
    if (this.shutWr) return;
    this.shutWr = true;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
  }

  /**
   * close(): tcp_close(). Unread received data aborts with RST (RFC 2525 §2.17); otherwise a FIN
   * is sent and the kernel finishes the close on its own (the socket is orphaned).
   */
  close(): void {
    if (this.orphan) return;
    this.orphan = true;
    const s = this.state;
    if (s === TcpState.LISTEN) {
      this.stack.unlisten(this);
      for (const c of this.acceptQueue) c.close();
      this.destroy('close() of listener');
      return;
    }
    if (s === TcpState.SYN_SENT || s === TcpState.CLOSE) {
      this.destroy('close()');
      return;
    }
    if (this.recvQueued > 0) {
      this.stack.event(`socket ${this.describe()}: close() with ${this.recvQueued} unread bytes: RST`);
      this.sendSegment({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: [] });
      this.destroy('close() with unread data');
      return;
    }
    this.shutRd = true;
    if (s === TcpState.FIN_WAIT2) {
      this.enterOrphanFinWait2();
      return;
    }
    if (s === TcpState.TIME_WAIT) return;
    this.shutdown('wr');
  }

  /** getsockopt(SO_ORIGINAL_DST): asks the host's conntrack (ENOENT when the entry is gone). */
  originalDst(): { addr: number; port: number } | null {
    return this.stack.originalDst(this);
  }

  // ---------------------------------------------------------------- output

  private tsOpt(): { val: number; ecr: number } | null {
    return this.tsOn ? { val: this.tsVal(), ecr: this.tsRecent } : null;
  }

  private tsVal(): number {
    return (Math.floor(this.now / MS) + this.tsOffset) >>> 0;
  }

  private advertisedWindow(): number {
    return this.stack.windowFor(this.remoteAddr) >>> this.rcvWscale;
  }

  /** rcv_nxt carried by the last segment we sent with ACK (a later pure ACK would duplicate it). */
  private ackedUpTo = -1;

  sendSegment(s: Omit<SegmentOut, 'src' | 'dst' | 'sport' | 'dport'>): void {
    if (s.flags & TcpFlag.ACK) this.ackedUpTo = s.ack >>> 0;
    this.ipId = (this.ipId + 1) & 0xffff;
    this.stack.transmit(this, { src: this.localAddr, dst: this.remoteAddr, sport: this.localPort, dport: this.remotePort, ...s }, this.ipId);
  }

  private sendSyn(): void {
    const ts = this.stack.sysctls.tcp_timestamps ? { val: this.tsVal(), ecr: 0 } : null;
    this.sendSegment({
      seq: this.iss, ack: 0, flags: TcpFlag.SYN, window: this.stack.synWindowFor(this.remoteAddr),
      options: synOptions(this.mss, this.stack.sysctls.tcp_sack === 1, ts, this.stack.sysctls.tcp_window_scaling ? OUR_WSCALE : null),
    });
  }

  sendSynAck(): void {
    const ts = this.tsOn ? { val: this.tsVal(), ecr: this.tsRecent } : null;
    this.sendSegment({
      seq: this.iss, ack: this.rcvNxt, flags: TcpFlag.SYN | TcpFlag.ACK, window: this.stack.synAckWindowFor(this.remoteAddr),
      options: synOptions(this.mss, this.sackOn, ts, this.rcvWscale || this.sndWscale ? OUR_WSCALE : null),
    });
  }

  private delackTimer: Timer | null = null;

  /** tcp_send_delayed_ack(): ACK after the delayed-ACK timeout if nothing else carried it. */
  private scheduleDelayedAck(): void {
    this.delackTimer?.cancel();
    this.delackTimer = this.stack.sched.after(DELACK_MIN_NS, () => {
      this.delackTimer = null;
      if (this.state !== TcpState.CLOSE && this.ackedUpTo !== this.rcvNxt) this.sendAck();
    });
  }

  /** tcp_send_ack(): a pure ACK with our current seq/ack. */
  sendAck(): void {
    this.sendSegment({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
  }

  /** Sends queued data (MSS-sized, PSH on the last) and the FIN when shut down and drained. */
  private pushData(): void {
    while (this.sendQueue.length > 0) {
      const chunk = this.sendQueue[0];
      const n = Math.min(chunk.length, this.mss);
      const data = chunk.subarray(0, n);
      if (n === chunk.length) this.sendQueue.shift();
      else this.sendQueue[0] = chunk.subarray(n);
      this.sendQueued -= n;
      const last = this.sendQueue.length === 0;
      this.unacked.push({ seq: this.sndNxt, data });
      if (!this.rttProbe) this.rttProbe = { seq: add(this.sndNxt, n), at: this.now };
      this.sendSegment({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.ACK | (last ? TcpFlag.PSH : 0), window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: data });
      this.sndNxt = add(this.sndNxt, n);
    }
    if (this.shutWr && this.finSeq < 0) {
      this.finSeq = this.sndNxt;
      this.sendSegment({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.FIN | TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
      this.sndNxt = add(this.sndNxt, 1);
      if (this.state === TcpState.ESTABLISHED) this.setState(TcpState.FIN_WAIT1, this.orphan ? 'close()' : 'shutdown(SHUT_WR)');
      else if (this.state === TcpState.CLOSE_WAIT) this.setState(TcpState.LAST_ACK, this.orphan ? 'close()' : 'shutdown(SHUT_WR)');
    }
    if (this.sndNxt !== this.sndUna && !this.rtxTimer?.active) {
      this.retransmits = 0;
      this.armRtx(this.rto);
    }
  }

  // ---------------------------------------------------------------- timers

  /** For the stack: a new request socket starts its SYN-ACK retransmission timer. */
  armRtxPublic(): void {
    this.rto = TCP_TIMEOUT_INIT;
    this.armRtx(this.rto);
  }

  private armRtx(delay: number): void {
    this.rtxTimer?.cancel();
    this.rtxTimer = this.stack.sched.after(delay, () => this.onRtxTimer());
  }

  private onRtxTimer(): void {
    this.rtxTimer = null;
    const sys = this.stack.sysctls;
    if (this.state === TcpState.SYN_SENT) {
      // tcp_write_timeout(): SYN retries are counted, with v6.5's linear timeouts added.
      const max = sys.tcp_syn_retries + sys.tcp_syn_linear_timeouts;
      if (this.retransmits >= max) {
        this.fail('ETIMEDOUT', `connect() timed out after ${this.retransmits} SYN retransmissions`);
        return;
      }
      this.retransmits++;
      this.stack.event(`socket ${this.describe()}: SYN retransmission ${this.retransmits}`);
      this.sendSyn();
      // tcp_retransmit_timer(): back off, except the first tcp_syn_linear_timeouts ones (v6.5+).
      this.rto = this.retransmits <= sys.tcp_syn_linear_timeouts ? TCP_TIMEOUT_INIT : Math.min(this.rto * 2, TCP_RTO_MAX);
      this.armRtx(this.rto);
      return;
    }
    if (this.state === TcpState.SYN_RECV) {
      if (this.retransmits >= sys.tcp_synack_retries) {
        this.stack.event(`socket ${this.describe()}: SYN-ACK retries exhausted, request dropped`);
        this.destroy('request timeout');
        return;
      }
      this.retransmits++;
      this.sendSynAck();
      this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
      this.armRtx(this.rto);
      return;
    }
    if (this.sndUna === this.sndNxt) return;
    const limit = this.orphan ? (sys.tcp_orphan_retries || 8) : sys.tcp_retries2;
    if (this.retransmits >= limit) {
      this.fail('ETIMEDOUT', `retransmissions exhausted (${this.retransmits})`);
      return;
    }
    this.retransmits++;
    this.rttProbe = null; // Karn's algorithm
    const first = this.unacked[0];
    if (first) {
      this.sendSegment({ seq: first.seq, ack: this.rcvNxt, flags: TcpFlag.ACK | TcpFlag.PSH, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: first.data });
    } else if (this.finSeq >= 0) {
      this.sendSegment({ seq: this.finSeq, ack: this.rcvNxt, flags: TcpFlag.FIN | TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
    }
    this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
    this.armRtx(this.rto);
  }

  private updateRtt(sample: number): void {
    // RFC 6298 with Linux's 200 ms floor (TCP_RTO_MIN).
    if (this.srtt < 0) {
      this.srtt = sample;
      this.rttvar = sample / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
      this.srtt = 0.875 * this.srtt + 0.125 * sample;
    }
    this.rto = Math.min(TCP_RTO_MAX, Math.max(TCP_RTO_MIN, Math.round(this.srtt + Math.max(4 * this.rttvar, MS))));
  }

  private enterTimeWait(fromSubstate: number = TcpState.TIME_WAIT): void {
    this.rtxTimer?.cancel();
    this.twSubstate = fromSubstate;
    this.setState(TcpState.TIME_WAIT);
    this.slowTimer?.cancel();
    this.slowTimer = this.stack.sched.after(TCP_TIMEWAIT_LEN, () => this.destroy('TIME_WAIT expired'));
  }

  /** An orphaned FIN_WAIT2 lives tcp_fin_timeout seconds (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)). */
  private enterOrphanFinWait2(): void {
    this.slowTimer?.cancel();
    this.stack.event(`socket ${this.describe()}: orphaned in FIN_WAIT2, tcp_fin_timeout ${this.stack.sysctls.tcp_fin_timeout} s`);
    this.slowTimer = this.stack.sched.after(this.stack.sysctls.tcp_fin_timeout * SEC, () => this.destroy('tcp_fin_timeout expired'));
  }

  /** Timer description for `ss -o`. */
  timerInfo(): string {
    const t = this.rtxTimer?.active ? this.rtxTimer : this.slowTimer?.active ? this.slowTimer : null;
    if (!t) return '';
    const left = Math.max(0, t.at - this.now);
    const kind = this.state === TcpState.TIME_WAIT ? 'timewait' : t === this.rtxTimer ? 'on' : this.state === TcpState.FIN_WAIT2 ? 'timewait' : 'on';
    const human = left >= 1e9 ? `${Math.round(left / 1e9)}sec` : `${Math.round(left / 1e6)}ms`;
    return `timer:(${kind},${human},${t === this.rtxTimer ? this.retransmits : 0})`;
  }

  hasTimer(): boolean {
    return !!(this.rtxTimer?.active || this.slowTimer?.active);
  }

  // ---------------------------------------------------------------- teardown

  destroy(why: string): void {
    this.delackTimer?.cancel();
    this.rtxTimer?.cancel();
    this.slowTimer?.cancel();
    if (this.state !== TcpState.CLOSE) this.setState(TcpState.CLOSE, why);
    this.stack.forget(this);
    this.onClosed?.();
  }

  /** tcp_reset() / timeouts: the connection dies with an error the application sees. */
  private fail(err: SocketError, why: string): void {
    this.pendingError = err;
    this.stack.event(`socket ${this.describe()}: ${err} (${why})`);
    const cb = this.onError;
    this.destroy(why);
    if (!this.orphan) cb?.(err);
  }

  // ---------------------------------------------------------------- input

  /** Entry point for a segment demultiplexed to this socket. */
  receive(seg: SegIn): void {
    switch (this.state) {
      case TcpState.LISTEN: return this.stack.listenReceive(this, seg);
      case TcpState.SYN_SENT: return this.synSentReceive(seg);
      case TcpState.SYN_RECV: return this.synRecvReceive(seg);
      case TcpState.TIME_WAIT: return this.timeWaitReceive(seg);
      default:
        if (this.state === TcpState.FIN_WAIT2 && this.orphan) return this.orphanFinWait2Receive(seg);
        return this.synchronizedReceive(seg);
    }
  }

  /** tcp_rcv_synsent_state_process() */
  private synSentReceive(seg: SegIn): void {
    const f = seg.flags;
    if (f & TcpFlag.ACK) {
      if (!after(seg.ack, this.iss) || after(seg.ack, this.sndNxt)) {
        // Unacceptable ACK (RFC 9293 §3.10.7.3): with RST drop it; else answer with a reset.
        if (f & TcpFlag.RST) return;
        // v5.6+ "Reduce SYN resend delay if a suspicous ACK is received": the first time, resend
        // the SYN after TCP_TIMEOUT_MIN (2 jiffies) instead of waiting the full RTO.
        if (this.stack.profile.earlySynResend && this.retransmits === 0) {
          this.armRtx(Math.round((2 * 1000) / this.stack.sysctls.hz) * MS);
        }
        this.stack.event(`socket ${this.describe()}: unacceptable ACK ${seg.ack} in SYN_SENT (expected ${add(this.iss, 1)}): reset`);
        this.stack.sendReset(seg);
        return;
      }
      if (f & TcpFlag.RST) {
        this.fail('ECONNREFUSED', 'RST answering our SYN');
        return;
      }
      if (!(f & TcpFlag.SYN)) return;
      this.adoptPeerOptions(seg);
      this.irs = seg.seq;
      this.rcvNxt = add(seg.seq, 1);
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      this.rtxTimer?.cancel();
      this.rtxTimer = null;
      if (this.retransmits === 0) this.updateRtt(Math.max(1, this.now - (this.lastSynAt ?? this.now)));
      else this.rto = TCP_TIMEOUT_INIT;
      this.retransmits = 0;
      this.setState(TcpState.ESTABLISHED, 'SYN-ACK');
      this.sendAck();
      this.onConnect?.();
      if (this.sendQueue.length || this.shutWr) this.pushData();
      return;
    }
    if (f & TcpFlag.RST) return;
    if (f & TcpFlag.SYN) {
      // Simultaneous open (RFC 9293 §3.5).
      this.adoptPeerOptions(seg);
      this.irs = seg.seq;
      this.rcvNxt = add(seg.seq, 1);
      this.setState(TcpState.SYN_RECV, 'simultaneous open');
      this.sendSynAck();
    }
  }

  lastSynAt: number | null = null;

  adoptPeerOptions(seg: SegIn): void {
    const sys = this.stack.sysctls;
    this.tsOn = sys.tcp_timestamps === 1 && seg.hasTs;
    if (this.tsOn) this.tsRecent = seg.tsval;
    this.sackOn = sys.tcp_sack === 1 && seg.sackOk;
    if (sys.tcp_window_scaling && seg.wscale >= 0) {
      this.sndWscale = Math.min(seg.wscale, 14);
      this.rcvWscale = OUR_WSCALE;
    } else {
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    if (seg.mss > 0) this.mss = Math.min(this.mss, seg.mss - (this.tsOn ? 12 : 0));
  }

  /** A request socket / child in SYN_RECV. */
  private synRecvReceive(seg: SegIn): void {
    const f = seg.flags;
    if (f & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) this.destroy('RST in SYN_RECV');
      return;
    }
    if (f & TcpFlag.SYN && !(f & TcpFlag.ACK)) {
      if (seg.seq === this.irs) this.sendSynAck(); // retransmitted SYN: answer again
      return;
    }
    if (f & TcpFlag.ACK) {
      if (seg.ack !== this.sndNxt) {
        this.stack.sendReset(seg);
        return;
      }
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      if (this.tsOn && seg.hasTs) this.tsRecent = seg.tsval;
      this.rtxTimer?.cancel();
      this.rtxTimer = null;
      this.retransmits = 0;
      this.rto = TCP_TIMEOUT_INIT;
      this.setState(TcpState.ESTABLISHED, 'handshake complete');
      const parent = this.parent;
      if (parent && parent.state === TcpState.LISTEN) {
        parent.acceptQueue.push(this);
        parent.onAccept?.(this);
      }
      if (seg.len > 0 || f & TcpFlag.FIN) this.synchronizedReceive(seg);
    }
  }

  /** tcp_send_challenge_ack(): per-socket limit (tcp_invalid_ratelimit), then the host/netns limit. */
  private challengeAck(why: string): void {
    if (this.oowRateLimited()) {
      this.stack.event(`socket ${this.describe()}: challenge ACK for ${why} suppressed (tcp_invalid_ratelimit)`);
      return;
    }
    if (!this.stack.challengeAckBudget()) {
      this.stack.event(`socket ${this.describe()}: challenge ACK for ${why} suppressed (tcp_challenge_ack_limit)`);
      return;
    }
    this.stack.event(`socket ${this.describe()} (${tcpStateName(this.state)}): RFC 5961 challenge ACK for ${why}`);
    this.sendAck();
  }

  /** __tcp_oow_rate_limited(): at most one out-of-window/challenge ACK per tcp_invalid_ratelimit. */
  private oowRateLimited(): boolean {
    const limit = this.stack.sysctls.tcp_invalid_ratelimit * MS;
    if (this.lastOowAck >= 0) {
      const elapsed = this.now - this.lastOowAck;
      if (elapsed >= 0 && elapsed < limit) return true;
    }
    this.lastOowAck = this.now;
    return false;
  }

  private receiveWindow(): number {
    return this.stack.windowFor(this.remoteAddr);
  }

  /** tcp_validate_incoming() then the synchronised part of tcp_rcv_state_process(). */
  private synchronizedReceive(seg: SegIn): void {
    const f = seg.flags;
    const endSeq = add(seg.seq, seg.len + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0));
    // tcp_sequence(): the segment must overlap [rcv_nxt, rcv_nxt + window].
    const inWindow = !before(endSeq, this.rcvNxt) && !after(seg.seq, add(this.rcvNxt, this.receiveWindow()));
    if (!inWindow) {
      if (f & TcpFlag.RST) return; // out-of-window RST: silently dropped
      if (f & TcpFlag.SYN) return this.challengeAck('an out-of-window SYN');
      // tcp_send_dupack, rate limited unless it carries data
      if (seg.len > 0 || !this.oowRateLimited()) this.sendAck();
      return;
    }
    if (f & TcpFlag.RST) {
      // RFC 5961 §3.2: reset only on an exact match; otherwise a challenge ACK. tcp_reset_check()
      // also accepts rcv_nxt - 1 once the peer's FIN was consumed.
      const closingPeer = this.state === TcpState.CLOSE_WAIT || this.state === TcpState.LAST_ACK || this.state === TcpState.CLOSING;
      if (seg.seq === this.rcvNxt || (closingPeer && seg.seq === ((this.rcvNxt - 1) >>> 0))) {
        this.fail(this.state === TcpState.CLOSE_WAIT ? 'EPIPE' : 'ECONNRESET', 'RST received');
      } else {
        this.challengeAck('an in-window RST');
      }
      return;
    }
    if (f & TcpFlag.SYN) return this.challengeAck('a SYN'); // RFC 5961 §4.2
    if (!(f & TcpFlag.ACK)) return;
    if (this.tsOn && seg.hasTs && !before(seg.tsval, this.tsRecent)) this.tsRecent = seg.tsval;

    // ACK processing (tcp_ack)
    if (after(seg.ack, this.sndNxt)) {
      this.sendAck(); // ACK of something we never sent
      return;
    }
    if (after(seg.ack, this.sndUna)) this.onAcked(seg.ack);
    this.sndWnd = seg.window << this.sndWscale;

    // Data
    if (seg.len > 0) {
      if (seg.seq !== this.rcvNxt) {
        this.sendAck(); // out of order or partly old: duplicate ACK
        return;
      }
      if (this.orphan || this.shutRd && (this.state === TcpState.FIN_WAIT1 || this.state === TcpState.FIN_WAIT2)) {
        // tcp_rcv_state_process: data after the application shut down reading: abort (TCPAbortOnData)
        this.rcvNxt = add(this.rcvNxt, seg.len);
        this.sendSegment({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: [] });
        this.fail('ECONNRESET', 'data received after close');
        return;
      }
      this.rcvNxt = add(this.rcvNxt, seg.len);
      // Quickack mode: tcp_ack_snd_check() ACKs in softirq, before the application can read and
      // answer, so an answer comes after (not instead of) this ACK. A FIN in the same segment is
      // ACKed with it below.
      if (this.onData && !(f & TcpFlag.FIN)) this.sendAck();
      // An onData handler reads the data as it arrives; without one it waits in the receive queue
      // (and a close() with unread data aborts with RST, as Linux does).
      if (this.onData) this.onData(seg.payload.slice());
      else {
        this.recvBuffer.push(seg.payload.slice());
        this.recvQueued += seg.len;
      }
    }
    if (f & TcpFlag.FIN && add(seg.seq, seg.len) === this.rcvNxt) {
      this.rcvNxt = add(this.rcvNxt, 1);
      if (this.state === TcpState.ESTABLISHED) {
        // tcp_fin(): ESTABLISHED -> CLOSE_WAIT enters pingpong mode, so the FIN's ACK is delayed
        // (TCP_ATO_MIN = HZ/25 = 40 ms) unless something we send first carries it (e.g. our FIN).
        this.scheduleDelayedAck();
      } else {
        this.sendAck(); // FIN_WAIT1/FIN_WAIT2: tcp_fin() sends the ACK at once
      }
      this.onPeerFin();
      return;
    }
    // tcp_ack_snd_check(): data that an answer already acknowledged needs no separate ACK.
    if (seg.len > 0 && this.ackedUpTo !== this.rcvNxt) this.sendAck();
  }

  private onAcked(ack: number): void {
    if (this.rttProbe && !before(ack, this.rttProbe.seq)) {
      this.updateRtt(Math.max(1, this.now - this.rttProbe.at));
      this.rttProbe = null;
    }
    this.sndUna = ack;
    while (this.unacked.length && !after(add(this.unacked[0].seq, this.unacked[0].data.length), ack)) this.unacked.shift();
    this.retransmits = 0;
    if (this.sndUna === this.sndNxt) {
      this.rtxTimer?.cancel();
      this.rtxTimer = null;
    } else {
      this.armRtx(this.rto);
    }
    const finAcked = this.finSeq >= 0 && !before(ack, add(this.finSeq, 1));
    if (!finAcked) return;
    if (this.state === TcpState.FIN_WAIT1) {
      // FIN_WAIT2 has no timer while the application still holds the socket (half-close).
      this.setState(TcpState.FIN_WAIT2, 'our FIN acknowledged');
      if (this.orphan) this.enterOrphanFinWait2();
    } else if (this.state === TcpState.CLOSING) {
      this.enterTimeWait();
    } else if (this.state === TcpState.LAST_ACK) {
      this.destroy('last ACK');
    }
  }

  private onPeerFin(): void {
    switch (this.state) {
      case TcpState.ESTABLISHED:
        this.setState(TcpState.CLOSE_WAIT, 'FIN received');
        break;
      case TcpState.FIN_WAIT1:
        if (this.sndUna === this.sndNxt) this.enterTimeWait();
        else this.setState(TcpState.CLOSING, 'simultaneous close');
        break;
      case TcpState.FIN_WAIT2:
        this.enterTimeWait();
        break;
      default:
        return;
    }
    if (!this.orphan) this.onEof?.();
  }

  /** tcp_timewait_state_process(), substate TIME_WAIT. */
  private timeWaitReceive(seg: SegIn): void {
    const f = seg.flags;
    const inWindow = seg.seq === this.rcvNxt || (seg.len === 0 && !(f & TcpFlag.SYN) && seg.seq === this.rcvNxt);
    if (f & TcpFlag.RST) {
      if (inWindow) this.destroy('RST in TIME_WAIT'); // net.ipv4.tcp_rfc1337=0
      return;
    }
    if (f & TcpFlag.SYN && !(f & TcpFlag.ACK) && after(seg.seq, this.rcvNxt)) {
      // TW_SYN: a new connection may reuse the tuple; its ISN continues past ours.
      const isn = add(this.sndNxt, 65535 + 2);
      this.destroy('TIME_WAIT recycled by a new SYN');
      this.stack.synToListener(seg, isn);
      return;
    }
    if (f & TcpFlag.ACK && inWindow && seg.len === 0 && !(f & TcpFlag.FIN)) {
      this.enterTimeWait(this.twSubstate); // re-arm
      return;
    }
    if (!this.oowRateLimited()) this.sendAck();
  }

  /** tcp_timewait_state_process(), substate FIN_WAIT2 (an orphaned FIN_WAIT2 socket). */
  private orphanFinWait2Receive(seg: SegIn): void {
    const f = seg.flags;
    if (f & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) this.destroy('RST in orphaned FIN_WAIT2');
      return;
    }
    if (f & TcpFlag.SYN && !before(seg.seq, this.rcvNxt)) {
      this.stack.event(`socket ${this.describe()} (orphaned FIN_WAIT2): SYN answered with RST (TW_RST)`);
      this.stack.sendReset(seg);
      return;
    }
    if (f & TcpFlag.FIN && seg.seq === this.rcvNxt && seg.len === 0) {
      this.rcvNxt = add(this.rcvNxt, 1);
      this.sendAck();
      this.enterTimeWait(TcpState.FIN_WAIT2);
      return;
    }
    if (seg.len > 0 && after(add(seg.seq, seg.len), this.rcvNxt)) {
      this.stack.sendReset(seg);
      this.destroy('data to an orphaned FIN_WAIT2 socket');
      return;
    }
    if (!this.oowRateLimited()) this.sendAck();
  }

  isSynchronized(): boolean {
    return isSynchronized(this.state);
  }
}
