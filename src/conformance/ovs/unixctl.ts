// A client for an OVS daemon's control socket (what ovs-appctl does, without a process per
// command): JSON-RPC 1.0 requests written back to back on one Unix stream, replies read as a
// stream of concatenated JSON objects. Requests may be pipelined; replies are matched by id.
import net from 'node:net';
import { PeerError } from '../errors.js';

interface Pending {
  method: string;
  resolve: (s: string) => void;
  reject: (e: Error) => void;
}

/** Splits a stream of concatenated JSON objects (strings may hold braces and escapes). */
class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{') this.depth++;
      else if (ch === '}' && --this.depth === 0) {
        out.push(this.buf.slice(start, i + 1));
        start = i + 1;
      }
    }
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    return out;
  }
}

export class Unixctl {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed: Error | null = null;

  private constructor(private readonly sock: net.Socket, readonly path: string) {
    const split = new JsonObjectSplitter();
    sock.setEncoding('utf8');
    sock.on('data', (text: string) => {
      for (const obj of split.push(text)) this.reply(obj);
    });
    const fail = (e: Error) => {
      this.closed ??= e;
      for (const p of this.pending.values()) p.reject(new PeerError(`${p.method}: ${e.message}`));
      this.pending.clear();
    };
    sock.on('error', (e) => fail(new PeerError(`control socket ${path}: ${e.message}`)));
    sock.on('close', () => fail(new PeerError(`control socket ${path} closed (did the daemon exit?)`)));
  }

  static connect(path: string, timeoutMs = 5000): Promise<Unixctl> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new PeerError(`no answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new Unixctl(sock, path));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new PeerError(`cannot connect to ${path}: ${e.message}`));
      });
    });
  }

  private reply(text: string): void {
    let msg: { id?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.sock.destroy(new PeerError(`unreadable reply on ${this.path}: ${text.slice(0, 200)}`));
      return;
    }
    const p = this.pending.get(msg.id as number);
    if (!p) return;
    this.pending.delete(msg.id as number);
    if (msg.error !== null && msg.error !== undefined) p.reject(new PeerError(`${p.method}: ${String(msg.error).trim()}`));
    else p.resolve(typeof msg.result === 'string' ? msg.result : '');
  }

  /** Sends one command; resolves with its text reply, rejects with a PeerError on an error reply. */
  call(method: string, ...params: string[]): Promise<string> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { method, resolve, reject });
      this.sock.write(JSON.stringify({ method, params, id }));
    });
  }

  close(): void {
    this.closed ??= new PeerError('closed');
    this.sock.destroy();
  }
}
