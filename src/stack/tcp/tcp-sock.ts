// The full TCP socket's control block (struct tcp_sock): state, sequence space, negotiated
// options, retransmission variables, buffers, the application's callbacks, and the port through
// which it reaches its TCP layer (TcpSocketPort; the stack implements it, the socket never sees
// the stack). Behaviour is layered on top the way Linux splits it: tcp-output.ts (sending and
// timers), tcp-input.ts (segment processing), tcp-socket.ts (the socket calls). Once the
// connection enters TIME_WAIT a TimeWaitSock takes over its tuple; this object stays the
// application's handle and reports the minisocket's state.
import type { Timer } from '../scheduler.js';
import type { ChallengeAckBudget } from './tcp-challenge-ack.js';
import { TcpEndpoint, type SegmentFields } from './tcp-endpoint.js';
import type { CallResult, SocketError, StateCause } from './tcp-events.js';
import type { SegIn } from './tcp-segment-in.js';
import { RttEstimator, tcpTimeouts } from './tcp-rtt.js';
import { TcpFlag } from '../../wire/index.js';
import { TcpState } from './tcp-state.js';
import type { TimeWaitOwner, TimeWaitPort, TimeWaitSock } from './tcp-timewait.js';

/** What the caller does after a socket processed a segment (tcp_rcv_state_process's return): 'reset' = send one for it from the control socket. */
export type RcvStatus = 'done' | 'reset';

/** One skb of the retransmission queue: its sequence space, what it carries, when it was last sent and whether an RTO retransmitted it (TCPCB_RETRANS, Karn). */
export interface RtxSegment {
  seq: number;
  /** end_seq: seq + payload + SYN + FIN. */
  end: number;
  flags: number;
  data: Uint8Array;
  sentAt: number;
  retrans: boolean;
}
/** TCP_MAX_QUICKACKS: the most quick ACKs tcp_incr_quickack() grants. */
export const TCP_MAX_QUICKACKS = 16;
/** The window scale Linux announces with default rmem. */
export const OUR_WSCALE = 7;

/** connect()'s port step: the call's result, and the ISN a TIME_WAIT minisocket handed over (tcp_twsk_unique), if any. */
export interface ConnectOutcome {
  result: CallResult;
  writeSeq: number | null;
}

/** What a full socket needs from its TCP layer beyond what a TIME_WAIT minisocket needs. */
export interface TcpSocketPort extends TimeWaitPort {
  /** v5.6+ resends the SYN early after an unacceptable ACK in SYN_SENT (a kernel-profile fact). */
  readonly earlySynResend: boolean;
  /** TCP_PINGPONG_THRESH of this kernel (a kernel-profile fact). */
  readonly pingpongThresh: number;
  /** tcp_cwnd_test() exempts a lone final FIN from the congestion window (before 6.12; a kernel-profile fact). */
  readonly finCwndExempt: boolean;
  /** The netns-wide RFC 5961 budget. */
  readonly challengeAcks: ChallengeAckBudget;
  /** inet_csk_get_port(): bind() conflicts; assigns the local address and port. */
  bind(s: TcpSock, addr: number, port: number): CallResult;
  /** inet_csk_listen_start(): the port again as a listener (auto-bound when unbound), hashed as a listener. */
  listen(s: TcpSock, backlog: number): CallResult;
  /** tcp_v4_connect() up to inet_hash_connect(): source address, port, 4-tuple ownership; the socket is hashed on success. */
  connect(s: TcpSock, addr: number, port: number): ConnectOutcome;
  /** tcp_v4_init_seq() and tcp_v4_init_ts_off(): secure_tcp_seq_and_ts_off() of the 4-tuple at this moment. */
  initSeq(saddr: number, daddr: number, sport: number, dport: number): { seq: number; tsOff: number };
  /** The socket is closed: out of every table. */
  unhash(s: TcpSock): void;
  /** inet_twsk_hashdance(): the minisocket takes the socket's place in the tables. */
  hashTimeWait(s: TcpSock, tw: TimeWaitSock): void;
  /** getsockopt(SO_ORIGINAL_DST): the host's conntrack (null = ENOENT). */
  originalDst(s: TcpSock): { addr: number; port: number } | null;
}

export abstract class TcpSock extends TcpEndpoint implements TimeWaitOwner {
  declare readonly port: TcpSocketPort;
  private ownState: number = TcpState.CLOSE;
  /** The TIME_WAIT minisocket that holds this connection's tuple now, if any. */
  protected successor: TimeWaitSock | null = null;
  shutWr = false;
  shutRd = false;
  // sequence space (unsigned 32-bit)
  iss = 0;
  sndUna = 0;
  irs = 0;
  sndWnd = 0;
  /** seq of our FIN once sent, -1 before. */
  finSeq = -1;
  // negotiated options
  mss = 1460;
  sackOn = false;
  sndWscale = 0;
  // retransmission (icsk_rto, icsk_retransmits, icsk_backoff, tp->retrans_stamp, tlp_high_seq)
  /** The retransmission timeout in jiffies (icsk_rto). */
  rtoJ: number;
  /** RTO expirations since the last forward progress (icsk_retransmits; `ss -o` shows it). */
  retransmits = 0;
  backoff = 0;
  /** RTO retransmissions over the connection's life (tp->total_rto: v6.5's linear SYN timeouts count it). */
  totalRto = 0;
  /** tcp_time_stamp (ms) of the first retransmission's original send, 0 when none (tp->retrans_stamp). */
  retransStamp = 0;
  /** TCP_CA_Loss after an RTO, until everything outstanding is acknowledged (no loss probes then). */
  inLoss = false;
  /** snd_nxt when a tail loss probe went out (tp->tlp_high_seq), null when none is outstanding. */
  tlpHighSeq: number | null = null;
  readonly rtt = new RttEstimator();
  /** What the retransmission timer is armed for (icsk_pending): an RTO or a tail loss probe. */
  protected pending: 'rto' | 'probe' | 'probe0' | null = null;
  /** Zero-window probes sent without an answer (icsk_probes_out). */
  protected probesOut = 0;
  protected rtxTimer: Timer | null = null;
  protected delackTimer: Timer | null = null;
  /** rcv_nxt carried by the last segment we sent with ACK (a later pure ACK would duplicate it). */
  protected ackedUpTo = -1;
  // The delayed-ACK engine (struct inet_connection_sock's icsk_ack): the ACK timeout estimate
  // (ato, jiffies), the quick-ACK budget, the interactive (pingpong) count, when data last
  // arrived and left (jiffies), and the receiver's MSS estimate (tcp_measure_rcv_mss).
  ackAto = 0;
  ackQuick = 0;
  ackPingpong = 0;
  lrcvtime = 0;
  lsndtime = 0;
  rcvMss = 536;
  // buffers
  protected sendQueue: Uint8Array[] = [];
  protected sendQueued = 0;
  /** The retransmission queue (tcp_rtx_queue): sent, not yet acknowledged. packets_out is its length. */
  protected rtxQueue: RtxSegment[] = [];
  readonly recvBuffer: Uint8Array[] = [];
  recvQueued = 0;
  // listener side
  backlog = 0;
  /** The listener whose SYN opened this socket. */
  parent: TcpSock | null = null;
  pendingError: SocketError | null = null;

  // application callbacks
  onConnect?: () => void;
  /** Data as it arrives; setting it means the application reads everything (nothing queues). */
  onData?: (data: Uint8Array) => void;
  onEof?: () => void;
  onError?: (e: SocketError) => void;
  onClosed?: () => void;
  onStateChange?: (from: number, to: number) => void;

  constructor(port: TcpSocketPort, uid: number, gid: number, id: number) {
    super(port, uid, gid, id, port.sched.randomU32() & 0xffff);
    this.rtoJ = tcpTimeouts(port.clock.hz).timeoutInit;
  }

  get state(): number {
    return this.successor ? this.successor.state : this.ownState;
  }

  /** A segment the stack demultiplexed to this socket (tcp_v4_do_rcv); the socket answers. */
  abstract receive(seg: SegIn): RcvStatus;

  /** tcp_set_state() */
  protected setState(s: number, cause: StateCause): void {
    if (s === this.ownState) return;
    const from = this.ownState;
    this.ownState = s;
    this.port.event({ type: 'state', sock: this.ref(), from, to: s, cause });
    this.onStateChange?.(from, s);
  }

  timeWaitStateChanged(from: number, to: number): void {
    this.onStateChange?.(from, to);
    if (to === TcpState.CLOSE) this.onClosed?.();
  }

  /** Sends one segment; remembers what an ACK in it acknowledged (tcp_event_ack_sent). */
  protected override transmit(s: SegmentFields): boolean {
    if (s.flags & TcpFlag.ACK) {
      // tcp_dec_quickack_mode(): an ACK of new data spends one quick ACK; the last one deflates ato.
      if ((s.ack >>> 0) !== this.ackedUpTo && this.ackQuick > 0 && --this.ackQuick === 0) this.ackAto = this.ackTimeouts.delackMin;
      this.ackedUpTo = s.ack >>> 0;
    }
    return super.transmit(s);
  }

  get inPingpongMode(): boolean {
    return this.ackPingpong >= this.port.pingpongThresh;
  }

  /** tcp_in_quickack_mode(): quick ACKs are left and the session is not interactive. */
  get inQuickackMode(): boolean {
    return this.ackQuick > 0 && !this.inPingpongMode;
  }

  /** tcp_incr_quickack(): up to max quick ACKs, half the receive window in rcv_mss segments. */
  protected incrQuickack(max = TCP_MAX_QUICKACKS): void {
    const n = Math.min(Math.floor(this.port.route(this.remoteAddr).window / (2 * this.rcvMss)) || 2, max);
    if (n > this.ackQuick) this.ackQuick = n;
  }

  /** TCP_ATO_MIN and TCP_DELACK_MAX of this kernel's HZ (jiffies). */
  protected get ackTimeouts(): { delackMin: number; delackMax: number } {
    return tcpTimeouts(this.port.clock.hz);
  }

  /** tcp_event_data_recv(): the receiver's MSS estimate, ato from the inter-arrival time, quick ACKs after a gap (all in jiffies). */
  protected eventDataRecv(len: number): void {
    if (len >= this.rcvMss) this.rcvMss = Math.min(len, this.mss);
    const now = this.port.clock.jiffies();
    const { delackMin, delackMax } = this.ackTimeouts;
    if (!this.ackAto) {
      // The first data packet: initialise the delayed-ACK engine.
      this.incrQuickack();
      this.ackAto = delackMin;
    } else {
      const m = now - this.lrcvtime;
      if (m <= delackMin / 2) this.ackAto = Math.floor(this.ackAto / 2) + Math.floor(delackMin / 2);
      else if (m < this.ackAto) this.ackAto = Math.min(Math.floor(this.ackAto / 2) + m, this.rtoJ, delackMax);
      else if (m > this.rtoJ) this.incrQuickack(); // too long a gap: ACK quickly again
    }
    this.lrcvtime = now;
  }

  /** tcp_event_data_sent(): data sent within ato of the last data received makes the session interactive. */
  protected eventDataSent(): void {
    const now = this.port.clock.jiffies();
    // Before v5.19 (threshold 3) only the first data segment of an answer counts.
    const first = this.port.pingpongThresh === 1 || this.lsndtime < this.lrcvtime;
    if (first && now - this.lrcvtime < this.ackAto && this.ackPingpong < 255) this.ackPingpong++;
    this.lsndtime = now;
  }


  /** tcp_done(): the socket is closed and leaves the tables. */
  destroy(cause: StateCause): void {
    this.delackTimer?.cancel();
    this.rtxTimer?.cancel();
    if (this.ownState !== TcpState.CLOSE) this.setState(TcpState.CLOSE, cause);
    this.port.unhash(this);
    this.onClosed?.();
  }

  /** tcp_reset() / timeouts: the connection dies with an error the application sees. */
  protected fail(err: SocketError, cause: StateCause): void {
    this.pendingError = err;
    this.port.event({ type: 'error', sock: this.ref(), error: err, cause });
    const cb = this.onError;
    this.destroy(cause);
    if (!this.orphan) cb?.(err);
  }

  timerInfo(): string {
    const t = this.rtxTimer?.active ? this.rtxTimer : null;
    if (!t) return this.successor?.timerInfo() ?? '';
    const left = Math.max(0, t.at - this.now);
    const human = left >= 1e9 ? `${Math.round(left / 1e9)}sec` : `${Math.round(left / 1e6)}ms`;
    // get_tcp4_sock()/ss: "persist" for the zero-window probe timer, "on" for RTO and loss probe.
    return this.pending === 'probe0' ? `timer:(persist,${human},${this.probesOut})` : `timer:(on,${human},${this.retransmits})`;
  }

  hasTimer(): boolean {
    return !!this.rtxTimer?.active || !!this.successor?.hasTimer();
  }
}
