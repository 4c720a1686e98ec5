// Segment processing of a full socket, modelled on net/ipv4/tcp_input.c: the request socket a
// listener opens for a SYN (tcp_conn_request), tcp_rcv_synsent_state_process, the SYN_RECV
// completion, tcp_validate_incoming (RFC 5961 challenge ACKs), and the synchronised part of
// tcp_rcv_state_process (ACK, data, FIN) that hands the connection to a TIME_WAIT minisocket at
// the end (tcp_time_wait). receive() answers as tcp_rcv_state_process does: 'reset' asks the
// caller to send a reset for the segment from the control socket.
// In-order data is ACKed as __tcp_ack_snd_check() does: at once in quickack mode (the start of a
// connection, after a long gap) or beyond a full segment, otherwise after the delayed-ACK timeout
// unless an answer carries it (interactive sessions, pingpong mode); a FIN moving ESTABLISHED ->
// CLOSE_WAIT enters pingpong mode. Simplifications, each chosen because no scenario depends on
// it: out-of-order segments are dropped with a duplicate ACK (no OFO queue), no PAWS rejection,
// no keepalive.
import { TcpFlag, seqAdd, seqAfter, seqLt } from '../../wire/index.js';
import { Cause, type ChallengeTrigger } from './tcp-events.js';
import { TcpOutputSock } from './tcp-output.js';
import { segEndSeq, type SegIn } from './tcp-segment-in.js';
import { OUR_WSCALE, type RcvStatus, type TcpSock } from './tcp-sock.js';
import { TcpState } from './tcp-state.js';
import { TCP_TIMEWAIT_LEN, TimeWaitSock } from './tcp-timewait.js';

export abstract class TcpInputSock extends TcpOutputSock {
  /** inet_csk_complete_hashdance(): the established child joins its listener's accept queue. */
  protected abstract joinAcceptQueue(): void;

  receive(seg: SegIn): RcvStatus {
    switch (this.state) {
      case TcpState.SYN_SENT: return this.synSentReceive(seg);
      case TcpState.SYN_RECV: return this.synRecvReceive(seg);
      default:
        this.synchronizedReceive(seg);
        return 'done';
    }
  }

  /**
   * tcp_conn_request(): this new socket answers the SYN `seg` that reached `listener` (its tuple
   * is already hashed): options from the SYN, our ISN (given when a TIME_WAIT socket gave way,
   * else secure_tcp_seq()), SYN_RECV, the SYN-ACK and its retransmission timer.
   */
  openRequest(listener: TcpSock, seg: SegIn, isn: number | undefined): void {
    this.parent = listener;
    this.mss = this.port.route(seg.src).mss;
    this.adoptPeerOptions(seg);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    // tcp_conn_request(): secure_tcp_seq_and_ts_off() of the SYN's tuple; a SYN that a TIME_WAIT
    // minisocket let through keeps the ISN it chose, the timestamp offset still comes from the hash.
    const st = this.port.initSeq(seg.dst, seg.src, seg.dport, seg.sport);
    this.iss = isn ?? st.seq;
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.tsOffset = st.tsOff;
    this.setState(TcpState.SYN_RECV, { kind: 'syn-to-listener', listenAddr: listener.localAddr, listenPort: listener.localPort });
    this.startSynAck();
  }

  /** tcp_rcv_synsent_state_process() */
  private synSentReceive(seg: SegIn): RcvStatus {
    const f = seg.flags;
    if (f & TcpFlag.ACK) {
      if (!seqAfter(seg.ack, this.iss) || seqAfter(seg.ack, this.sndNxt)) {
        // Unacceptable ACK (RFC 9293 §3.10.7.3): with RST drop it; else answer with a reset.
        if (f & TcpFlag.RST) return 'done';
        // v5.6+ "Reduce SYN resend delay if a suspicous ACK is received" (9603d47bad49): the first
        // time, resend the SYN after TCP_TIMEOUT_MIN (2 jiffies, on the timer wheel: 8-12 ms at
        // HZ=250) instead of waiting the full RTO; that resend counts as an RTO expiry.
        if (this.port.earlySynResend && this.retransmits === 0) this.resetXmitTimer('rto', this.timeouts.timeoutMin);
        this.port.event({ type: 'unacceptable-ack', sock: this.ref(), ack: seg.ack, expected: seqAdd(this.iss, 1) });
        return 'reset';
      }
      if (f & TcpFlag.RST) {
        this.fail('ECONNREFUSED', Cause['rst-answering-syn']);
        return 'done';
      }
      if (!(f & TcpFlag.SYN)) return 'done';
      this.adoptPeerOptions(seg);
      this.irs = seg.seq;
      this.rcvNxt = seqAdd(seg.seq, 1);
      // tcp_ack() on the SYN-ACK: the SYN leaves the queue with an RTT sample (from the echoed
      // timestamp when the SYN was retransmitted), the RTO follows it.
      this.cleanRtxQueue(seg.ack, seg.hasTs ? seg.tsecr : null);
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      this.stopRtx();
      this.retransmits = 0;
      this.setState(TcpState.ESTABLISHED, Cause['syn-ack']);
      this.sendAck();
      this.onConnect?.();
      if (this.sendQueue.length || this.shutWr) this.pushData();
      return 'done';
    }
    if (f & TcpFlag.RST) return 'done';
    if (f & TcpFlag.SYN) {
      // Simultaneous open (RFC 9293 §3.5).
      this.adoptPeerOptions(seg);
      this.irs = seg.seq;
      this.rcvNxt = seqAdd(seg.seq, 1);
      this.setState(TcpState.SYN_RECV, Cause['simultaneous-open']);
      this.sendSynAck();
    }
    return 'done';
  }

  /** tcp_openreq_init() / tcp_synsent: options both sides agreed on. */
  private adoptPeerOptions(seg: SegIn): void {
    const sys = this.port.sysctls;
    this.tsOn = sys.tcp_timestamps === 1 && seg.hasTs;
    if (this.tsOn) this.storeTsRecent(seg.tsval);
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

  /** A request socket / child in SYN_RECV (tcp_check_req). */
  private synRecvReceive(seg: SegIn): RcvStatus {
    const f = seg.flags;
    if (f & TcpFlag.RST) {
      if (seg.seq === this.rcvNxt) this.destroy(Cause['rst-syn-recv']);
      return 'done';
    }
    if (f & TcpFlag.SYN && !(f & TcpFlag.ACK)) {
      // tcp_check_req(): a retransmitted SYN is answered at once (unless tcp_invalid_ratelimit
      // holds it back) and the SYN-ACK timer restarts from now with the current backoff
      // (mod_timer_pending(jiffies + reqsk_timeout())), "similar to the idea of fast retransmit".
      if (seg.seq === this.irs && !this.oowRateLimited() && this.sendSynAck() && this.rtxTimer?.active) {
        this.resetXmitTimer('rto', Math.min(this.timeouts.timeoutInit * 2 ** this.retransmits, this.timeouts.rtoMax));
      }
      return 'done';
    }
    if (f & TcpFlag.ACK) {
      if (seg.ack !== this.sndNxt) return 'reset';
      if (this.tsOn && seg.hasTs) this.storeTsRecent(seg.tsval);
      // tcp_synack_rtt_meas(): the SYN-ACK's RTT (or the echoed timestamp's after a retransmission).
      this.cleanRtxQueue(seg.ack, seg.hasTs ? seg.tsecr : null);
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      this.stopRtx();
      this.retransmits = 0;
      this.setState(TcpState.ESTABLISHED, Cause['handshake-complete']);
      this.joinAcceptQueue();
      if (seg.len > 0 || f & TcpFlag.FIN) this.synchronizedReceive(seg);
    }
    return 'done';
  }

  /** tcp_send_challenge_ack(): per-socket limit (tcp_invalid_ratelimit), then the netns limit. */
  private challengeAck(trigger: ChallengeTrigger): void {
    if (this.oowRateLimited()) {
      this.port.event({ type: 'challenge-ack', sock: this.ref(), state: this.state, trigger, suppressedBy: 'tcp_invalid_ratelimit' });
      return;
    }
    if (!this.port.challengeAcks.take(this.now)) {
      this.port.event({ type: 'challenge-ack', sock: this.ref(), state: this.state, trigger, suppressedBy: 'tcp_challenge_ack_limit' });
      return;
    }
    this.port.event({ type: 'challenge-ack', sock: this.ref(), state: this.state, trigger, suppressedBy: null });
    this.sendAck();
  }

  /**
   * tcp_validate_incoming() then the synchronised part of tcp_rcv_state_process(). An orphan
   * whose FIN this segment acknowledged becomes a FIN_WAIT2 minisocket only after the whole
   * segment was processed: its data aborts the connection, its FIN leads to TIME_WAIT instead.
   */
  private synchronizedReceive(seg: SegIn): void {
    this.orphanFinWait2Pending = false;
    this.processSynchronized(seg);
    if (this.orphanFinWait2Pending && !this.successor && this.state === TcpState.FIN_WAIT2) this.toFinWait2Minisocket();
  }

  /** Set when an orphan's FIN was just acknowledged (tcp_rcv_state_process, TCP_FIN_WAIT1). */
  private orphanFinWait2Pending = false;

  private processSynchronized(seg: SegIn): void {
    const f = seg.flags;
    const endSeq = segEndSeq(seg);
    // tcp_sequence(): the segment must overlap [rcv_nxt, rcv_nxt + window].
    const inWindow = !seqLt(endSeq, this.rcvNxt) && !seqAfter(seg.seq, seqAdd(this.rcvNxt, this.port.route(this.remoteAddr).window));
    if (!inWindow) {
      if (f & TcpFlag.RST) return; // out-of-window RST: silently dropped
      if (f & TcpFlag.SYN) return this.challengeAck('out-of-window-syn');
      // tcp_send_dupack, rate limited unless it carries data
      if (seg.len > 0 || !this.oowRateLimited()) this.sendAck();
      return;
    }
    if (f & TcpFlag.RST) {
      // RFC 5961 §3.2: reset only on an exact match; otherwise a challenge ACK. tcp_reset_check()
      // also accepts rcv_nxt - 1 once the peer's FIN was consumed.
      const closingPeer = this.state === TcpState.CLOSE_WAIT || this.state === TcpState.LAST_ACK || this.state === TcpState.CLOSING;
      if (seg.seq === this.rcvNxt || (closingPeer && seg.seq === seqAdd(this.rcvNxt, -1))) {
        this.fail(this.state === TcpState.CLOSE_WAIT ? 'EPIPE' : 'ECONNRESET', Cause['rst-received']);
      } else {
        this.challengeAck('in-window-rst');
      }
      return;
    }
    if (f & TcpFlag.SYN) return this.challengeAck('syn'); // RFC 5961 §4.2
    if (!(f & TcpFlag.ACK)) return;
    if (this.tsOn && seg.hasTs && !seqLt(seg.tsval, this.tsRecent)) this.storeTsRecent(seg.tsval);

    // ACK processing (tcp_ack)
    if (seqAfter(seg.ack, this.sndNxt)) {
      this.sendAck(); // ACK of something we never sent
      return;
    }
    // The ACK of our FIN in CLOSING or LAST_ACK ends processing (tcp_time_wait / tcp_done).
    if (seqAfter(seg.ack, this.sndUna) && this.onAcked(seg.ack, seg.hasTs ? seg.tsecr : null)) return;
    this.sndWnd = seg.window << this.sndWscale;

    // Data
    if (seg.len > 0) {
      if (seg.seq !== this.rcvNxt) {
        this.sendAck(); // out of order or partly old: duplicate ACK
        return;
      }
      if (this.orphan || this.shutRd && (this.state === TcpState.FIN_WAIT1 || this.state === TcpState.FIN_WAIT2)) {
        // tcp_rcv_state_process: data after the application shut down reading: abort (TCPAbortOnData)
        this.rcvNxt = seqAdd(this.rcvNxt, seg.len);
        this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: [] });
        this.fail('ECONNRESET', Cause['data-after-close']);
        return;
      }
      this.rcvNxt = seqAdd(this.rcvNxt, seg.len);
      this.eventDataRecv(seg.len);
      // tcp_ack_snd_check() runs in softirq, before the application can read and answer: in
      // quickack mode the answer comes after (not instead of) this ACK; an interactive (pingpong)
      // session delays it, and the answer carries it. A FIN in the same segment is ACKed below.
      if (this.onData && !(f & TcpFlag.FIN)) this.ackSndCheck();
      // An onData handler reads the data as it arrives; without one it waits in the receive queue
      // (and a close() with unread data aborts with RST, as Linux does).
      if (this.onData) this.onData(seg.payload.slice());
      else {
        this.recvBuffer.push(seg.payload.slice());
        this.recvQueued += seg.len;
      }
    }
    if (f & TcpFlag.FIN && seqAdd(seg.seq, seg.len) === this.rcvNxt) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      if (this.state === TcpState.ESTABLISHED) {
        // tcp_fin(): ESTABLISHED -> CLOSE_WAIT enters pingpong mode, so the FIN's ACK is delayed
        // (TCP_ATO_MIN = HZ/25 = 40 ms) unless something we send first carries it (e.g. our FIN).
        this.ackPingpong = Math.max(this.ackPingpong, this.port.pingpongThresh);
        this.scheduleDelayedAck();
      } else {
        this.sendAck(); // FIN_WAIT1/FIN_WAIT2: tcp_fin() sends the ACK at once
      }
      this.onPeerFin();
      return;
    }
    // tcp_ack_snd_check(): data that an answer already acknowledged needs no separate ACK.
    if (seg.len > 0) this.ackSndCheck();
  }

  /**
   * tcp_ack(): newly acknowledged data, RTT sample, timer, and the FIN states. True when the
   * socket is done with this segment (it went to TIME_WAIT or closed).
   */
  private onAcked(ack: number, tsecr: number | null): boolean {
    this.retransmits = 0; // FLAG_SND_UNA_ADVANCED
    const wasInLoss = this.inLoss;
    const acked = this.cleanRtxQueue(ack, tsecr);
    this.sndUna = ack;
    // tcp_data_snd_check(): the loss episode is over and cwnd has room for what waited in the
    // write queue (new data, or the FIN close() queued meanwhile).
    if (wasInLoss && !this.inLoss && (this.sendQueue.length > 0 || (this.shutWr && this.finSeq < 0))) this.pushData();
    // tcp_process_tlp_ack(): an ACK at or past the probe's snd_nxt ends the episode.
    if (this.tlpHighSeq !== null && !seqLt(ack, this.tlpHighSeq)) this.tlpHighSeq = null;
    if (acked) this.setXmitTimer();
    const finAcked = this.finSeq >= 0 && !seqLt(ack, seqAdd(this.finSeq, 1));
    if (!finAcked) return false;
    if (this.state === TcpState.FIN_WAIT1) {
      // FIN_WAIT2 has no timer while the application still holds the socket (half-close).
      this.setState(TcpState.FIN_WAIT2, Cause['fin-acked']);
      if (this.orphan) {
        this.port.event({ type: 'orphan-fin-wait2', sock: this.ref(), finTimeoutSec: this.port.sysctls.tcp_fin_timeout });
        this.orphanFinWait2Pending = true;
      }
      return false;
    }
    if (this.state === TcpState.CLOSING) {
      this.enterTimeWait();
      return true;
    }
    if (this.state === TcpState.LAST_ACK) {
      this.destroy(Cause['last-ack']);
      return true;
    }
    return false;
  }

  /** tcp_fin() */
  private onPeerFin(): void {
    switch (this.state) {
      case TcpState.ESTABLISHED:
        this.setState(TcpState.CLOSE_WAIT, Cause['fin-received']);
        break;
      case TcpState.FIN_WAIT1:
        if (this.sndUna === this.sndNxt) this.enterTimeWait();
        else this.setState(TcpState.CLOSING, Cause['simultaneous-close']);
        break;
      case TcpState.FIN_WAIT2:
        this.enterTimeWait();
        break;
      default:
        return;
    }
    if (!this.orphan) this.onEof?.();
  }

  /** tcp_time_wait(sk, TCP_TIME_WAIT): a minisocket holds the tuple for TCP_TIMEWAIT_LEN. */
  private enterTimeWait(): void {
    this.stopRtx();
    this.setState(TcpState.TIME_WAIT, Cause['time-wait']);
    this.handOver(TcpState.TIME_WAIT, TCP_TIMEWAIT_LEN * this.port.clock.hz);
  }

  /** close() of a socket in FIN_WAIT2: it is orphaned and waits as a minisocket. */
  protected enterOrphanFinWait2(): void {
    this.port.event({ type: 'orphan-fin-wait2', sock: this.ref(), finTimeoutSec: this.port.sysctls.tcp_fin_timeout });
    this.toFinWait2Minisocket();
  }

  /**
   * An orphaned FIN_WAIT2 socket lives tcp_fin_timeout seconds as a minisocket in substate
   * FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)). (Linux keeps the full socket for the part
   * of tcp_fin_timeout beyond TCP_TIMEWAIT_LEN; the default, 60 s, has none.)
   */
  private toFinWait2Minisocket(): void {
    // tcp_fin_time(): tcp_fin_timeout, at least 3.5 RTOs.
    const tmo = Math.max(this.port.sysctls.tcp_fin_timeout * this.port.clock.hz, (this.rtoJ << 2) - (this.rtoJ >> 1));
    this.handOver(TcpState.FIN_WAIT2, tmo);
  }

  private handOver(substate: number, timeoutJiffies: number): void {
    if (this.successor) throw new Error(`${this.describe()}: already handed to a TIME_WAIT minisocket`);
    this.delackTimer?.cancel();
    const tw = new TimeWaitSock(this.port, this, substate, timeoutJiffies);
    tw.owner = this;
    this.port.hashTimeWait(this, tw);
    this.successor = tw;
  }
}
