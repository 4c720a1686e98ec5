// A server: listens on a port, answers every chunk of request bytes with `respond` bytes, then
// (optionally) half-closes or closes that connection a fixed time after answering, and closes once
// the peer has closed too. src/kerneldiff/real/listener.py is the same program for the real kernel.
import type { Host } from '../../stack/host.js';
import { mustSucceed, type TcpSocket } from '../../stack/tcp/tcp-socket.js';
import { TcpState } from '../../stack/tcp/tcp-state.js';
import type { ProcessSpec } from '../file/spec.js';
import type { EngineContext } from './context.js';
import { endpointText } from './program-events.js';

type ListenerSpec = Extract<ProcessSpec, { kind: 'listener' }>;

export class ListenerProcess {
  private readonly host: Host;
  readonly listener: TcpSocket;
  private nextConn = 1;

  constructor(private readonly ctx: EngineContext, readonly spec: ListenerSpec) {
    this.host = ctx.host(spec.host);
    this.listener = this.host.tcp.socket({ uid: spec.uid, gid: spec.gid });
    this.listener.reuseAddr = true;
    mustSucceed(this.listener.bind(0, spec.port), `${spec.name}: bind(0.0.0.0:${spec.port}) on ${spec.host}`);
    mustSucceed(this.listener.listen(), `${spec.name}: listen() on ${spec.host}:${spec.port}`);
    ctx.own(spec.name, spec.host, this.listener, 'listen');
    this.listener.onAccept = (c) => this.serve(c);
  }

  private serve(c: TcpSocket): void {
    const conn = this.nextConn++;
    const emit = this.ctx.emit.bind(this.ctx, this.spec.name, this.spec.host);
    this.ctx.own(this.spec.name, this.spec.host, c, `C${conn}`);
    emit({ ev: 'accept', conn, peer: endpointText(c.remoteAddr, c.remotePort) });
    const response = this.spec.respondBytes > 0 ? new Uint8Array(this.spec.respondBytes).fill(0x42) : null;
    c.onData = (d) => {
      emit({ ev: 'request', conn, bytes: d.length });
      if (response && c.state !== TcpState.CLOSE) c.send(response);
      const then = this.spec.then;
      if (then) {
        this.host.sched.after(then.afterNs, () => {
          if (c.state === TcpState.CLOSE || c.orphan || (then.action === 'shutdown-wr' && c.shutWr)) return;
          emit(then.action === 'close' ? { ev: 'close', conn } : { ev: 'shutdown', conn });
          if (then.action === 'close') c.close();
          else c.shutdown('wr');
        });
      }
    };
    // The server closes for good once the peer has closed too.
    c.onEof = () => {
      emit({ ev: 'eof', conn });
      if (!c.orphan) {
        emit({ ev: 'close', conn });
        c.close();
      }
    };
    c.onError = (e) => emit({ ev: 'error', conn, error: e });
  }
}
