// Small scriptable applications on emulated sockets, so a scenario is a few lines: a server that
// answers each request and may close first, and a client that connects (from a chosen port or an
// ephemeral one), sends, and closes when told.
import type { Host } from '../stack/host.js';
import type { SocketError, TcpSocket } from '../stack/tcp/tcp-socket.js';
import { mustSucceed } from '../stack/tcp/tcp-socket.js';
import { formatIpv4Address } from '../wire/index.js';

export interface ServerOptions {
  port: number;
  /** Bytes to answer each request with. */
  response?: Uint8Array;
  /** After answering, half-close (shutdown(SHUT_WR)) after this many ns; undefined = never. */
  closeAfterNs?: number;
  /** Use close() instead of shutdown(SHUT_WR) when closing. */
  fullClose?: boolean;
  uid?: number;
}

export class ServerApp {
  readonly listener: TcpSocket;
  readonly accepted: TcpSocket[] = [];

  constructor(readonly host: Host, readonly o: ServerOptions) {
    this.listener = host.tcp.socket({ uid: o.uid ?? 0 });
    this.listener.reuseAddr = true;
    mustSucceed(this.listener.bind(0, o.port), `server bind(0.0.0.0:${o.port}) on ${host.name}`);
    mustSucceed(this.listener.listen(), `server listen() on ${host.name}:${o.port}`);
    this.listener.onAccept = (c) => this.serve(c);
  }

  private serve(c: TcpSocket): void {
    this.accepted.push(c);
    const who = `${formatIpv4Address(c.remoteAddr)}:${c.remotePort}`;
    c.onData = (d) => {
      this.host.event(`server :${this.o.port} got ${d.length} bytes from ${who}`, 'app');
      if (this.o.response && c.state !== 7) c.send(this.o.response);
      if (this.o.closeAfterNs !== undefined) {
        this.host.sched.after(this.o.closeAfterNs, () => {
          if (c.state === 7) return;
          this.host.event(`server :${this.o.port} ${this.o.fullClose ? 'close()' : 'shutdown(SHUT_WR)'} to ${who}`, 'app');
          if (this.o.fullClose) c.close();
          else c.shutdown('wr');
        });
      }
    };
    // The server closes for good once the peer has closed too.
    c.onEof = () => c.close();
    c.onError = () => undefined;
  }
}

export interface ClientResult {
  connectedAt?: number;
  error?: SocketError;
  errorAt?: number;
  localPort?: number;
  received: number;
  eofAt?: number;
}

export class ClientApp {
  constructor(readonly host: Host, readonly uid = 1000) {}

  /** connect(); optionally from a fixed local port (bind with SO_REUSEADDR first). */
  connect(addr: number, port: number, o: { fromPort?: number; request?: Uint8Array; label?: string; iss?: number; issFor?: (localPort: number) => number | undefined } = {}): { socket: TcpSocket; result: ClientResult } {
    const s = this.host.tcp.socket({ uid: this.uid, gid: this.uid });
    const result: ClientResult = { received: 0 };
    const label = o.label ?? 'app';
    if (o.fromPort !== undefined) {
      s.reuseAddr = true;
      s.bind(0, o.fromPort);
    }
    s.onConnect = () => {
      result.connectedAt = this.host.sched.now;
      this.host.event(`${label}: connected ${formatIpv4Address(s.localAddr)}:${s.localPort} -> ${formatIpv4Address(addr)}:${port}`, 'app');
      if (o.request) s.send(o.request);
    };
    s.onData = (d) => {
      result.received += d.length;
    };
    s.onEof = () => {
      result.eofAt = this.host.sched.now;
      this.host.event(`${label}: read EOF (peer closed its side); socket now CLOSE_WAIT until the app closes`, 'app');
    };
    s.onError = (e) => {
      result.error = e;
      result.errorAt = this.host.sched.now;
      this.host.event(`${label}: connect/recv error ${e}`, 'app');
    };
    s.connect(addr, port, { iss: o.iss, issFor: o.issFor });
    result.localPort = s.localPort;
    this.host.event(`${label}: connect() from port ${s.localPort} to ${formatIpv4Address(addr)}:${port}`, 'app');
    return { socket: s, result };
  }
}
