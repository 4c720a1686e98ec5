// The TIME_WAIT minisocket (inet_timewait_sock, net/ipv4/tcp_minisocks.c). When a connection
// enters TIME_WAIT, or an orphaned socket waits in FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2,
// tmo)), the full socket hands its 4-tuple to this small object, which keeps only what
// tcp_timewait_state_process() needs and holds the tuple until its timer fires. Its answers to a
// segment follow enum tcp_tw_status: the caller (tcp_v4_rcv) sends resets and passes a SYN that
// may reuse the tuple on to the listener.
import type { Timer } from '../scheduler.js';
import { SEC } from '../scheduler.js';
import { TcpFlag, seqAdd, seqAfter, seqLt } from '../../wire/index.js';
import { TcpEndpoint, type TcpEndpointPort } from './tcp-endpoint.js';
import { Cause, type StateCause } from './tcp-events.js';
import type { SegIn } from './tcp-segment-in.js';
import { TcpState } from './tcp-state.js';

/** TCP_TIMEWAIT_LEN */
export const TCP_TIMEWAIT_LEN = 60 * SEC;

export interface TimeWaitPort extends TcpEndpointPort {
  /** inet_twsk_kill(): the minisocket is gone; its tuple and port are free. */
  releaseTimeWait(tw: TimeWaitSock): void;
}

/** The application's view of a connection that went to TIME_WAIT (its fd, if still open). */
export interface TimeWaitOwner {
  timeWaitStateChanged(from: number, to: number): void;
}

/** What tcp_v4_rcv() must do once the minisocket has processed a segment. */
export type TwStatus =
  | { readonly action: 'done' }
  | { readonly action: 'reset'; readonly kill: StateCause | null }
  | { readonly action: 'syn'; readonly isn: number };

const DONE: TwStatus = { action: 'done' };
const RESET: TwStatus = { action: 'reset', kill: null };
const RESET_DATA: TwStatus = { action: 'reset', kill: Cause['data-orphan-fin-wait2'] };

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
  boundByBind: boolean;
  orphan: boolean;
  rcvNxt: number;
  sndNxt: number;
  rcvWscale: number;
  tsOn: boolean;
  tsRecent: number;
  tsOffset: number;
  lastOowAck: number;
}

export class TimeWaitSock extends TcpEndpoint {
  /** tw_substate: FIN_WAIT2 (orphaned, waiting for the peer's FIN) or TIME_WAIT; CLOSE once gone. */
  state: number;
  readonly recvQueued = 0;
  owner: TimeWaitOwner | null = null;
  private timer: Timer | null = null;

  /** Starts in `substate` with its timer at `timeoutNs` (TCP_TIMEWAIT_LEN, or tcp_fin_timeout for FIN_WAIT2). */
  constructor(override readonly port: TimeWaitPort, init: TimeWaitInit, substate: number, timeoutNs: number) {
    super(port, init.uid, init.gid, init.id, init.ipId);
    this.localAddr = init.localAddr;
    this.localPort = init.localPort;
    this.remoteAddr = init.remoteAddr;
    this.remotePort = init.remotePort;
    this.reuseAddr = init.reuseAddr;
    this.boundByBind = init.boundByBind;
    this.orphan = init.orphan;
    this.rcvNxt = init.rcvNxt;
    this.sndNxt = init.sndNxt;
    this.rcvWscale = init.rcvWscale;
    this.tsOn = init.tsOn;
    this.tsRecent = init.tsRecent;
    this.tsOffset = init.tsOffset;
    this.lastOowAck = init.lastOowAck;
    this.state = substate;
    this.schedule(timeoutNs);
  }

  /** inet_twsk_reschedule(): the timer that ends the minisocket. */
  private schedule(timeoutNs: number): void {
    this.timer?.cancel();
    const cause = this.state === TcpState.TIME_WAIT ? Cause['tw-expired'] : Cause['fin-timeout'];
    this.timer = this.port.sched.after(timeoutNs, () => this.kill(cause));
  }

  /** tcp_timewait_state_process() */
  receive(seg: SegIn): TwStatus {
    return this.state === TcpState.FIN_WAIT2 ? this.finWait2Receive(seg) : this.timeWaitReceive(seg);
  }

  /** Substate TIME_WAIT. */
  private timeWaitReceive(seg: SegIn): TwStatus {
    const f = seg.flags;
    const inWindow = seg.seq === this.rcvNxt;
    if (f & TcpFlag.RST) {
      if (inWindow) this.kill(Cause['rst-time-wait']); // net.ipv4.tcp_rfc1337=0
      return DONE;
    }
    if (f & TcpFlag.SYN && !(f & TcpFlag.ACK) && seqAfter(seg.seq, this.rcvNxt)) {
      // TW_SYN: a new connection may reuse the tuple; its ISN continues past ours.
      return { action: 'syn', isn: seqAdd(this.sndNxt, 65535 + 2) };
    }
    if (f & TcpFlag.ACK && inWindow && seg.len === 0 && !(f & TcpFlag.FIN)) {
      this.schedule(TCP_TIMEWAIT_LEN);
      return DONE;
    }
    if (!this.oowRateLimited()) this.sendAck();
    return DONE;
  }

  /** Substate FIN_WAIT2 (an orphaned socket waiting for the peer's FIN). */
  private finWait2Receive(seg: SegIn): TwStatus {
    const f = seg.flags;
    if (f & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) this.kill(Cause['rst-orphan-fin-wait2']);
      return DONE;
    }
    if (f & TcpFlag.SYN && !seqLt(seg.seq, this.rcvNxt)) {
      this.port.event({ type: 'tw-syn-reset', sock: this.ref() });
      return RESET;
    }
    if (f & TcpFlag.FIN && seg.seq === this.rcvNxt && seg.len === 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.sendAck();
      this.setState(TcpState.TIME_WAIT, Cause['time-wait']);
      this.schedule(TCP_TIMEWAIT_LEN);
      return DONE;
    }
    if (seg.len > 0 && seqAfter(seqAdd(seg.seq, seg.len), this.rcvNxt)) return RESET_DATA;
    if (!this.oowRateLimited()) this.sendAck();
    return DONE;
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
