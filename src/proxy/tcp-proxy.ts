// An Envoy-like tcp_proxy sidecar, as Istio runs it: a listener on 15001 (virtualOutbound, uid
// 1337 so its own traffic escapes the capture rules) recovers each accepted connection's original
// destination with SO_ORIGINAL_DST and proxies bytes to it. Envoy's half-close semantics
// (envoyproxy/envoy#2386): a read EOF on one side becomes shutdown(SHUT_WR) on the other; a
// connection is closed only when both directions have ended, on a reset, or when the idle
// timeout (tcp_proxy idle_timeout, default 1 h) fires — then both sides are closed without flush.
// The downstream is read only once the upstream is connected; an upstream that does not answer
// within the cluster's connect_timeout (Istio: 10 s) closes the downstream (unread data: RST).
import type { Host } from '../stack/host.js';
import type { Timer } from '../stack/scheduler.js';
import { SEC } from '../stack/scheduler.js';
import type { TcpSocket } from '../stack/tcp/tcp-socket.js';
import { TcpState } from '../stack/tcp/tcp-state.js';
import { mustSucceed } from '../stack/tcp/tcp-socket.js';
import { formatIpv4Address } from '../wire/index.js';

export interface TcpProxyOptions {
  listenPort?: number;
  uid?: number;
  gid?: number;
  /** tcp_proxy idle_timeout in ns (default 1 h; 0 disables). */
  idleTimeoutNs?: number;
  /** The upstream cluster's connect_timeout in ns (Istio's default 10 s; 0 disables). */
  connectTimeoutNs?: number;
}

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
  readonly connectTimeoutNs: number;

  constructor(readonly host: Host, readonly opts: TcpProxyOptions = {}) {
    this.idleTimeoutNs = opts.idleTimeoutNs ?? 3600 * SEC;
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

  private accept(down: TcpSocket): void {
    const c: ProxiedConnection = { id: this.nextId++, downstream: down, upstream: null, downEof: false, upEof: false, downShut: false, upShut: false, closed: false };
    this.connections.push(c);
    const orig = down.originalDst();
    if (!orig) {
      this.log(c, `accepted ${formatIpv4Address(down.remoteAddr)}:${down.remotePort}, SO_ORIGINAL_DST failed (no conntrack entry): closing`);
      this.closeBoth(c, 'no original destination');
      return;
    }
    this.log(c, `accepted ${formatIpv4Address(down.remoteAddr)}:${down.remotePort}, original destination ${formatIpv4Address(orig.addr)}:${orig.port}`);
    const up = this.host.tcp.socket({ uid: this.opts.uid ?? 1337, gid: this.opts.gid ?? this.opts.uid ?? 1337 });
    c.upstream = up;
    let idle: Timer | null = null;
    const touch = () => {
      if (this.idleTimeoutNs <= 0 || c.closed) return;
      idle?.cancel();
      idle = this.host.sched.after(this.idleTimeoutNs, () => {
        this.log(c, `idle timeout (${this.idleTimeoutNs / SEC} s): closing both sides (NoFlush)`);
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
      this.log(c, 'upstream half-closed: shutdown(SHUT_WR) downstream');
      c.downShut = true;
      down.shutdown('wr');
      this.maybeDone(c);
    };
    const downError = (e: string) => {
      this.log(c, `downstream ${e}: closing upstream`);
      c.downEof = true;
      this.closeBoth(c, `downstream ${e}`);
    };
    up.onError = (e) => {
      this.log(c, `upstream ${e}: closing downstream`);
      c.upEof = true;
      this.closeBoth(c, `upstream ${e}`);
    };
    // Envoy's tcp_proxy reads the downstream only once the upstream is connected (until then the
    // request waits in the socket's receive queue, a FIN in it is seen after the data, and a reset
    // at the first read).
    up.onConnect = () => {
      this.log(c, `upstream connected from ${formatIpv4Address(up.localAddr)}:${up.localPort}`);
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
    const r = up.connect(orig.addr, orig.port);
    if (r.errno !== null) {
      this.log(c, `upstream connect() to ${formatIpv4Address(orig.addr)}:${orig.port} failed: ${r.errno}: closing downstream`);
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
    c.downstream.close();
    c.upstream?.close();
  }

  /** Connections Envoy still holds (not closed). */
  open(): ProxiedConnection[] {
    return this.connections.filter((c) => !c.closed);
  }
}
