// What a full TCP socket and a TIME_WAIT minisocket have in common, as struct sock_common is
// shared by tcp_sock and inet_timewait_sock: the 4-tuple, the owner, the `ss` identity, the IP ID
// counter, timestamps, and the primitives both use to answer a segment (a pure ACK, the
// out-of-window ACK rate limit). Everything outside the socket is reached through the port.
import type { KernelClock } from '../kernel-clock.js';
import type { Scheduler } from '../scheduler.js';
import { MS } from '../scheduler.js';
import type { SockRef, TcpEvent } from './tcp-events.js';
import { formatSockPair } from './tcp-events.js';
import { tsOptions, type SegmentOut } from './tcp-segment-out.js';
import type { TcpSysctls } from './tcp-sysctls.js';
import { TcpFlag } from '../../wire/index.js';

export interface SocketOwner {
  uid: number;
  gid: number;
}

/** MSS and initial windows of the route to a destination (loopback vs Ethernet MTU). */
export interface TcpRoute {
  readonly mss: number;
  /** Window in our SYN (tcp_select_initial_window with default rmem). */
  readonly synWindow: number;
  readonly synAckWindow: number;
  /** Receive window advertised after the handshake, before scaling. */
  readonly window: number;
}

/** What any TCP endpoint needs from its TCP layer. */
export interface TcpEndpointPort {
  /** Clock, timers and the run's seeded random numbers. */
  readonly sched: Scheduler;
  /** Monotonic and wall clocks, jiffies and the timer wheel of this kernel. */
  readonly clock: KernelClock;
  readonly sysctls: TcpSysctls;
  route(dst: number): TcpRoute;
  /** ip_local_out() of a segment the endpoint built, with the owner `-m owner` matches; false when the output path dropped it (-EPERM). */
  output(seg: SegmentOut, ipId: number, owner: SocketOwner): boolean;
  event(e: TcpEvent): void;
}

export type SegmentFields = Omit<SegmentOut, 'src' | 'dst' | 'sport' | 'dport'>;

export abstract class TcpEndpoint implements SockRef {
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  /** Port taken by bind() (not by connect()'s ephemeral choice). */
  boundByBind = false;
  /** SO_REUSEADDR (sk_reuse) and SO_REUSEPORT (sk_reuseport), as bind conflicts read them. */
  reuseAddr = false;
  reusePort = false;
  /** The application closed its fd: the kernel owns the socket now (tcp_close). */
  orphan = false;
  rcvNxt = 0;
  sndNxt = 0;
  rcvWscale = 0;
  tsOn = false;
  tsRecent = 0;
  /** ktime_get_seconds() when tsRecent was last taken from the peer (0: never; tcp_twsk_unique reads it). */
  tsRecentStamp = 0;
  /** The same moment on tcp_clock_ms() (v6.13+ compares it with net.ipv4.tcp_tw_reuse_delay). */
  tsRecentStampMs = 0;
  tsOffset = 0;
  /** Last out-of-window / challenge ACK (ns), for tcp_invalid_ratelimit. */
  lastOowAck = -1;

  constructor(
    readonly port: TcpEndpointPort,
    readonly uid: number,
    readonly gid: number,
    readonly id: number,
    /** IP ID of the last segment sent (inet_id). */
    public ipId: number,
  ) {}

  /** Linux TCP state (tcp_states.h). */
  abstract readonly state: number;

  get now(): number {
    return this.port.sched.now;
  }

  /** An immutable copy of this endpoint's identity, for events. */
  ref(): SockRef {
    return { id: this.id, uid: this.uid, localAddr: this.localAddr, localPort: this.localPort, remoteAddr: this.remoteAddr, remotePort: this.remotePort };
  }

  describe(): string {
    return formatSockPair(this);
  }

  /** tcp_time_stamp_ts(): the monotonic millisecond clock plus this connection's offset. */
  protected tsVal(): number {
    return (this.port.clock.ms() + this.tsOffset) >>> 0;
  }

  /** tcp_store_ts_recent(): the peer's last timestamp and when it was taken. */
  protected storeTsRecent(tsval: number): void {
    this.tsRecent = tsval;
    this.tsRecentStamp = this.port.clock.seconds();
    this.tsRecentStampMs = this.port.clock.ms();
  }

  protected tsOpt(): { val: number; ecr: number } | null {
    return this.tsOn ? { val: this.tsVal(), ecr: this.tsRecent } : null;
  }

  protected advertisedWindow(): number {
    return this.port.route(this.remoteAddr).window >>> this.rcvWscale;
  }

  /** Sends a segment of this connection (the next IP ID, our tuple and owner); false when the local output path dropped it. */
  protected transmit(s: SegmentFields): boolean {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.port.output({ src: this.localAddr, dst: this.remoteAddr, sport: this.localPort, dport: this.remotePort, ...s }, this.ipId, { uid: this.uid, gid: this.gid });
  }

  /** tcp_send_ack(): a pure ACK with our current seq/ack. */
  sendAck(): void {
    this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.ACK, window: this.advertisedWindow(), options: tsOptions(this.tsOpt()) });
  }

  /** __tcp_oow_rate_limited(): at most one out-of-window/challenge ACK per tcp_invalid_ratelimit. */
  protected oowRateLimited(): boolean {
    const limit = this.port.sysctls.tcp_invalid_ratelimit * MS;
    if (this.lastOowAck >= 0) {
      const elapsed = this.now - this.lastOowAck;
      if (elapsed >= 0 && elapsed < limit) return true;
    }
    this.lastOowAck = this.now;
    return false;
  }

  /** Timer description for `ss -o`. */
  abstract timerInfo(): string;
  abstract hasTimer(): boolean;
  /** Bytes received and not read (ss Recv-Q). */
  abstract readonly recvQueued: number;
}
