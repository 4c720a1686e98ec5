// Output and timers of a full socket, modelled on net/ipv4/tcp_output.c and tcp_timer.c:
//  - SYN and SYN-ACK with Linux's options, data in MSS-sized segments, our FIN once shut down and
//    drained; every sequence-consuming segment goes on the retransmission queue;
//  - the retransmission timer in jiffies on the kernel's timer wheel (KernelClock): the RTO from
//    srtt/rttvar (tcp-rtt.ts) with rto_min 200 ms, doubled per expiry (v6.5+: the first
//    tcp_syn_linear_timeouts SYN expiries stay linear), tcp_rearm_rto()'s offset for a timer that
//    was a loss probe;
//  - the tail loss probe (tcp_schedule_loss_probe / tcp_send_loss_probe, RFC 8985): after new
//    data or an ACK, PTO = 2*srtt + rto_min when one packet is in flight (+ TCP_TIMEOUT_MIN with
//    more), never later than the RTO; the probe resends the last segment, then the full RTO runs;
//  - giving up as tcp_write_timeout() does: SYNs by count, everything else by time since the
//    first retransmission against tcp_model_timeout() (tcp_retries2, or tcp_orphan_retries' 8 for
//    an orphan: about 102 s from rto_min);
//  - the delayed ACK after ato (tcp_send_delayed_ack, TCP_ATO_MIN = HZ/25 at first; the engine's
//    state, quick ACKs and pingpong mode, is in tcp-sock.ts).
// No congestion control (windows are large enough for the scenarios' transfers) but loss recovery's
// cwnd of 1; a retransmission collapses the small segments after it (tcp-retrans-collapse.ts).
import { TcpFlag, seqAdd } from '../../wire/index.js';
import { Cause } from './tcp-events.js';
import { collapseRetransmit } from './tcp-retrans-collapse.js';
import { tcpModelTimeoutMs, tcpTimeouts } from './tcp-rtt.js';
import { synOptions, tsOptions } from './tcp-segment-out.js';
import { OUR_WSCALE, TcpSock, type RtxSegment } from './tcp-sock.js';
import { TcpState } from './tcp-state.js';

export abstract class TcpOutputSock extends TcpSock {
  protected get timeouts() {
    return tcpTimeouts(this.port.clock.hz);
  }

  private get nowUs(): number {
    return Math.floor(this.now / 1000);
  }

  protected sendSyn(): boolean {
    const sys = this.port.sysctls;
    const ts = sys.tcp_timestamps ? { val: this.tsVal(), ecr: 0 } : null;
    return this.transmit({
      seq: this.iss, ack: 0, flags: TcpFlag.SYN, window: this.port.route(this.remoteAddr).synWindow,
      options: synOptions(this.mss, sys.tcp_sack === 1, ts, sys.tcp_window_scaling ? OUR_WSCALE : null),
    });
  }

  protected sendSynAck(): boolean {
    const ts = this.tsOn ? { val: this.tsVal(), ecr: this.tsRecent } : null;
    return this.transmit({
      seq: this.iss, ack: this.rcvNxt, flags: TcpFlag.SYN | TcpFlag.ACK, window: this.port.route(this.remoteAddr).synAckWindow,
      options: synOptions(this.mss, this.sackOn, ts, this.rcvWscale || this.sndWscale ? OUR_WSCALE : null),
    });
  }

  /** tcp_connect(): the SYN goes on the retransmission queue with the initial RTO armed. */
  protected startConnect(): void {
    this.rtxQueue = [{ seq: this.iss, end: seqAdd(this.iss, 1), flags: TcpFlag.SYN, data: EMPTY, sentAt: this.now, retrans: false }];
    this.retransStamp = this.port.clock.ms();
    this.sendSyn();
    this.rtoJ = this.timeouts.timeoutInit;
    this.resetXmitTimer('rto', this.rtoJ);
  }

  /** A listener's new socket answers with its SYN-ACK (the request socket's timer: TCP_TIMEOUT_INIT, doubled per retry). */
  protected startSynAck(): void {
    this.rtxQueue = [{ seq: this.iss, end: seqAdd(this.iss, 1), flags: TcpFlag.SYN | TcpFlag.ACK, data: EMPTY, sentAt: this.now, retrans: false }];
    this.sendSynAck();
    this.rtoJ = this.timeouts.timeoutInit;
    this.resetXmitTimer('rto', this.rtoJ);
  }

  /**
   * tcp_send_delayed_ack(): ACK after ato jiffies (bounded by the RTT, and by TCP_DELACK_MAX when
   * interactive) if nothing else carried it; tcp_delack_timer_handler() then inflates ato, or
   * leaves pingpong mode (the application did not answer in time).
   */
  protected scheduleDelayedAck(): void {
    const { delackMin, delackMax } = this.timeouts;
    let ato = this.ackAto || delackMin;
    if (ato > delackMin) {
      let max = this.inPingpongMode ? delackMax : Math.floor(this.port.clock.hz / 2);
      if (this.rtt.srttUs) max = Math.min(max, Math.max(this.port.clock.usecsToJiffies(this.rtt.srttUs >> 3), delackMin));
      ato = Math.min(ato, max);
    }
    if (this.delackTimer?.active) return; // inet_csk_reset_xmit_timer keeps an earlier deadline's place
    this.delackTimer = this.port.clock.armTimer(ato, () => {
      this.delackTimer = null;
      if (this.state === TcpState.CLOSE || this.ackedUpTo === this.rcvNxt) return;
      if (!this.inPingpongMode) this.ackAto = Math.min(this.ackAto * 2, this.rtoJ, delackMax);
      else {
        this.ackPingpong = 0;
        this.ackAto = delackMin;
      }
      this.sendAck();
    });
  }

  /** __tcp_ack_snd_check(): ACK now when more than a full segment is unacknowledged or in quickack mode; else delay it. */
  protected ackSndCheck(): void {
    if (this.ackedUpTo === this.rcvNxt) return;
    const unacked = this.ackedUpTo < 0 ? Infinity : (this.rcvNxt - this.ackedUpTo) >>> 0;
    if (unacked > this.rcvMss || this.inQuickackMode) this.sendAck();
    else this.scheduleDelayedAck();
  }

  /**
   * tcp_write_xmit(): queued data (MSS-sized, PSH on the last), then the FIN once shut down and
   * drained. A segment the local output path drops (-EPERM: a netfilter DROP in OUTPUT) is not
   * sent: it stays at the head of the write queue and, with nothing in flight, the zero-window
   * probe timer retries it (tcp_check_probe_timer).
   */
  protected pushData(): void {
    let sent = 0;
    let blocked = false;
    // TCP_CA_Loss: cwnd 1 with the retransmitted head in flight (tcp_enter_loss, tcp_cwnd_test). ctsim
    // holds new data and the FIN until all is acknowledged (Linux's result with one segment out).
    const cwndFull = this.inLoss && this.rtxQueue.length > 0;
    while (!cwndFull && this.sendQueue.length > 0) {
      const chunk = this.sendQueue[0];
      const n = Math.min(chunk.length, this.mss);
      const data = chunk.subarray(0, n);
      const last = n === chunk.length && this.sendQueue.length === 1;
      const flags = TcpFlag.ACK | (last ? TcpFlag.PSH : 0);
      if (!this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: data })) {
        blocked = true;
        break;
      }
      if (n === chunk.length) this.sendQueue.shift();
      else this.sendQueue[0] = chunk.subarray(n);
      this.sendQueued -= n;
      this.eventDataSent();
      this.newDataSent({ seq: this.sndNxt, end: seqAdd(this.sndNxt, n), flags, data, sentAt: this.now, retrans: false });
      sent++;
    }
    if (!blocked && this.shutWr && this.finSeq < 0) {
      // tcp_close() / tcp_shutdown(): the state moves when the FIN is queued (tcp_close_state).
      const cause = this.orphan ? Cause['close'] : Cause['shutdown-wr'];
      if (this.state === TcpState.ESTABLISHED) this.setState(TcpState.FIN_WAIT1, cause);
      else if (this.state === TcpState.CLOSE_WAIT) this.setState(TcpState.LAST_ACK, cause);
      const flags = TcpFlag.FIN | TcpFlag.ACK;
      if (cwndFull && !this.port.finCwndExempt) {
        // Queued: it leaves with the ACK that ends the episode (before 6.12 a lone FIN was exempt).
      } else if (this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) })) {
        this.finSeq = this.sndNxt;
        this.newDataSent({ seq: this.sndNxt, end: seqAdd(this.sndNxt, 1), flags, data: EMPTY, sentAt: this.now, retrans: false });
        sent++;
      } else {
        blocked = true;
        this.finPending = true;
      }
    }
    // "Send one loss probe per tail loss episode."
    if (sent > 0) this.scheduleLossProbe(false);
    else if (blocked && this.rtxQueue.length === 0 && this.pending === null) this.resetXmitTimer('probe0', this.probe0Base());
  }

  /** A FIN queued but refused by the output path (it goes out with the next successful write or probe). */
  protected finPending = false;

  /** tcp_probe0_base(): the RTO, at least rto_min. */
  private probe0Base(): number {
    return Math.max(this.rtoJ, this.timeouts.rtoMin);
  }

  /**
   * tcp_probe_timer() + tcp_send_probe0(): nothing in flight, but the write queue is not empty.
   * An orphan gives up after tcp_orphan_retries (8) unanswered probes; each one that the output
   * path refuses again backs off (tcp_probe0_when: probe0_base << backoff).
   */
  private probeTimer(): void {
    const writeQueued = this.sendQueue.length > 0 || this.finPending;
    if (this.rtxQueue.length > 0 || !writeQueued) {
      this.probesOut = 0;
      return;
    }
    const sys = this.port.sysctls;
    let maxProbes = sys.tcp_retries2;
    if (this.orphan) {
      const alive = Math.min(this.rtoJ * 2 ** this.backoff, this.timeouts.rtoMax) < this.timeouts.rtoMax;
      maxProbes = sys.tcp_orphan_retries === 0 && alive ? 8 : sys.tcp_orphan_retries;
      if (!alive && this.backoff >= maxProbes) {
        this.fail('ETIMEDOUT', { kind: 'rtx-exhausted', retransmits: this.probesOut });
        return;
      }
    }
    if (this.probesOut >= maxProbes) {
      this.fail('ETIMEDOUT', { kind: 'rtx-exhausted', retransmits: this.probesOut });
      return;
    }
    // tcp_write_wakeup(): try the head of the write queue again.
    if (this.finPending) {
      this.finPending = false;
      this.finSeq = -1;
    }
    const before = this.rtxQueue.length;
    this.pushData();
    if (this.rtxQueue.length > before) {
      this.probesOut = 0;
      this.backoff = 0;
      return;
    }
    this.probesOut++;
    if (this.backoff < sys.tcp_retries2) this.backoff++;
    this.resetXmitTimer('probe0', Math.min(this.probe0Base() * 2 ** this.backoff, this.timeouts.rtoMax));
  }

  /** tcp_event_new_data_sent(): snd_nxt advances; the first packet in flight (or one sent while a probe is armed) re-arms the RTO. */
  private newDataSent(seg: RtxSegment): void {
    const prior = this.rtxQueue.length;
    this.sndNxt = seg.end;
    this.rtxQueue.push(seg);
    if (prior === 0 || this.pending === 'probe') this.rearmRto();
  }

  /** inet_csk_reset_xmit_timer(): the one retransmission timer, for an RTO or a loss probe, `when` jiffies from now (at most TCP_RTO_MAX). */
  protected resetXmitTimer(what: 'rto' | 'probe' | 'probe0', when: number): void {
    this.rtxTimer?.cancel();
    this.pending = what;
    this.rtxTimer = this.port.clock.armTimer(Math.min(when, this.timeouts.rtoMax), () => this.onXmitTimer());
  }

  protected stopRtx(): void {
    this.rtxTimer?.cancel();
    this.rtxTimer = null;
    this.pending = null;
  }

  /** How far in the future the RTO of the head segment lies, in µs (tcp_rto_delta_us). */
  private rtoDeltaUs(): number {
    const head = this.rtxQueue[0];
    if (!head) return 0;
    return Math.floor(head.sentAt / 1000) + this.port.clock.jiffiesToUsecs(this.rtoJ) - this.nowUs;
  }

  /** tcp_rearm_rto(): the RTO from now, or from the head's last send when the timer was a loss probe. */
  protected rearmRto(): void {
    if (this.rtxQueue.length === 0) {
      this.stopRtx();
      return;
    }
    let rto = this.rtoJ;
    if (this.pending === 'probe') rto = this.port.clock.usecsToJiffies(Math.max(this.rtoDeltaUs(), 1));
    this.resetXmitTimer('rto', rto);
  }

  /**
   * tcp_schedule_loss_probe(): with SACK, packets in flight and no RTO recovery under way, probe
   * after 2*srtt plus rto_min (one packet in flight, for the peer's delayed ACK) or plus
   * TCP_TIMEOUT_MIN (more), or TCP_TIMEOUT_INIT without an RTT sample; never after the RTO.
   */
  protected scheduleLossProbe(advancingRto: boolean): boolean {
    if (!this.sackOn || this.rtxQueue.length === 0 || this.inLoss) return false;
    if (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECV) return false;
    const clock = this.port.clock;
    let timeout: number;
    if (this.rtt.srttUs) {
      const us = (this.rtt.srttUs >> 2) + (this.rtxQueue.length === 1 ? clock.jiffiesToUsecs(this.timeouts.rtoMin) : 2000);
      timeout = clock.usecsToJiffies(us);
    } else {
      timeout = this.timeouts.timeoutInit;
    }
    const delta = advancingRto ? clock.jiffiesToUsecs(this.rtoJ) : this.rtoDeltaUs();
    if (delta > 0) timeout = Math.min(timeout, clock.usecsToJiffies(delta));
    this.resetXmitTimer('probe', timeout);
    return true;
  }

  /** tcp_set_xmit_timer(): after an ACK that acknowledged something. */
  protected setXmitTimer(): void {
    if (!this.scheduleLossProbe(true)) this.rearmRto();
  }

  private onXmitTimer(): void {
    const what = this.pending;
    this.rtxTimer = null;
    this.pending = null;
    if (what === 'probe') this.sendLossProbe();
    else if (what === 'probe0') this.probeTimer();
    else this.retransmitTimer();
  }

  /** tcp_send_loss_probe(): resend the last segment (at most one probe outstanding), then the full RTO from now. */
  private sendLossProbe(): void {
    const last = this.rtxQueue.at(-1);
    if (this.tlpHighSeq === null && last) {
      if (this.retransmitSegment(last)) {
        this.tlpHighSeq = this.sndNxt;
      } else {
        // Refused by the output path: icsk_pending stays LOSS_PROBE, so the RTO keeps its time.
        this.pending = 'probe';
      }
    }
    this.rearmRto();
  }

  /** __tcp_retransmit_skb(): the segment again, with today's ACK, window and timestamp (false: the output path refused it). */
  private retransmitSegment(seg: RtxSegment): boolean {
    seg.sentAt = this.now;
    if (seg.flags & TcpFlag.SYN) return seg.flags & TcpFlag.ACK ? this.sendSynAck() : this.sendSyn();
    if (this.port.sysctls.tcp_retrans_collapse) collapseRetransmit(this.rtxQueue, seg, this.mss, seqAdd(this.sndUna, this.sndWnd));
    return this.transmit({ seq: seg.seq, ack: this.rcvNxt, flags: seg.flags, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: seg.data.length ? seg.data : undefined });
  }

  /** tcp_retransmit_timer() (and the request socket's SYN-ACK timer for a socket in SYN_RECV). */
  private retransmitTimer(): void {
    const sys = this.port.sysctls;
    const head = this.rtxQueue[0];
    if (!head) return;
    if (this.state === TcpState.SYN_RECV) {
      // reqsk_timer_handler(): tcp_synack_retries, TCP_TIMEOUT_INIT << num_timeout.
      if (this.retransmits >= sys.tcp_synack_retries) {
        this.port.event({ type: 'synack-retries-exhausted', sock: this.ref() });
        this.destroy(Cause['request-timeout']);
        return;
      }
      this.retransmits++;
      head.retrans = true;
      this.retransmitSegment(head);
      this.rtoJ = Math.min(this.timeouts.timeoutInit * 2 ** this.retransmits, this.timeouts.rtoMax);
      this.resetXmitTimer('rto', this.rtoJ);
      return;
    }
    if (this.writeTimeout()) return;
    this.inLoss = true; // tcp_enter_loss()
    this.retransmits++;
    this.totalRto++;
    if (this.state === TcpState.SYN_SENT) this.port.event({ type: 'syn-retransmit', sock: this.ref(), count: this.retransmits });
    head.retrans = true;
    this.retransmitSegment(head);
    // tcp_retransmit_skb(): the stamp of the first (attempted) RTO retransmission, read from the
    // segment after __tcp_retransmit_skb() re-stamped it: now, not the loss probe's time (the real
    // 6.18.44 with tcp_orphan_retries=1 still resends 0.41 s after the first RTO retransmission).
    if (!this.retransStamp) this.retransStamp = this.port.clock.ms();
    // Exponential backoff, except v6.5's first tcp_syn_linear_timeouts SYN expiries.
    if (this.state !== TcpState.SYN_SENT || this.totalRto > sys.tcp_syn_linear_timeouts) {
      this.backoff++;
      this.rtoJ = Math.min(this.rtoJ * 2, this.timeouts.rtoMax);
    }
    this.resetXmitTimer('rto', this.rtoJ);
  }

  /** tcp_write_timeout(): true when the connection was given up (ETIMEDOUT). */
  private writeTimeout(): boolean {
    const sys = this.port.sysctls;
    let expired: boolean;
    let cause;
    if (this.state === TcpState.SYN_SENT) {
      expired = this.retransmits >= sys.tcp_syn_retries + sys.tcp_syn_linear_timeouts;
      cause = { kind: 'syn-timeout' as const, retransmits: this.retransmits };
    } else {
      let retryUntil = sys.tcp_retries2;
      if (this.orphan) {
        // tcp_orphan_retries(): 0 means 8 while the RTO is below TCP_RTO_MAX ("alive").
        const alive = this.rtoJ < this.timeouts.rtoMax;
        retryUntil = sys.tcp_orphan_retries === 0 && alive ? 8 : sys.tcp_orphan_retries;
      }
      expired = this.retransmitsTimedOut(retryUntil);
      cause = { kind: 'rtx-exhausted' as const, retransmits: this.retransmits };
    }
    if (expired) this.fail('ETIMEDOUT', cause);
    return expired;
  }

  /** retransmits_timed_out(): the time since the first retransmission reached tcp_model_timeout(boundary) from rto_min. */
  private retransmitsTimedOut(boundary: number): boolean {
    if (!this.retransmits) return false;
    const timeoutMs = tcpModelTimeoutMs(boundary, this.timeouts.rtoMin, this.port.clock.hz);
    return ((this.port.clock.ms() - this.retransStamp - timeoutMs) | 0) >= 0;
  }

  /**
   * tcp_clean_rtx_queue() and the RTT sample of tcp_ack_update_rtt(): segments up to `ack` leave
   * the queue; the oldest one never retransmitted gives the sample (Karn), else the echoed
   * timestamp does (in whole ms, at least 1). Returns whether anything was acknowledged.
   */
  protected cleanRtxQueue(ack: number, tsecr: number | null): boolean {
    let acked = 0;
    let firstSentAt = -1;
    let retransAcked = false;
    while (this.rtxQueue.length && ((ack - this.rtxQueue[0].end) | 0) >= 0) {
      const seg = this.rtxQueue.shift()!;
      acked++;
      if (seg.retrans) retransAcked = true;
      else if (firstSentAt < 0) firstSentAt = seg.sentAt;
    }
    if (!acked) return false;
    let sampleUs = -1;
    if (firstSentAt >= 0 && !retransAcked) sampleUs = Math.floor(this.now / 1000) - Math.floor(firstSentAt / 1000);
    else if (tsecr !== null && this.tsOn && tsecr) sampleUs = Math.max(1, (this.port.clock.ms() + this.tsOffset - tsecr) | 0) * 1000;
    if (sampleUs >= 0) {
      this.rtt.sample(sampleUs, ack, this.sndNxt, this.port.clock.jiffiesToUsecs(this.timeouts.rtoMin));
      this.rtoJ = this.rtt.rtoJiffies(this.port.clock.hz);
      this.backoff = 0;
    }
    if (this.rtxQueue.length === 0) {
      this.inLoss = false;
      this.retransStamp = 0;
    }
    return true;
  }
}

const EMPTY = new Uint8Array(0);
