// Output and timers of a full socket, modelled on net/ipv4/tcp_output.c (SYN and SYN-ACK with
// Linux's options, data in MSS-sized segments, our FIN once shut down and drained, the delayed
// ACK) and tcp_timer.c (the retransmission timer: SYN retries with v6.5's linear timeouts,
// SYN-ACK retries, data/FIN retransmission with backoff, RTT sampling per RFC 6298). No
// congestion control: windows are large enough for the scenarios' transfers.
import { TcpFlag, seqAdd } from '../../wire/index.js';
import { MS } from '../scheduler.js';
import { Cause } from './tcp-events.js';
import { synOptions, tsOptions } from './tcp-segment-out.js';
import { OUR_WSCALE, TCP_ATO_MIN, TCP_DELACK_MAX, TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT, TcpSock } from './tcp-sock.js';
import { TcpState } from './tcp-state.js';


export abstract class TcpOutputSock extends TcpSock {
  protected sendSyn(): void {
    const sys = this.port.sysctls;
    const ts = sys.tcp_timestamps ? { val: this.tsVal(), ecr: 0 } : null;
    this.transmit({
      seq: this.iss, ack: 0, flags: TcpFlag.SYN, window: this.port.route(this.remoteAddr).synWindow,
      options: synOptions(this.mss, sys.tcp_sack === 1, ts, sys.tcp_window_scaling ? OUR_WSCALE : null),
    });
  }

  protected sendSynAck(): void {
    const ts = this.tsOn ? { val: this.tsVal(), ecr: this.tsRecent } : null;
    this.transmit({
      seq: this.iss, ack: this.rcvNxt, flags: TcpFlag.SYN | TcpFlag.ACK, window: this.port.route(this.remoteAddr).synAckWindow,
      options: synOptions(this.mss, this.sackOn, ts, this.rcvWscale || this.sndWscale ? OUR_WSCALE : null),
    });
  }

  /**
   * tcp_send_delayed_ack(): ACK after ato (bounded by the RTT, and by TCP_DELACK_MAX when
   * interactive) if nothing else carried it; tcp_delack_timer_handler() then inflates ato, or
   * leaves pingpong mode (the application did not answer in time).
   */
  protected scheduleDelayedAck(): void {
    let ato = this.ackAto || TCP_ATO_MIN;
    if (ato > TCP_ATO_MIN) {
      let max = this.inPingpongMode ? TCP_DELACK_MAX : 500 * MS;
      if (this.srtt > 0) max = Math.min(max, Math.max(this.srtt, TCP_ATO_MIN));
      ato = Math.min(ato, max);
    }
    if (this.delackTimer?.active) return; // inet_csk_reset_xmit_timer keeps an earlier deadline's place
    this.delackTimer = this.port.sched.after(ato, () => {
      this.delackTimer = null;
      if (this.state === TcpState.CLOSE || this.ackedUpTo === this.rcvNxt) return;
      if (!this.inPingpongMode) this.ackAto = Math.min(this.ackAto * 2, this.rto, TCP_DELACK_MAX);
      else {
        this.ackPingpong = 0;
        this.ackAto = TCP_ATO_MIN;
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

  /** tcp_write_xmit(): queued data (MSS-sized, PSH on the last), then the FIN when shut down and drained. */
  protected pushData(): void {
    while (this.sendQueue.length > 0) {
      const chunk = this.sendQueue[0];
      const n = Math.min(chunk.length, this.mss);
      const data = chunk.subarray(0, n);
      if (n === chunk.length) this.sendQueue.shift();
      else this.sendQueue[0] = chunk.subarray(n);
      this.sendQueued -= n;
      const last = this.sendQueue.length === 0;
      this.unacked.push({ seq: this.sndNxt, data });
      if (!this.rttProbe) this.rttProbe = { seq: seqAdd(this.sndNxt, n), at: this.now };
      this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.ACK | (last ? TcpFlag.PSH : 0), window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: data });
      this.eventDataSent();
      this.sndNxt = seqAdd(this.sndNxt, n);
    }
    if (this.shutWr && this.finSeq < 0) {
      this.finSeq = this.sndNxt;
      this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.FIN | TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
      this.sndNxt = seqAdd(this.sndNxt, 1);
      const cause = this.orphan ? Cause['close'] : Cause['shutdown-wr'];
      if (this.state === TcpState.ESTABLISHED) this.setState(TcpState.FIN_WAIT1, cause);
      else if (this.state === TcpState.CLOSE_WAIT) this.setState(TcpState.LAST_ACK, cause);
    }
    if (this.sndNxt !== this.sndUna && !this.rtxTimer?.active) {
      this.retransmits = 0;
      this.armRtx(this.rto);
    }
  }

  protected armRtx(delay: number): void {
    this.rtxTimer?.cancel();
    this.rtxTimer = this.port.sched.after(delay, () => this.onRtxTimer());
  }

  protected stopRtx(): void {
    this.rtxTimer?.cancel();
    this.rtxTimer = null;
  }

  /** tcp_retransmit_timer() and tcp_write_timeout(). */
  private onRtxTimer(): void {
    this.rtxTimer = null;
    const sys = this.port.sysctls;
    if (this.state === TcpState.SYN_SENT) {
      // tcp_write_timeout(): SYN retries are counted, with v6.5's linear timeouts added.
      const max = sys.tcp_syn_retries + sys.tcp_syn_linear_timeouts;
      if (this.retransmits >= max) {
        this.fail('ETIMEDOUT', { kind: 'syn-timeout', retransmits: this.retransmits });
        return;
      }
      this.retransmits++;
      this.port.event({ type: 'syn-retransmit', sock: this.ref(), count: this.retransmits });
      this.sendSyn();
      // Back off, except the first tcp_syn_linear_timeouts ones (v6.5+).
      this.rto = this.retransmits <= sys.tcp_syn_linear_timeouts ? TCP_TIMEOUT_INIT : Math.min(this.rto * 2, TCP_RTO_MAX);
      this.armRtx(this.rto);
      return;
    }
    if (this.state === TcpState.SYN_RECV) {
      if (this.retransmits >= sys.tcp_synack_retries) {
        this.port.event({ type: 'synack-retries-exhausted', sock: this.ref() });
        this.destroy(Cause['request-timeout']);
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
      this.fail('ETIMEDOUT', { kind: 'rtx-exhausted', retransmits: this.retransmits });
      return;
    }
    this.retransmits++;
    this.rttProbe = null; // Karn's algorithm
    const first = this.unacked[0];
    if (first) {
      this.transmit({ seq: first.seq, ack: this.rcvNxt, flags: TcpFlag.ACK | TcpFlag.PSH, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()), payload: first.data });
    } else if (this.finSeq >= 0) {
      this.transmit({ seq: this.finSeq, ack: this.rcvNxt, flags: TcpFlag.FIN | TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
    }
    this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
    this.armRtx(this.rto);
  }

  /** tcp_rtt_estimator(): RFC 6298 with Linux's 200 ms floor (TCP_RTO_MIN). */
  protected updateRtt(sample: number): void {
    if (this.srtt < 0) {
      this.srtt = sample;
      this.rttvar = sample / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
      this.srtt = 0.875 * this.srtt + 0.125 * sample;
    }
    this.rto = Math.min(TCP_RTO_MAX, Math.max(TCP_RTO_MIN, Math.round(this.srtt + Math.max(4 * this.rttvar, MS))));
  }
}
