// An Envoy-like tcp_proxy sidecar, as Istio runs it: a listener (15001 virtualOutbound, 15006
// virtualInbound; uid 1337 so its own traffic escapes the capture rules) recovers each accepted
// connection's original destination with SO_ORIGINAL_DST (Envoy's ORIGINAL_DST cluster) or uses
// a fixed upstream, optionally from a fixed local address (127.0.0.6 for inbound passthrough),
// and proxies bytes. Envoy's half-close semantics (envoyproxy/envoy#2386): a read EOF on one side
// becomes shutdown(SHUT_WR) on the other; a connection is closed only when both directions have
// ended, on a reset, or when the idle timeout (tcp_proxy idle_timeout, default 1 h) fires — then
// both sides are closed without flush. With halfClose 'close' a read EOF on either side closes both.
// The downstream is read only once the upstream is connected; an upstream that does not answer
// within the cluster's connect_timeout (Istio: 10 s) closes the downstream (unread data: RST).
import type { Host } from '../stack/host.js';
import type { Timer } from '../stack/scheduler.js';
import { SEC } from '../stack/scheduler.js';
import type { CallErrno, SocketError } from '../stack/tcp/tcp-events.js';
import { formatEndpoint } from '../stack/tcp/tcp-events.js';
import type { TcpSocket } from '../stack/tcp/tcp-socket.js';
import { TcpState } from '../stack/tcp/tcp-state.js';
import { mustSucceed } from '../stack/tcp/tcp-socket.js';

export interface TcpProxyOptions {
  listenPort?: number;
  uid?: number;
  gid?: number;
  /** tcp_proxy idle_timeout in ns (default 1 h; 0 disables). */
  idleTimeoutNs?: number;
  /** A fixed upstream instead of SO_ORIGINAL_DST. */
  upstream?: { addr: number; port: number };
  /** What a read EOF does: 'shutdown-wr' (Envoy's half-close, default) or 'close' both sides. */
  halfClose?: 'shutdown-wr' | 'close';
  /** Local address of upstream connections (0: chosen by the route). */
  source?: number;
  /** The proxy's typed events (what Envoy's access log and connection stats would show). */
  onEvent?: (e: ProxyEvent) => void;
  /** The upstream cluster's connect_timeout in ns (Istio's default 10 s; 0 disables). */
  connectTimeoutNs?: number;
}

/** What the proxy did, per connection (numbered from 1 in accept order); endpoints as "a.b.c.d:port". */
export type ProxyEvent =
  | { ev: 'proxy-accept'; conn: number; peer: string; orig: string }
  | { ev: 'no-original-dst'; conn: number; peer: string }
  | { ev: 'upstream-connected'; conn: number; local: string }
  | { ev: 'upstream-error'; conn: number; error: SocketError | CallErrno }
  | { ev: 'down-eof'; conn: number }
  | { ev: 'up-eof'; conn: number }
  | { ev: 'down-error'; conn: number; error: SocketError }
  | { ev: 'up-error'; conn: number; error: SocketError }
  | { ev: 'idle-timeout'; conn: number }
  | { ev: 'close'; conn: number; reason: string };

export interface ProxiedConnection {
  id: number;
  downstream: TcpSocket;
  upstream: TcpSocket | null;
  downEof: boolean;
  upEof: boolean;
  downShut: boolean;
  upShut: boolean;
  closed: boolean;
  closeReason?: string;
  /** Virtual time (ns) Envoy closed the connection. */
  closedAt?: number;
  idle?: () => Timer | null;
}

export class TcpProxy {
  readonly listener: TcpSocket;
  readonly connections: ProxiedConnection[] = [];
  private nextId = 1;
  readonly idleTimeoutNs: number;
  private readonly halfClose: 'shutdown-wr' | 'close';
  readonly connectTimeoutNs: number;

  constructor(readonly host: Host, readonly opts: TcpProxyOptions = {}) {
    this.idleTimeoutNs = opts.idleTimeoutNs ?? 3600 * SEC;
    this.halfClose = opts.halfClose ?? 'shutdown-wr';
    this.connectTimeoutNs = opts.connectTimeoutNs ?? 10 * SEC;
    this.listener = host.tcp.socket({ uid: opts.uid ?? 1337, gid: opts.gid ?? opts.uid ?? 1337 });
    this.listener.reuseAddr = true;
    mustSucceed(this.listener.bind(0, opts.listenPort ?? 15001), `proxy bind(0.0.0.0:${opts.listenPort ?? 15001}) on ${host.name}`);
    mustSucceed(this.listener.listen(), `proxy listen() on ${host.name}`);
    this.listener.onAccept = (down) => this.accept(down);
  }

  private log(c: ProxiedConnection, text: string): void {
    this.host.event(`envoy C${c.id}: ${text}`, 'app');
  }

  private emit(e: ProxyEvent): void {
    this.opts.onEvent?.(e);
  }

  private accept(down: TcpSocket): void {
    const c: ProxiedConnection = { id: this.nextId++, downstream: down, upstream: null, downEof: false, upEof: false, downShut: false, upShut: false, closed: false };
    this.connections.push(c);
    const peer = formatEndpoint(down.remoteAddr, down.remotePort);
    const orig = this.opts.upstream ?? down.originalDst();
    if (!orig) {
      this.log(c, `accepted ${peer}, SO_ORIGINAL_DST failed (no conntrack entry): closing`);
      this.emit({ ev: 'no-original-dst', conn: c.id, peer });
      this.closeBoth(c, 'no original destination');
      return;
    }
    const origText = formatEndpoint(orig.addr, orig.port);
    this.log(c, `accepted ${peer}, ${this.opts.upstream ? 'upstream' : 'original destination'} ${origText}`);
    this.emit({ ev: 'proxy-accept', conn: c.id, peer, orig: origText });
    const up = this.host.tcp.socket({ uid: this.opts.uid ?? 1337, gid: this.opts.gid ?? this.opts.uid ?? 1337 });
    c.upstream = up;
    let upConnected = false;
    let idle: Timer | null = null;
    const touch = () => {
      if (this.idleTimeoutNs <= 0 || c.closed) return;
      idle?.cancel();
      idle = this.host.sched.after(this.idleTimeoutNs, () => {
        this.log(c, `idle timeout (${this.idleTimeoutNs / SEC} s): closing both sides (NoFlush)`);
        this.emit({ ev: 'idle-timeout', conn: c.id });
        this.closeBoth(c, 'idle timeout');
      });
    };
    touch();
    const forwardDown = (d: Uint8Array) => {
      touch();
      if (up.state !== TcpState.CLOSE && !c.upShut) up.send(d);
    };
    const downEof = () => {
      c.downEof = true;
      this.emit({ ev: 'down-eof', conn: c.id });
      if (this.halfClose === 'close') {
        this.log(c, 'downstream closed its side: closing both');
        this.closeBoth(c, 'downstream closed');
        return;
      }
      this.log(c, 'downstream half-closed: shutdown(SHUT_WR) upstream');
      c.upShut = true;
      up.shutdown('wr');
      this.maybeDone(c);
    };
    up.onData = (d) => {
      touch();
      if (down.state !== TcpState.CLOSE && !c.downShut) down.send(d);
    };
    up.onEof = () => {
      c.upEof = true;
      this.emit({ ev: 'up-eof', conn: c.id });
      if (this.halfClose === 'close') {
        this.log(c, 'upstream closed its side: closing both');
        this.closeBoth(c, 'upstream closed');
        return;
      }
      this.log(c, 'upstream half-closed: shutdown(SHUT_WR) downstream');
      c.downShut = true;
      down.shutdown('wr');
      this.maybeDone(c);
    };
    const downError = (e: SocketError) => {
      this.log(c, `downstream ${e}: closing upstream`);
      this.emit({ ev: 'down-error', conn: c.id, error: e });
      c.downEof = true;
      this.closeBoth(c, `downstream ${e}`);
    };
    up.onError = (e) => {
      this.log(c, `upstream ${e}: closing downstream`);
      this.emit(!upConnected ? { ev: 'upstream-error', conn: c.id, error: e } : { ev: 'up-error', conn: c.id, error: e });
      c.upEof = true;
      this.closeBoth(c, `upstream ${e}`);
    };
    // Envoy's tcp_proxy reads the downstream only once the upstream is connected (until then the
    // request waits in the socket's receive queue, a FIN in it is seen after the data, and a reset
    // at the first read).
    up.onConnect = () => {
      upConnected = true;
      const local = formatEndpoint(up.localAddr, up.localPort);
      this.log(c, `upstream connected from ${local}`);
      this.emit({ ev: 'upstream-connected', conn: c.id, local });
      connectTimer?.cancel();
      if (down.pendingError) {
        downError(down.pendingError); // reset while not read: seen at the first read
        return;
      }
      const queued = down.recv();
      if (queued.length) forwardDown(queued);
      down.onData = forwardDown;
      down.onError = downError;
      if (down.state === TcpState.CLOSE_WAIT || down.state === TcpState.LAST_ACK) downEof();
      else down.onEof = downEof;
    };
    c.idle = () => idle;
    let connectTimer: Timer | null = null;
    const bound = this.opts.source ? up.bind(this.opts.source, 0) : null;
    const r = bound && bound.errno !== null ? bound : up.connect(orig.addr, orig.port);
    if (r.errno !== null) {
      this.log(c, `upstream connect() to ${origText} failed: ${r.errno}: closing downstream`);
      this.emit({ ev: 'upstream-error', conn: c.id, error: r.errno });
      this.closeBoth(c, `upstream ${r.errno}`);
      return;
    }
    if (this.connectTimeoutNs > 0) {
      connectTimer = this.host.sched.after(this.connectTimeoutNs, () => {
        if (up.state !== TcpState.SYN_SENT) return;
        this.log(c, `upstream connect timeout (${this.connectTimeoutNs / SEC} s): closing both sides`);
        this.closeBoth(c, 'upstream connect timeout');
      });
    }
  }

  /** Both directions ended (read EOF seen and write end sent on each side): close. */
  private maybeDone(c: ProxiedConnection): void {
    if (c.downEof && c.upEof) this.closeBoth(c, 'both directions closed');
  }

  private closeBoth(c: ProxiedConnection, why: string): void {
    if (c.closed) return;
    c.closed = true;
    c.closeReason = why;
    c.closedAt = this.host.sched.now;
    c.idle?.()?.cancel();
    this.emit({ ev: 'close', conn: c.id, reason: why });
    c.downstream.close();
    c.upstream?.close();
  }

  /** Connections Envoy still holds (not closed). */
  open(): ProxiedConnection[] {
    return this.connections.filter((c) => !c.closed);
  }
}
