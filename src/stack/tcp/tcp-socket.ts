// One emulated Linux TCP socket as an application holds it: the socket calls (net/ipv4/tcp.c,
// af_inet.c: bind, listen, connect, send, recv, shutdown, close, getsockopt(SO_ORIGINAL_DST)) on
// top of segment processing (tcp-input.ts), output and timers (tcp-output.ts) and the control
// block (tcp-sock.ts). The socket reaches its TCP layer only through TcpSocketPort.
import { TcpFlag, seqAdd } from '../../wire/index.js';
import { Cause } from './tcp-events.js';
import { TcpInputSock } from './tcp-input.js';
import { TCP_TIMEOUT_INIT } from './tcp-sock.js';
import { TcpState, tcpStateName } from './tcp-state.js';

export type { SocketError } from './tcp-events.js';
export type { TcpSocketPort } from './tcp-sock.js';

export class TcpSocket extends TcpInputSock {
  declare parent: TcpSocket | null;
  /** Established children not yet handed to onAccept's caller (accept()). */
  readonly acceptQueue: TcpSocket[] = [];
  onAccept?: (child: TcpSocket) => void;

  bind(addr: number, port: number): void {
    this.port.bind(this, addr, port);
  }

  listen(backlog = 4096): void {
    this.port.listen(this, backlog);
    this.setState(TcpState.LISTEN, Cause['listen']);
  }

  /**
   * connect(): picks the source address and, unless bound, an ephemeral port; sends the SYN.
   * `iss` fixes the initial sequence number (scenarios use it to reproduce both halves of a
   * sequence-number-dependent outcome); by default it is drawn from the run's seed.
   */
  connect(addr: number, port: number, o: { iss?: number; issFor?: (localPort: number) => number | undefined } = {}): void {
    this.port.connect(this, addr, port);
    const fixed = o.iss ?? o.issFor?.(this.localPort);
    this.iss = fixed !== undefined ? fixed >>> 0 : this.port.sched.randomU32();
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.tsOffset = this.port.sched.randomU32();
    this.mss = this.port.route(addr).mss;
    this.setState(TcpState.SYN_SENT, Cause['connect']);
    this.lastSynAt = this.now;
    this.sendSyn();
    this.rto = TCP_TIMEOUT_INIT;
    this.armRtx(this.rto);
  }

  send(data: Uint8Array): void {
    if (this.shutWr || this.state === TcpState.CLOSE) throw new Error(`send on ${tcpStateName(this.state)} socket (EPIPE)`);
    if (data.length === 0) return;
    this.sendQueue.push(data.slice());
    this.sendQueued += data.length;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
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

  /** shutdown(SHUT_WR) sends our FIN once queued data is out; SHUT_RD only stops delivery. */
  shutdown(how: 'wr' | 'rd' | 'rdwr'): void {
    if (how !== 'wr') this.shutRd = true;
    if (how === 'rd') return;
    if (this.shutWr) return;
    this.shutWr = true;
    if (this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT) this.pushData();
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
