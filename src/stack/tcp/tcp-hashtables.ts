// Who owns which port and 4-tuple in one network namespace, as struct inet_hashinfo keeps it: the
// established hash (full sockets and TIME_WAIT minisockets by 4-tuple), the listeners, and the
// bind hash (one bucket per local port listing every socket that holds it: bound, connected,
// accepted or in TIME_WAIT). The rules are Linux's:
//  - bind(): inet_csk_get_port() / inet_bind_conflict() (net/ipv4/inet_connection_sock.c): a port
//    held by another socket on an overlapping address is refused (EADDRINUSE) unless both have
//    SO_REUSEADDR and the other is not listening, or both have SO_REUSEPORT and the same owner (or
//    the other is in TIME_WAIT);
//  - connect(): inet_hash_connect() (net/ipv4/inet_hashtables.c). A bound port goes straight to
//    __inet_check_established(): a socket already on the 4-tuple makes it EADDRNOTAVAIL, except a
//    TIME_WAIT minisocket that saw timestamps, which tcp_twsk_unique() lets the new connection
//    take over (killing it; the new ISN continues its sequence space). An unbound socket gets an
//    ephemeral port from __inet_hash_connect(): ports whose bucket was made by bind() are skipped,
//    a TIME_WAIT tuple is reused only with net.ipv4.tcp_tw_reuse (2, the default: loopback only),
//    timestamps, and a last timestamp from an earlier second (v6.13+: tcp_tw_reuse_delay ms old).
// The TCP layer acts on the answers (events, killing the minisocket); this table only decides.
import type { TcpEndpoint } from './tcp-endpoint.js';
import type { CallFailure } from './tcp-events.js';
import type { TcpSock } from './tcp-sock.js';
import { TcpState } from './tcp-state.js';
import { TimeWaitSock } from './tcp-timewait.js';

const LOOPBACK_NET = 0x7f000000;
const isLoopback = (a: number) => (a >>> 24) === LOOPBACK_NET >>> 24;

export const tupleKey = (la: number, lp: number, ra: number, rp: number) => `${la >>> 0}:${lp}:${ra >>> 0}:${rp}`;
const listenKey = (la: number, lp: number) => `${la >>> 0}:${lp}`;

/** struct inet_bind_bucket: fastreuse is -1 when connect() made the bucket, else 1 while every holder allows SO_REUSEADDR sharing. */
class BindBucket {
  fastreuse: -1 | 0 | 1 = 0;
  readonly owners = new Set<TcpEndpoint>();
}

/** What connect() may take over: a TIME_WAIT minisocket on the tuple (tcp_twsk_unique() said yes). */
export interface TimeWaitReuse {
  tw: TimeWaitSock;
  /** The new connection's ISN: tw_snd_nxt + 65535 + 2 (never 0). */
  writeSeq: number;
  tsRecent: number;
  tsRecentStamp: number;
  tsRecentStampMs: number;
}

export type HashConnectResult =
  | { ok: true; port: number; reuse: TimeWaitReuse | null }
  | { ok: false; failure: CallFailure };

export interface HashSettings {
  /** net.ipv4.ip_local_port_range */
  portRange: readonly [number, number];
  /** net.ipv4.tcp_tw_reuse: 0 never, 1 always, 2 loopback only (ephemeral ports only). */
  twReuse: number;
  /** ktime_get_seconds() and tcp_clock_ms() now (tcp_twsk_unique's "last timestamp old enough"). */
  seconds: number;
  ms: number;
  /** net.ipv4.tcp_tw_reuse_delay (ms, v6.13+), or null before it existed (then: an earlier second). */
  reuseDelayMs: number | null;
  /** tcp_twsk_unique() refuses a FIN_WAIT2-substate minisocket for ephemeral reuse (a kernel fact). */
  finWait2NoReuse: boolean;
}

export class InetHashinfo {
  /** Established hash: connected sockets and TIME_WAIT minisockets, by 4-tuple. */
  private readonly ehash = new Map<string, TcpSock | TimeWaitSock>();
  private readonly listeners = new Map<string, TcpSock>();
  private readonly bhash = new Map<number, BindBucket>();

  established(la: number, lp: number, ra: number, rp: number): TcpSock | TimeWaitSock | undefined {
    return this.ehash.get(tupleKey(la, lp, ra, rp));
  }

  listener(addr: number, port: number): TcpSock | undefined {
    return this.listeners.get(listenKey(addr, port)) ?? this.listeners.get(listenKey(0, port));
  }

  /** Does the bucket of `port` have any holder (bind(0)'s free-port test)? */
  portHeld(port: number): boolean {
    return (this.bhash.get(port)?.owners.size ?? 0) > 0;
  }

  // ------------------------------------------------------------ bind hash

  /**
   * inet_bind_conflict() with relax and reuseport_ok set, as inet_csk_get_port() calls it, on an
   * overlapping address (inet_rcv_saddr_equal() with wildcards). Returns the first holder `s`
   * conflicts with, or null. A bound socket that is not connected (state CLOSE) holds its port too.
   * `listening`: the check inet_csk_listen_start() repeats for `s` becoming a listener.
   */
  conflict(s: TcpEndpoint, addr: number, port: number, listening = false): TcpEndpoint | null {
    const b = this.bhash.get(port);
    if (!b) return null;
    // inet_csk_update_fastreuse() for a listener: the bucket no longer shares by SO_REUSEADDR.
    if (listening) b.fastreuse = b.fastreuse === 1 ? 0 : b.fastreuse;
    for (const o of b.owners) {
      if (o === s) continue;
      if (addr !== 0 && o.localAddr !== 0 && o.localAddr >>> 0 !== addr >>> 0) continue;
      if (s.reuseAddr && o.reuseAddr && o.state !== TcpState.LISTEN) continue;
      if (s.reusePort && o.reusePort && (o instanceof TimeWaitSock || o.uid === s.uid)) continue;
      return o;
    }
    return null;
  }

  /** inet_bind_hash() + inet_csk_update_fastreuse(): `s` now holds `port`; `byConnect` marks a bucket connect() created. */
  hold(s: TcpEndpoint, port: number, byConnect = false): void {
    let b = this.bhash.get(port);
    const reuse = s.reuseAddr && s.state !== TcpState.LISTEN;
    if (!b) {
      this.bhash.set(port, (b = new BindBucket()));
      b.fastreuse = byConnect ? -1 : reuse ? 1 : 0;
    } else if (!reuse && b.fastreuse === 1) {
      b.fastreuse = 0;
    }
    b.owners.add(s);
  }

  /** __inet_put_port(): the bucket is freed with its last holder. */
  release(s: TcpEndpoint): void {
    const b = this.bhash.get(s.localPort);
    if (!b) return;
    b.owners.delete(s);
    if (b.owners.size === 0) this.bhash.delete(s.localPort);
  }

  // ------------------------------------------------------------ listeners and the established hash

  /** inet_csk_listen_start(): hashed as a listener (a second listener on the same address:port was refused by conflict()). */
  hashListener(s: TcpSock): void {
    this.listeners.set(listenKey(s.localAddr, s.localPort), s);
  }

  /** A listener's child (tcp_v4_syn_recv_sock): in the established hash and its parent's bucket (__inet_inherit_port). */
  hashChild(child: TcpSock): void {
    this.hold(child, child.localPort);
    this.ehash.set(tupleKey(child.localAddr, child.localPort, child.remoteAddr, child.remotePort), child);
  }

  /**
   * inet_hash_connect() for `s` (its local address set) towards ra:rp. On success the socket is in
   * the established hash and holds its port; a TIME_WAIT minisocket to take over is returned for
   * the caller to kill.
   */
  hashConnect(s: TcpSock, ra: number, rp: number, o: HashSettings, choosePort: (usable: (port: number) => boolean) => number): HashConnectResult {
    const la = s.localAddr;
    if (s.localPort) {
      const r = this.checkEstablished(s, s.localPort, ra, rp, o, false);
      if (!r.ok) return r;
      this.ehash.set(tupleKey(la, s.localPort, ra, rp), s);
      return { ok: true, port: s.localPort, reuse: r.reuse };
    }
    let reuse: TimeWaitReuse | null = null;
    const port = choosePort((cand) => {
      const b = this.bhash.get(cand);
      if (!b) return true;
      if (b.fastreuse >= 0) return false; // a bind()-made bucket is never shared with connect()
      const r = this.checkEstablished(s, cand, ra, rp, o, true);
      if (!r.ok) return false;
      reuse = r.reuse;
      return true;
    });
    if (port < 0) return { ok: false, failure: { kind: 'no-ephemeral-port' } };
    this.hold(s, port, true);
    this.ehash.set(tupleKey(la, port, ra, rp), s);
    return { ok: true, port, reuse };
  }

  /** __inet_check_established() and tcp_twsk_unique(); `ephemeral` is the twp != NULL case. */
  private checkEstablished(s: TcpSock, lp: number, ra: number, rp: number, o: HashSettings, ephemeral: boolean): { ok: true; reuse: TimeWaitReuse | null } | { ok: false; failure: CallFailure } {
    const holder = this.ehash.get(tupleKey(s.localAddr, lp, ra, rp));
    if (!holder || holder === s) return { ok: true, reuse: null };
    const tw = holder instanceof TimeWaitSock ? holder : null;
    if (tw && tw.state !== TcpState.CLOSE) {
      let reuse = o.twReuse;
      if (o.finWait2NoReuse && tw.state === TcpState.FIN_WAIT2) reuse = 0;
      if (reuse === 2 && !isLoopback(tw.remoteAddr) && !isLoopback(tw.localAddr)) reuse = 0;
      const stamp = tw.tsRecentStamp;
      const oldEnough = o.reuseDelayMs === null ? o.seconds > stamp : ((o.ms - (tw.tsRecentStampMs + o.reuseDelayMs)) | 0) > 0;
      if (stamp && (!ephemeral || (reuse && oldEnough))) {
        return { ok: true, reuse: { tw, writeSeq: ((tw.sndNxt + 65535 + 2) >>> 0) || 1, tsRecent: tw.tsRecent, tsRecentStamp: stamp, tsRecentStampMs: tw.tsRecentStampMs } };
      }
    }
    return { ok: false, failure: { kind: 'tuple-in-use', holder: holder.ref(), holderState: holder.state } };
  }

  /** The socket is closed: out of every table. */
  unhash(s: TcpSock): void {
    const k = tupleKey(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.ehash.get(k) === s) this.ehash.delete(k);
    const lk = listenKey(s.localAddr, s.localPort);
    if (this.listeners.get(lk) === s) this.listeners.delete(lk);
    this.release(s);
  }

  /** inet_twsk_hashdance_schedule(): the minisocket takes the socket's place in the ehash and its bucket. */
  hashTimeWait(s: TcpSock, tw: TimeWaitSock): void {
    const k = tupleKey(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.ehash.get(k) === s) this.ehash.set(k, tw);
    const b = this.bhash.get(s.localPort);
    if (b) {
      b.owners.delete(s);
      b.owners.add(tw);
    } else {
      this.hold(tw, tw.localPort);
    }
  }

  /** inet_twsk_kill(): the tuple and the port are free. */
  releaseTimeWait(tw: TimeWaitSock): void {
    const k = tupleKey(tw.localAddr, tw.localPort, tw.remoteAddr, tw.remotePort);
    if (this.ehash.get(k) === tw) this.ehash.delete(k);
    this.release(tw);
  }
}
