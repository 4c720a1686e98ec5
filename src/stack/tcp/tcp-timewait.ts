// The TIME_WAIT minisocket (inet_timewait_sock, net/ipv4/tcp_minisocks.c). When a connection
// enters TIME_WAIT, or an orphaned socket waits in FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2,
// tmo)), the full socket hands its 4-tuple to this small object, which keeps only what
// tcp_timewait_state_process() needs and holds the tuple until its timer fires. Its answers to a
// segment follow enum tcp_tw_status: the caller (tcp_v4_rcv) sends resets and passes a SYN that
// may reuse the tuple on to the listener. Not modelled: PAWS; Linux sends TW_ACK answers from the
// per-netns control socket (IP ID 0, no socket owner), ctsim with the connection's IP ID counter
// and owner as the full socket did (the committed captures depend on it).
import type { Timer } from '../scheduler.js';
import { TcpFlag, seqAdd, seqAfter, seqLt } from '../../wire/index.js';
import { TcpEndpoint, type TcpEndpointPort } from './tcp-endpoint.js';
import { Cause, type StateCause } from './tcp-events.js';
import { segEndSeq, type SegIn } from './tcp-segment-in.js';
import { TcpState } from './tcp-state.js';

/** TCP_TIMEWAIT_LEN in seconds (60 * HZ jiffies). */
export const TCP_TIMEWAIT_LEN = 60;

export interface TimeWaitPort extends TcpEndpointPort {
  /** inet_twsk_kill(): the minisocket is gone; its tuple and port are free. */
  releaseTimeWait(tw: TimeWaitSock): void;
}

/** The application's view of a connection that went to TIME_WAIT (its fd, if still open). */
export interface TimeWaitOwner {
  timeWaitStateChanged(from: number, to: number): void;
}

/**
 * What tcp_v4_rcv() must do once the minisocket has processed a segment: nothing more (TW_SUCCESS,
 * or TW_ACK already sent), send a reset and kill it (TW_RST), or kill it and give the SYN to the
 * listener with this ISN (TW_SYN).
 */
export type TwStatus =
  | { readonly action: 'done' }
  | { readonly action: 'reset'; readonly kill: StateCause }
  | { readonly action: 'syn'; readonly isn: number };

const DONE: TwStatus = { action: 'done' };
const RESET_SYN: TwStatus = { action: 'reset', kill: Cause['syn-orphan-fin-wait2'] };
const RESET_DATA: TwStatus = { action: 'reset', kill: Cause['data-orphan-fin-wait2'] };

/** tcp_in_window(): does [seq, end) touch the window [s, e]? */
function tcpInWindow(seq: number, end: number, s: number, e: number): boolean {
  if (seq === s) return true;
  if (seqAfter(end, s) && seqLt(seq, e)) return true;
  return seq === e && seq === end;
}

/** The fields tcp_time_wait() copies from the full socket. */
export interface TimeWaitInit {
  id: number;
  uid: number;
  gid: number;
  ipId: number;
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  reuseAddr: boolean;
  reusePort: boolean;
  boundByBind: boolean;
  orphan: boolean;
  rcvNxt: number;
  sndNxt: number;
  rcvWscale: number;
  tsOn: boolean;
  tsRecent: number;
  tsRecentStamp: number;
  tsRecentStampMs: number;
  tsOffset: number;
  lastOowAck: number;
}

export class TimeWaitSock extends TcpEndpoint {
  /** tw_substate: FIN_WAIT2 (orphaned, waiting for the peer's FIN) or TIME_WAIT; CLOSE once gone. */
  state: number;
  readonly recvQueued = 0;
  owner: TimeWaitOwner | null = null;
  private timer: Timer | null = null;

  /** Starts in `substate` with its timer at `timeoutJiffies` (TCP_TIMEWAIT_LEN, or tcp_fin_time() for FIN_WAIT2). */
  constructor(override readonly port: TimeWaitPort, init: TimeWaitInit, substate: number, timeoutJiffies: number) {
    super(port, init.uid, init.gid, init.id, init.ipId);
    this.localAddr = init.localAddr;
    this.localPort = init.localPort;
    this.remoteAddr = init.remoteAddr;
    this.remotePort = init.remotePort;
    this.reuseAddr = init.reuseAddr;
    this.reusePort = init.reusePort;
    this.boundByBind = init.boundByBind;
    this.orphan = init.orphan;
    this.rcvNxt = init.rcvNxt;
    this.sndNxt = init.sndNxt;
    this.rcvWscale = init.rcvWscale;
    this.tsOn = init.tsOn;
    this.tsRecent = init.tsRecent;
    this.tsRecentStamp = init.tsRecentStamp;
    this.tsRecentStampMs = init.tsRecentStampMs;
    this.tsOffset = init.tsOffset;
    this.lastOowAck = init.lastOowAck;
    this.state = substate;
    this.schedule(timeoutJiffies);
  }

  /** inet_twsk_reschedule(): the timer that ends the minisocket, on the timer wheel (60 s fires up to 2 s late at HZ=250). */
  private schedule(timeoutJiffies: number): void {
    this.timer?.cancel();
    const cause = this.state === TcpState.TIME_WAIT ? Cause['tw-expired'] : Cause['fin-timeout'];
    this.timer = this.port.clock.armTimer(timeoutJiffies, () => this.kill(cause));
  }

  private get timeWaitLen(): number {
    return TCP_TIMEWAIT_LEN * this.port.clock.hz;
  }

  /** tcp_timewait_state_process() */
  receive(seg: SegIn): TwStatus {
    return this.state === TcpState.FIN_WAIT2 ? this.finWait2Receive(seg) : this.timeWaitReceive(seg);
  }

  /**
   * Substate TIME_WAIT. A bare segment at rcv_nxt re-arms the timer, an RST there kills the
   * minisocket (TIME_WAIT assassination, net.ipv4.tcp_rfc1337=0), a SYN after rcv_nxt may reuse
   * the tuple (TW_SYN); anything else is answered with a rate-limited ACK (TW_ACK). No PAWS.
   */
  private timeWaitReceive(seg: SegIn): TwStatus {
    const f = seg.flags;
    const endSeq = segEndSeq(seg);
    if (seg.seq === this.rcvNxt && (endSeq === seg.seq || f & TcpFlag.RST)) {
      if (f & TcpFlag.RST) {
        this.kill(Cause['rst-time-wait']);
        return DONE;
      }
      this.schedule(this.timeWaitLen);
      if (this.tsOn && seg.hasTs) this.storeTsRecent(seg.tsval);
      return DONE;
    }
    if (f & TcpFlag.SYN && !(f & (TcpFlag.RST | TcpFlag.ACK)) && seqAfter(seg.seq, this.rcvNxt)) {
      // A new connection's ISN continues past ours (RFC 1122 4.2.2.13); 0 is skipped.
      return { action: 'syn', isn: seqAdd(this.sndNxt, 65535 + 2) || 1 };
    }
    if (!(f & TcpFlag.RST)) {
      if (f & TcpFlag.ACK) this.schedule(this.timeWaitLen);
      this.oowAck(seg);
    }
    return DONE;
  }

  /**
   * Substate FIN_WAIT2 (an orphaned socket waiting for the peer's FIN): "just repeat all the
   * checks of tcp_rcv_state_process()". Out of window: ACK; RST: gone; a SYN or new data: reset
   * (TW_RST); the FIN: true TIME_WAIT.
   */
  private finWait2Receive(seg: SegIn): TwStatus {
    const f = seg.flags;
    const endSeq = segEndSeq(seg);
    if (!tcpInWindow(seg.seq, endSeq, this.rcvNxt, seqAdd(this.rcvNxt, this.port.route(this.remoteAddr).window))) {
      this.oowAck(seg);
      return DONE;
    }
    if (f & TcpFlag.RST) {
      this.kill(Cause['rst-orphan-fin-wait2']);
      return DONE;
    }
    if (f & TcpFlag.SYN && !seqLt(seg.seq, this.rcvNxt)) return RESET_SYN;
    if (!(f & TcpFlag.ACK) || !seqAfter(endSeq, this.rcvNxt) || endSeq === seg.seq) return DONE; // duplicate
    if (!(f & TcpFlag.FIN) || endSeq !== seqAdd(this.rcvNxt, 1)) return RESET_DATA;
    this.rcvNxt = endSeq;
    if (this.tsOn && seg.hasTs) this.storeTsRecent(seg.tsval);
    this.sendAck();
    this.setState(TcpState.TIME_WAIT, Cause['time-wait']);
    this.schedule(this.timeWaitLen);
    return DONE;
  }

  /** tcp_timewait_check_oow_rate_limit(): segments with data (and no SYN) are always answered. */
  private oowAck(seg: SegIn): void {
    const carriesData = segEndSeq(seg) !== seg.seq && !(seg.flags & TcpFlag.SYN);
    if (carriesData || !this.oowRateLimited()) this.sendAck();
  }

  private setState(to: number, cause: StateCause): void {
    const from = this.state;
    this.state = to;
    this.port.event({ type: 'state', sock: this.ref(), from, to, cause });
    this.owner?.timeWaitStateChanged(from, to);
  }

  /** inet_twsk_deschedule_put(): the minisocket dies and frees its tuple. */
  kill(cause: StateCause): void {
    if (this.state === TcpState.CLOSE) return;
    this.timer?.cancel();
    this.timer = null;
    const from = this.state;
    this.state = TcpState.CLOSE;
    this.port.event({ type: 'state', sock: this.ref(), from, to: TcpState.CLOSE, cause });
    this.port.releaseTimeWait(this);
    this.owner?.timeWaitStateChanged(from, TcpState.CLOSE);
  }

  timerInfo(): string {
    const t = this.timer?.active ? this.timer : null;
    if (!t) return '';
    const left = Math.max(0, t.at - this.now);
    const human = left >= 1e9 ? `${Math.round(left / 1e9)}sec` : `${Math.round(left / 1e6)}ms`;
    return `timer:(timewait,${human},0)`;
  }

  hasTimer(): boolean {
    return !!this.timer?.active;
  }
}
