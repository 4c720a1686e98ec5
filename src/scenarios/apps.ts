// Small scriptable applications on emulated sockets, so a scenario is a few lines: a server that
// answers each request and may close first, and a client that connects (from a chosen port or an
// ephemeral one), sends, and closes when told.
import type { Host } from '../stack/host.js';
import { CALL_OK, type CallErrno, type CallResult } from '../stack/tcp/tcp-events.js';
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
  /** Every attempt failed at once: the errno of the last bind() or connect() (EADDRNOTAVAIL, EADDRINUSE). */
  callError?: CallErrno;
  callErrorAt?: number;
  localPort?: number;
  received: number;
  eofAt?: number;
  /** The socket of each attempt, in order (the last one is the connection). */
  sockets: TcpSocket[];
}

export interface ConnectPlan {
  /** bind() this port first (with SO_REUSEADDR); otherwise connect() picks an ephemeral port. */
  fromPort?: number;
  request?: Uint8Array;
  label?: string;
  /** What-if ISN overrides (see TcpSocket.connect). */
  iss?: number;
  issFor?: (localPort: number) => number | undefined;
  /**
   * When bind() or connect() fails at once (EADDRINUSE, EADDRNOTAVAIL), close the socket and try
   * again with a new one `retryNs` later, up to `attempts` tries in all (1: no retry). The
   * scenario lab's application (src/kerneldiff/real/app.py) does the same.
   */
  attempts?: number;
  retryNs?: number;
}

/** A client connection: its current socket (one per attempt) and what happened. */
export interface ClientConnection {
  readonly socket: TcpSocket;
  readonly result: ClientResult;
}

export class ClientApp {
  constructor(readonly host: Host, readonly uid = 1000) {}

  /** connect() as an application does it, retrying calls that fail at once when asked to. */
  connect(addr: number, port: number, o: ConnectPlan = {}): ClientConnection {
    const result: ClientResult = { received: 0, sockets: [] };
    const label = o.label ?? 'app';
    const attempts = Math.max(1, o.attempts ?? 1);
    const attempt = (n: number): void => {
      const s = this.host.tcp.socket({ uid: this.uid, gid: this.uid });
      result.sockets.push(s);
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
      let r: CallResult = CALL_OK;
      if (o.fromPort !== undefined) {
        s.reuseAddr = true;
        r = s.bind(0, o.fromPort);
      }
      if (r.errno === null) r = s.connect(addr, port, { iss: o.iss, issFor: o.issFor });
      if (r.errno === null) {
        delete result.callError;
        delete result.callErrorAt;
        result.localPort = s.localPort;
        this.host.event(`${label}: connect() from port ${s.localPort} to ${formatIpv4Address(addr)}:${port}${n > 1 ? ` (attempt ${n})` : ''}`, 'app');
        return;
      }
      result.callError = r.errno;
      result.callErrorAt = this.host.sched.now;
      s.close();
      const again = n < attempts;
      this.host.event(`${label}: ${o.fromPort !== undefined ? `bind(${o.fromPort})/` : ''}connect() failed: ${r.errno} (attempt ${n} of ${attempts})${again ? `, retrying in ${(o.retryNs ?? 0) / 1e9} s` : ''}`, 'app');
      if (again) this.host.sched.after(o.retryNs ?? 0, () => attempt(n + 1));
    };
    attempt(1);
    return {
      get socket() {
        return result.sockets[result.sockets.length - 1];
      },
      result,
    };
  }
}
