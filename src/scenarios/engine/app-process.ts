// An application running its timeline of blocking socket calls on an emulated host, as a small
// program would (src/kerneldiff/real/app.py is the same program for the real kernel): bind,
// connect (returns when connected or failed), send, shutdown, close, sleep, repeat; `at` waits
// until a time, `after` waits a while. Every call's result is a typed fact (errno names as Linux
// returns them). While the program runs, every socket it holds reads whatever arrives (a reader
// per socket): the byte count, EOF and socket errors are facts too.
import type { Host } from '../../stack/host.js';
import type { SocketError } from '../../stack/tcp/tcp-events.js';
import type { TcpSocket } from '../../stack/tcp/tcp-socket.js';
import { TcpState } from '../../stack/tcp/tcp-state.js';
import type { ProcessSpec, Step } from '../file/spec.js';
import type { EngineContext } from './context.js';
import { endpointText, type Errno, type SocketCall } from './program-events.js';

type AppSpec = Extract<ProcessSpec, { kind: 'app' }>;

interface Frame {
  steps: Step[];
  i: number;
  /** Repeat bookkeeping: iterations done, when the current one started. */
  repeat?: { times: number; every?: number; done: number; startedAt: number };
  /** The current step's wait (at/after) has been served. */
  waited: boolean;
}

export class AppProcess {
  private readonly host: Host;
  private readonly sockets = new Map<string, TcpSocket>();
  private readonly received = new Map<TcpSocket, number>();
  /** Sockets whose reader has seen neither EOF nor an error, by name. */
  private readonly reading = new Map<TcpSocket, string>();
  private readonly stack: Frame[] = [];
  private finished = false;

  constructor(private readonly ctx: EngineContext, readonly spec: AppSpec) {
    this.host = ctx.host(spec.host);
  }

  /** Starts the timeline at time 0. */
  start(): void {
    this.stack.push({ steps: this.spec.timeline, i: 0, waited: false });
    this.ctx.net.sim.at(0, () => this.loop());
  }

  get done(): boolean {
    return this.finished;
  }

  private call(call: SocketCall, socket: string, result: 'ok' | Errno, extra: { local?: string; seconds?: number; bytes?: number } = {}): void {
    this.ctx.emit(this.spec.name, this.spec.host, { ev: 'call', call, socket, result, ...extra });
  }

  /** Runs steps until one blocks (a wait or a connect); the blocking step calls loop() again. */
  private loop(): void {
    for (;;) {
      const frame = this.stack.at(-1);
      if (!frame) {
        this.finished = true;
        return;
      }
      if (frame.i >= frame.steps.length) {
        const r = frame.repeat;
        if (r && ++r.done < r.times) {
          frame.i = 0;
          frame.waited = false;
          if (r.every !== undefined) {
            const next = r.startedAt + r.every;
            r.startedAt = next;
            if (next > this.ctx.now) {
              this.ctx.net.sim.at(next, () => this.loop());
              return;
            }
          } else r.startedAt = this.ctx.now;
          continue;
        }
        this.stack.pop();
        // A repeat with `every` ends one period after its last iteration began.
        if (r && r.every !== undefined && r.startedAt + r.every > this.ctx.now) {
          this.ctx.net.sim.at(r.startedAt + r.every, () => this.loop());
          return;
        }
        continue;
      }
      const st = frame.steps[frame.i];
      if (!frame.waited) {
        frame.waited = true;
        const until = st.at !== undefined ? st.at : st.after !== undefined ? this.ctx.now + st.after : this.ctx.now;
        if (until > this.ctx.now) {
          this.ctx.net.sim.at(until, () => this.loop());
          return;
        }
      }
      frame.i++;
      frame.waited = false;
      if (!this.exec(st)) return;
    }
  }

  /** Executes one step; false when it blocks (it resumes the loop itself). */
  private exec(st: Step): boolean {
    if ('bind' in st) {
      const b = st.bind;
      const s = this.newSocket(b.socket);
      s.reuseAddr = !!b.reuseaddr;
      const r = s.bind(b.address ?? 0, b.port);
      if (r.errno === null) this.call('bind', b.socket, 'ok', { local: endpointText(s.localAddr, s.localPort) });
      else this.call('bind', b.socket, r.errno);
      return true;
    }
    if ('connect' in st) return this.connect(st.connect);
    if ('send' in st) {
      const s = this.sockets.get(st.send.socket);
      this.call('send', st.send.socket, this.send(s, st.send.bytes), { bytes: st.send.bytes });
      return true;
    }
    if ('shutdown' in st) {
      const s = this.sockets.get(st.shutdown.socket);
      let result: Errno | 'ok' = 'EBADF';
      if (s) {
        const r = s.shutdown(st.shutdown.how);
        result = r.errno ?? 'ok';
      }
      this.call('shutdown', st.shutdown.socket, result);
      return true;
    }
    if ('close' in st) {
      const s = this.sockets.get(st.close);
      if (s) {
        this.sockets.delete(st.close);
        // The reader stops with the fd: what it read so far is reported now.
        if (this.reading.has(s)) this.ctx.emit(this.spec.name, this.spec.host, { ev: 'received', socket: st.close, bytes: this.received.get(s) ?? 0 });
        this.reading.delete(s);
        s.close();
      }
      this.call('close', st.close, s ? 'ok' : 'EBADF');
      return true;
    }
    if ('sleep' in st) {
      this.ctx.net.sim.at(this.ctx.now + st.sleep, () => this.loop());
      return false;
    }
    if ('repeat' in st) {
      this.stack.push({ steps: st.repeat.steps, i: 0, waited: false, repeat: { times: st.repeat.times, every: st.repeat.every, done: 0, startedAt: this.ctx.now } });
      return true;
    }
    return true;
  }

  private newSocket(name: string): TcpSocket {
    // A name used again stands for a new socket (the old one, if still open, keeps living unnamed).
    const s = this.host.tcp.socket({ uid: this.spec.uid, gid: this.spec.gid });
    this.sockets.set(name, s);
    this.ctx.own(this.spec.name, this.spec.host, s, name);
    return s;
  }

  private connect(c: Extract<Step, { connect: unknown }>['connect'], attempt = 1): boolean {
    // The socket bound under this name, if it has not connected yet; otherwise a new one.
    let s = this.sockets.get(c.socket);
    if (attempt > 1 || !s || s.state !== TcpState.CLOSE || s.remotePort !== 0) s = this.newSocket(c.socket);
    const name = c.socket;
    const start = this.ctx.now;
    /** A call that failed at once: with `retry`, close the socket and try again with a new one (as a client library does). */
    const failedAtOnce = (errno: Errno): boolean => {
      this.call('connect', name, errno, { seconds: 0 });
      const r = c.retry;
      if (!r || attempt >= r.attempts || (errno !== 'EADDRNOTAVAIL' && errno !== 'EADDRINUSE')) return true;
      this.sockets.delete(name);
      s.close();
      this.ctx.net.sim.at(this.ctx.now + r.every, () => {
        if (this.connect(c, attempt + 1)) this.loop();
      });
      return false;
    };
    if (c.reuseaddr) s.reuseAddr = true;
    if (c.from_port !== undefined && !s.localPort) {
      const r = s.bind(0, c.from_port);
      if (r.errno !== null) return failedAtOnce(r.errno);
    }
    let settled = false;
    const settle = (result: 'ok' | Errno) => {
      if (settled) return;
      settled = true;
      this.call('connect', name, result, { local: endpointText(s.localAddr, s.localPort), seconds: (this.ctx.now - start) / 1e9 });
      this.loop();
    };
    s.onConnect = () => {
      this.read(name, s);
      settle('ok');
    };
    s.onError = (e: SocketError) => settle(e);
    const r = s.connect(c.to.addr, c.to.port, { iss: c.isn });
    if (r.errno !== null) {
      settled = true;
      return failedAtOnce(r.errno);
    }
    return false;
  }

  /** The socket's reader: counts what arrives, reports EOF and errors. */
  private read(name: string, s: TcpSocket): void {
    this.received.set(s, 0);
    this.reading.set(s, name);
    s.onData = (d) => this.received.set(s, (this.received.get(s) ?? 0) + d.length);
    s.onEof = () => {
      this.reading.delete(s);
      this.ctx.emit(this.spec.name, this.spec.host, { ev: 'recv-eof', socket: name, bytes: this.received.get(s) ?? 0 });
    };
    s.onError = (e) => {
      this.reading.delete(s);
      this.ctx.emit(this.spec.name, this.spec.host, { ev: 'recv-error', socket: name, error: e, bytes: this.received.get(s) ?? 0 });
    };
  }

  /** End of the run: what each socket still being read has received. */
  report(): void {
    for (const [s, name] of this.reading) this.ctx.emit(this.spec.name, this.spec.host, { ev: 'received', socket: name, bytes: this.received.get(s) ?? 0 });
    this.reading.clear();
  }

  private send(s: TcpSocket | undefined, bytes: number): 'ok' | Errno {
    if (!s) return 'EBADF';
    // sk_stream_wait_connect(): a socket that is not connected (never, or no longer: a reset or
    // timeout was already reported to its reader) is a dead pipe.
    if (s.state === TcpState.CLOSE || s.state === TcpState.SYN_SENT || s.shutWr) return 'EPIPE';
    return s.send(new Uint8Array(bytes).fill(0x41)).errno ?? 'ok';
  }
}
