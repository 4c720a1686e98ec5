// Expectations make a scenario file a regression test. Each is `{subject: "assertion"}` with one
// of a few fixed forms, parsed here into typed records (the engine compares fields, never text).
// A process's assertions:
//   connect RESULT [OP DURATION]       the last connect() of an app: connected, ETIMEDOUT,
//                                      ECONNREFUSED, ECONNRESET, EADDRNOTAVAIL; optionally how
//                                      long it took ("connect ETIMEDOUT >= 120 s")
//   STATE leaked OP DURATION           a socket of the process sat in STATE (FIN_WAIT2, CLOSE_WAIT,
//                                      LAST_ACK, ...) for that long ("FIN_WAIT2 leaked >= 3000 s")
//   syns OP N                          SYNs the app sent for its last connect()
//   fin reaches PROCESS | fin lost     whether the app's last FIN reached the named process
//   error ERRNO | no error             an error the process's sockets reported (ECONNRESET, EPIPE, ...)
//   received OP N bytes                bytes the app's sockets received in all
// A host's assertion (conntrack -S / -C of its namespace at the end of the run):
//   conntrack COUNTER OP N             invalid, drop, early_drop, insert_failed, entries
// A capture point's ("host/iface") assertion, on the packets that left through it:
//   packets from CIDR OP N             e.g. "packets from 198.18.96.0/24 >= 1" (un-NATed leaks)

export type CompareOp = '<' | '<=' | '=' | '>=' | '>';

export type Expectation =
  | { kind: 'connect'; process: string; result: ConnectResult; op?: CompareOp; seconds?: number }
  | { kind: 'leak'; process: string; state: string; op: CompareOp; seconds: number }
  | { kind: 'syns'; process: string; op: CompareOp; count: number }
  | { kind: 'fin'; process: string; reaches: string | null }
  | { kind: 'error'; process: string; error: string | null }
  | { kind: 'received'; process: string; op: CompareOp; bytes: number }
  | { kind: 'conntrack'; host: string; counter: ConntrackCounter; op: CompareOp; count: number }
  | { kind: 'packets'; host: string; iface: string; from: { addr: number; prefixLen: number; text: string }; op: CompareOp; count: number };

export const CONNECT_RESULTS = ['connected', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EADDRNOTAVAIL', 'EADDRINUSE', 'ENETUNREACH', 'EHOSTUNREACH'] as const;
export type ConnectResult = (typeof CONNECT_RESULTS)[number];

export const SOCKET_ERRORS = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL', 'EADDRINUSE', 'ENETUNREACH', 'EHOSTUNREACH'] as const;

export const CONNTRACK_COUNTERS = ['invalid', 'drop', 'early_drop', 'insert_failed', 'entries'] as const;
export type ConntrackCounter = (typeof CONNTRACK_COUNTERS)[number];

export const TCP_STATES = ['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
const OP = '(<=|>=|<|>|=)';
const SECONDS = '(\\d+(?:\\.\\d+)?)\\s*s';

/** What an expectation's key names. */
export type Subject = { kind: 'process'; name: string } | { kind: 'host'; name: string } | { kind: 'point'; host: string; iface: string };

/** The typed expectation, or an error message. */
export function parseExpectation(subject: Subject, text: string): Expectation | string {
  const t = text.trim().replace(/\s+/g, ' ');
  if (subject.kind === 'host') {
    const m = new RegExp(`^conntrack (\\S+) ${OP} (\\d+)$`).exec(t);
    if (!m) return `unsupported host expectation "${text}" (form: "conntrack COUNTER OP N", COUNTER one of ${CONNTRACK_COUNTERS.join(', ')})`;
    const counter = CONNTRACK_COUNTERS.find((c) => c === m[1]);
    if (!counter) return `unknown conntrack counter "${m[1]}" (${CONNTRACK_COUNTERS.join(', ')})`;
    return { kind: 'conntrack', host: subject.name, counter, op: m[2] as CompareOp, count: Number(m[3]) };
  }
  if (subject.kind === 'point') {
    const m = new RegExp(`^packets from (\\d+\\.\\d+\\.\\d+\\.\\d+)(?:/(\\d+))? ${OP} (\\d+)$`).exec(t);
    if (!m) return `unsupported capture-point expectation "${text}" (form: "packets from A.B.C.D[/LEN] OP N")`;
    const o = m[1].split('.').map(Number);
    const len = m[2] === undefined ? 32 : Number(m[2]);
    if (o.some((x) => x > 255) || len > 32) return `bad address "${m[1]}${m[2] ? `/${m[2]}` : ''}"`;
    const addr = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
    return { kind: 'packets', host: subject.host, iface: subject.iface, from: { addr, prefixLen: len, text: `${m[1]}/${len}` }, op: m[3] as CompareOp, count: Number(m[4]) };
  }
  const process = subject.name;
  let m = new RegExp(`^connect (\\S+)(?: ${OP} ${SECONDS})?$`).exec(t);
  if (m) {
    const result = CONNECT_RESULTS.find((r) => r === m![1]);
    if (!result) return `unknown connect result "${m[1]}" (${CONNECT_RESULTS.join(', ')})`;
    return m[2] ? { kind: 'connect', process, result, op: m[2] as CompareOp, seconds: Number(m[3]) } : { kind: 'connect', process, result };
  }
  m = new RegExp(`^(\\S+) leaked ${OP} ${SECONDS}$`).exec(t);
  if (m) {
    if (!TCP_STATES.includes(m[1])) return `unknown TCP state "${m[1]}" (${TCP_STATES.join(', ')})`;
    return { kind: 'leak', process, state: m[1], op: m[2] as CompareOp, seconds: Number(m[3]) };
  }
  m = new RegExp(`^syns ${OP} (\\d+)$`).exec(t);
  if (m) return { kind: 'syns', process, op: m[1] as CompareOp, count: Number(m[2]) };
  m = /^fin (?:reaches (\S+)|lost)$/.exec(t);
  if (m) return { kind: 'fin', process, reaches: m[1] ?? null };
  m = /^(?:error (\S+)|no error)$/.exec(t);
  if (m) {
    if (m[1] !== undefined && !(SOCKET_ERRORS as readonly string[]).includes(m[1])) return `unknown socket error "${m[1]}" (${SOCKET_ERRORS.join(', ')})`;
    return { kind: 'error', process, error: m[1] ?? null };
  }
  m = new RegExp(`^received ${OP} (\\d+) bytes$`).exec(t);
  if (m) return { kind: 'received', process, op: m[1] as CompareOp, bytes: Number(m[2]) };
  return `unsupported expectation "${text}" (forms: "connect RESULT [OP N s]", "STATE leaked OP N s", "syns OP N", "fin reaches PROCESS", "fin lost", "error ERRNO", "no error", "received OP N bytes"; a host: "conntrack COUNTER OP N"; "host/iface": "packets from CIDR OP N")`;
}

export function compare(actual: number, op: CompareOp, expected: number): boolean {
  switch (op) {
    case '<': return actual < expected;
    case '<=': return actual <= expected;
    case '=': return actual === expected;
    case '>=': return actual >= expected;
    case '>': return actual > expected;
  }
}

/** The assertion as the file spells it (for reports). */
export function formatExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'connect': return `${e.process}: connect ${e.result}${e.op ? ` ${e.op} ${e.seconds} s` : ''}`;
    case 'leak': return `${e.process}: ${e.state} leaked ${e.op} ${e.seconds} s`;
    case 'syns': return `${e.process}: syns ${e.op} ${e.count}`;
    case 'fin': return `${e.process}: ${e.reaches ? `fin reaches ${e.reaches}` : 'fin lost'}`;
    case 'error': return `${e.process}: ${e.error ? `error ${e.error}` : 'no error'}`;
    case 'received': return `${e.process}: received ${e.op} ${e.bytes} bytes`;
    case 'conntrack': return `${e.host}: conntrack ${e.counter} ${e.op} ${e.count}`;
    case 'packets': return `${e.host}/${e.iface}: packets from ${e.from.text} ${e.op} ${e.count}`;
  }
}
