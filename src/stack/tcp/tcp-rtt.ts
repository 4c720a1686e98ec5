// Round-trip time estimation and the retransmission timeout as Linux computes them
// (net/ipv4/tcp_input.c tcp_rtt_estimator() and tcp_set_rto(), net/ipv4/tcp_timer.c
// tcp_model_timeout()): microsecond samples, srtt kept x8, the mean deviation with Linux's
// Eifel-like damping, rttvar never below rto_min (200 ms), and the RTO in whole jiffies
// (usecs_to_jiffies rounds up). Times come in as numbers, so this knows no clock.

/** TCP_RTO_MIN, TCP_RTO_MAX, TCP_TIMEOUT_INIT, TCP_TIMEOUT_MIN in jiffies for a given HZ. */
export function tcpTimeouts(hz: number) {
  return {
    rtoMin: Math.floor(hz / 5),
    rtoMax: 120 * hz,
    timeoutInit: hz,
    /** Min timeout for TCP timers in jiffies. */
    timeoutMin: 2,
    /** TCP_DELACK_MIN = TCP_ATO_MIN = HZ/25 (4 jiffies below HZ=100). */
    delackMin: hz >= 100 ? Math.floor(hz / 25) : 4,
    /** TCP_RESOURCE_PROBE_INTERVAL */
    resourceProbe: Math.floor(hz / 2),
  };
}

export class RttEstimator {
  /** Smoothed RTT in µs, scaled by 8 (tp->srtt_us); 0 until the first sample. */
  srttUs = 0;
  /** Medium deviation (tp->mdev_us), its maximum over the last RTT (mdev_max_us), and rttvar_us. */
  mdevUs = 0;
  mdevMaxUs = 0;
  rttvarUs = 0;
  /** snd_nxt when the current RTT period began (tp->rtt_seq). */
  rttSeq = 0;

  /** tcp_rtt_estimator(): one sample of mUs µs; sndUna/sndNxt decide when a new RTT period starts. */
  sample(mUs: number, sndUna: number, sndNxt: number, rtoMinUs: number): void {
    let m = Math.max(0, Math.round(mUs));
    let srtt = this.srttUs;
    if (srtt !== 0) {
      m -= srtt >> 3;
      srtt += m;
      if (m < 0) {
        m = -m;
        m -= this.mdevUs >> 2;
        if (m > 0) m >>= 3;
      } else {
        m -= this.mdevUs >> 2;
      }
      this.mdevUs += m;
      if (this.mdevUs > this.mdevMaxUs) {
        this.mdevMaxUs = this.mdevUs;
        if (this.mdevMaxUs > this.rttvarUs) this.rttvarUs = this.mdevMaxUs;
      }
      if (((sndUna - this.rttSeq) | 0) > 0) {
        if (this.mdevMaxUs < this.rttvarUs) this.rttvarUs -= (this.rttvarUs - this.mdevMaxUs) >> 2;
        this.rttSeq = sndNxt;
        this.mdevMaxUs = rtoMinUs;
      }
    } else {
      srtt = m << 3;
      this.mdevUs = m << 1;
      this.rttvarUs = Math.max(this.mdevUs, rtoMinUs);
      this.mdevMaxUs = this.rttvarUs;
      this.rttSeq = sndNxt;
    }
    this.srttUs = Math.max(1, srtt);
  }

  /** __tcp_set_rto() + tcp_bound_rto(): (srtt + rttvar) in jiffies, rounded up, at most rtoMax. */
  rtoJiffies(hz: number): number {
    const j = Math.ceil((((this.srttUs >> 3) + this.rttvarUs) * hz) / 1e6);
    return Math.min(j, tcpTimeouts(hz).rtoMax);
  }
}

/**
 * tcp_model_timeout(): how long `boundary` retransmissions take with exponential backoff from
 * rtoBase jiffies (linear once the RTO reaches TCP_RTO_MAX), in ms. retransmits_timed_out()
 * compares the time since the first retransmission with this.
 */
export function tcpModelTimeoutMs(boundary: number, rtoBase: number, hz: number): number {
  const rtoMax = tcpTimeouts(hz).rtoMax;
  const thresh = Math.floor(Math.log2(rtoMax / rtoBase));
  const j = boundary <= thresh
    ? ((2 << boundary) - 1) * rtoBase
    : ((2 << thresh) - 1) * rtoBase + (boundary - thresh) * rtoMax;
  return Math.floor((j * 1000) / hz);
}
