// What the scenario's programs report, as typed facts: the result of every socket call an app
// makes, what its sockets read (EOF, errors), what listeners, proxies and injectors did. The same
// records come from ctsim's emulated programs and, as JSON lines, from the real programs that
// `kernel-diff --scenario` runs (src/kerneldiff/real/*.py print exactly these fields), so
// outcomes, expectations and comparisons read one representation on both sides.

/** An errno name as the application sees it (ECONNRESET, ETIMEDOUT, EADDRNOTAVAIL, ...). */
export type Errno = string;

export type SocketCall = 'bind' | 'connect' | 'send' | 'shutdown' | 'close';

export type ProgramFact =
  // apps
  | { ev: 'call'; call: SocketCall; socket: string; result: 'ok' | Errno; local?: string; seconds?: number; bytes?: number }
  | { ev: 'recv-eof'; socket: string; bytes: number }
  | { ev: 'recv-error'; socket: string; error: Errno; bytes: number }
  /** At the end of the run, for each socket still being read: what it received. */
  | { ev: 'received'; socket: string; bytes: number }
  // listeners
  | { ev: 'accept'; conn: number; peer: string }
  | { ev: 'request'; conn: number; bytes: number }
  | { ev: 'eof'; conn: number }
  | { ev: 'error'; conn: number; error: Errno }
  | { ev: 'shutdown'; conn: number }
  | { ev: 'close'; conn: number; reason?: string }
  // proxies (conn is Envoy's connection number; accept also carries the original destination)
  | { ev: 'proxy-accept'; conn: number; peer: string; orig: string }
  | { ev: 'no-original-dst'; conn: number; peer: string }
  | { ev: 'upstream-connected'; conn: number; local: string }
  | { ev: 'upstream-error'; conn: number; error: Errno }
  | { ev: 'down-eof'; conn: number }
  | { ev: 'up-eof'; conn: number }
  | { ev: 'down-error'; conn: number; error: Errno }
  | { ev: 'up-error'; conn: number; error: Errno }
  | { ev: 'idle-timeout'; conn: number }
  // injectors and floods
  | { ev: 'inject'; index: number; flow: string; seq: number; ack: number }
  | { ev: 'no-flow'; index: number; flow: string }
  | { ev: 'flood-done'; sent: number };

/** One fact with when (ns since the scenario's time 0) and which process. */
export type ProgramEvent = ProgramFact & { t: number; process: string };

/** "a.b.c.d:port" */
export function endpointText(addr: number, port: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}:${port}`;
}

/** The timeline text of a fact (the one place program facts become words). */
export function formatProgramFact(f: ProgramFact): string {
  switch (f.ev) {
    case 'call': return `${f.call}(${f.socket}) = ${f.result}${f.local ? ` local ${f.local}` : ''}${f.seconds !== undefined ? ` after ${f.seconds.toFixed(6)} s` : ''}${f.bytes !== undefined ? ` ${f.bytes} bytes` : ''}`;
    case 'recv-eof': return `read(${f.socket}): EOF after ${f.bytes} bytes (the peer closed its side)`;
    case 'recv-error': return `read(${f.socket}): ${f.error} after ${f.bytes} bytes`;
    case 'received': return `end of the run: ${f.socket} received ${f.bytes} bytes`;
    case 'accept': return `accepted C${f.conn} from ${f.peer}`;
    case 'request': return `C${f.conn}: got ${f.bytes} bytes`;
    case 'eof': return `C${f.conn}: read EOF`;
    case 'error': return `C${f.conn}: ${f.error}`;
    case 'shutdown': return `C${f.conn}: shutdown(SHUT_WR)`;
    case 'close': return `C${f.conn}: close()${f.reason ? ` (${f.reason})` : ''}`;
    case 'proxy-accept': return `C${f.conn}: accepted ${f.peer}, original destination ${f.orig}`;
    case 'no-original-dst': return `C${f.conn}: accepted ${f.peer}, SO_ORIGINAL_DST failed (no conntrack entry): closing`;
    case 'upstream-connected': return `C${f.conn}: upstream connected from ${f.local}`;
    case 'upstream-error': return `C${f.conn}: upstream ${f.error}`;
    case 'down-eof': return `C${f.conn}: downstream half-closed`;
    case 'up-eof': return `C${f.conn}: upstream half-closed`;
    case 'down-error': return `C${f.conn}: downstream ${f.error}`;
    case 'up-error': return `C${f.conn}: upstream ${f.error}`;
    case 'idle-timeout': return `C${f.conn}: idle timeout: closing both sides`;
    case 'inject': return `segment #${f.index} injected on ${f.flow} seq ${f.seq} ack ${f.ack}`;
    case 'no-flow': return `segment #${f.index}: no flow ${f.flow} seen yet: nothing sent`;
    case 'flood-done': return `flood: ${f.sent} SYNs sent`;
  }
}
