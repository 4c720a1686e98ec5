// One emulated Linux TCP socket as an application holds it: the socket calls (net/ipv4/tcp.c,
// af_inet.c: bind, listen, connect, send, recv, shutdown, close, getsockopt(SO_ORIGINAL_DST)) on
// top of segment processing (tcp-input.ts), output and timers (tcp-output.ts) and the control
// block (tcp-sock.ts). The socket reaches its TCP layer only through TcpSocketPort.
import { TcpFlag, seqAdd } from '../../wire/index.js';
import { CALL_OK, Cause, formatCallFailure, type CallErrno, type CallFailure, type CallResult, type SocketCall } from './tcp-events.js';
import { TcpInputSock } from './tcp-input.js';
import { TcpState } from './tcp-state.js';

export type { CallResult, SocketError } from './tcp-events.js';
export type { TcpSocketPort } from './tcp-sock.js';

/** A socket call failed where the caller treats failure as a configuration error (listeners of a scenario, tests). */
export class TcpError extends Error {
  override readonly name = 'TcpError';
  constructor(readonly kind: CallErrno, readonly failure: CallFailure, what: string) {
    super(`${what}: ${kind} (${formatCallFailure(failure)})`);
  }
}

/** Throws a TcpError when `r` failed; `what` names the call for the message. */
export function mustSucceed(r: CallResult, what: string): void {
  if (r.errno !== null) throw new TcpError(r.errno, r.failure, what);
}

/** What-if overrides of connect(). */
export interface ConnectOptions {
  /** The ISN to use instead of secure_tcp_seq() (reproduces one half of a sequence-dependent outcome). */
  iss?: number;
  /** Like iss, decided once the local port is known (undefined: Linux's ISN). */
  issFor?: (localPort: number) => number | undefined;
}

export class TcpSocket extends TcpInputSock {
  declare parent: TcpSocket | null;
  /** Established children not yet handed to onAccept's caller (accept()). */
  readonly acceptQueue: TcpSocket[] = [];
  onAccept?: (child: TcpSocket) => void;

  /** Reports a socket call and its result as a typed event. */
  private called(call: SocketCall, addr: number, port: number, result: CallResult): CallResult {
    this.port.event({ type: 'call', sock: this.ref(), call, addr: addr >>> 0, port, result });
    return result;
  }

  /** bind(): the address must be local, the port free of conflicting holders (SO_REUSEADDR / SO_REUSEPORT as set on the socket). */
  bind(addr: number, port: number): CallResult {
    return this.called('bind', addr, port, this.port.bind(this, addr, port));
  }

  listen(backlog = 4096): CallResult {
    const was = this.state;
    const r = this.port.listen(this, backlog);
    if (r.errno === null && was !== TcpState.LISTEN) this.setState(TcpState.LISTEN, Cause['listen']);
    return this.called('listen', 0, 0, r);
  }

  /**
   * connect(): picks the source address and, unless bound, an ephemeral port (failing with
   * EADDRNOTAVAIL where Linux does); sends the SYN. The ISN is secure_tcp_seq() of the 4-tuple at
   * this moment (or continues a TIME_WAIT minisocket's sequence space when connect() took it
   * over); `iss`/`issFor` override it for what-if runs. A result of 0 means the SYN is on its
   * way; the handshake's outcome follows as state and error events.
   */
  connect(addr: number, port: number, o: ConnectOptions = {}): CallResult {
    const { result, writeSeq } = this.port.connect(this, addr, port);
    if (result.errno !== null) return this.called('connect', addr, port, result);
    const st = this.port.initSeq(this.localAddr, this.remoteAddr, this.localPort, this.remotePort);
    const fixed = o.iss ?? o.issFor?.(this.localPort);
    this.iss = fixed !== undefined ? fixed >>> 0 : writeSeq ?? st.seq;
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.tsOffset = st.tsOff;
    this.mss = this.port.route(addr).mss;
    this.setState(TcpState.SYN_SENT, Cause['connect']);
    this.called('connect', addr, port, CALL_OK);
    this.startConnect();
    return CALL_OK;
  }

  /** send(): queues the bytes (EPIPE once the write side is shut down or the connection is gone, ENOTCONN before connect()). */
  send(data: Uint8Array): CallResult {
    if (this.shutWr || (this.state === TcpState.CLOSE && this.remotePort)) return this.called('send', 0, 0, { errno: 'EPIPE', failure: { kind: 'write-shut-down' } });
    if (this.state === TcpState.CLOSE || this.state === TcpState.LISTEN) return this.called('send', 0, 0, { errno: 'ENOTCONN', failure: { kind: 'not-connected' } });
    if (data.length === 0) return CALL_OK;
    this.sendQueue.push(data.slice());
    this.sendQueued += data.length;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
    return CALL_OK;
  }

  /** Reads and removes everything received so far. */
  recv(): Uint8Array {
    const out = new Uint8Array(this.recvQueued);
    let o = 0;
    for (const b of this.recvBuffer) {
      out.set(b, o);
      o += b.length;
    }
    this.recvBuffer.length = 0;
    this.recvQueued = 0;
    return out;
  }

  /** shutdown(SHUT_WR) sends our FIN once queued data is out; SHUT_RD only stops delivery; ENOTCONN on a closed socket. */
  shutdown(how: 'wr' | 'rd' | 'rdwr'): CallResult {
    if (this.state === TcpState.CLOSE) return this.called('shutdown', 0, 0, { errno: 'ENOTCONN', failure: { kind: 'not-connected' } });
    if (how !== 'wr') this.shutRd = true;
    if (how === 'rd' || this.shutWr) return CALL_OK;
    this.shutWr = true;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
    return CALL_OK;
  }

  /**
   * close(): tcp_close(). Unread received data aborts with RST (RFC 2525 §2.17); otherwise a FIN
   * is sent and the kernel finishes the close on its own (the socket is orphaned). A connection
   * already handed to a TIME_WAIT minisocket only loses its fd.
   */
  close(): void {
    if (this.orphan) return;
    this.orphan = true;
    if (this.successor) {
      this.successor.orphan = true;
      return;
    }
    const s = this.state;
    if (s === TcpState.LISTEN) {
      this.port.unhash(this);
      for (const c of this.acceptQueue) c.close();
      this.destroy(Cause['close-listener']);
      return;
    }
    if (s === TcpState.SYN_SENT || s === TcpState.CLOSE) {
      this.destroy(Cause['close']);
      return;
    }
    if (this.recvQueued > 0) {
      this.port.event({ type: 'abort-unread', sock: this.ref(), unread: this.recvQueued });
      this.transmit({ seq: this.sndNxt, ack: this.rcvNxt, flags: TcpFlag.RST | TcpFlag.ACK, window: 0, options: [] });
      this.destroy(Cause['close-unread']);
      return;
    }
    this.shutRd = true;
    if (s === TcpState.FIN_WAIT2) {
      this.enterOrphanFinWait2();
      return;
    }
    this.shutdown('wr');
  }

  protected joinAcceptQueue(): void {
    const parent = this.parent;
    if (parent && parent.state === TcpState.LISTEN) {
      parent.acceptQueue.push(this);
      parent.onAccept?.(this);
    }
  }

  /** getsockopt(SO_ORIGINAL_DST): asks the host's conntrack (ENOENT when the entry is gone). */
  originalDst(): { addr: number; port: number } | null {
    return this.port.originalDst(this);
  }
}
