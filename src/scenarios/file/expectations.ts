// Expectations make a scenario file a regression test. Each is `{process: "assertion"}` with one
// of a few fixed forms, parsed here into typed records (the engine compares fields, never text):
//   connect RESULT [OP DURATION]       the last connect() of an app: connected, ETIMEDOUT,
//                                      ECONNREFUSED, ECONNRESET, EADDRNOTAVAIL; optionally how
//                                      long it took ("connect ETIMEDOUT >= 120 s")
//   STATE leaked OP DURATION           a socket of the process sat in STATE (FIN_WAIT2, CLOSE_WAIT,
//                                      LAST_ACK, ...) for that long ("FIN_WAIT2 leaked >= 3000 s")
//   syns OP N                          SYNs the app sent for its last connect()
//   fin reaches PROCESS | fin lost     whether the app's FIN reached the named process's socket

export type CompareOp = '<' | '<=' | '=' | '>=' | '>';

export type Expectation =
  | { kind: 'connect'; process: string; result: ConnectResult; op?: CompareOp; seconds?: number }
  | { kind: 'leak'; process: string; state: string; op: CompareOp; seconds: number }
  | { kind: 'syns'; process: string; op: CompareOp; count: number }
  | { kind: 'fin'; process: string; reaches: string | null };

export const CONNECT_RESULTS = ['connected', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EADDRNOTAVAIL'] as const;
export type ConnectResult = (typeof CONNECT_RESULTS)[number];

const TCP_STATES = ['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
const OP = '(<=|>=|<|>|=)';
const SECONDS = '(\\d+(?:\\.\\d+)?)\\s*s';

/** The typed expectation, or an error message. */
export function parseExpectation(process: string, text: string): Expectation | string {
  const t = text.trim().replace(/\s+/g, ' ');
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
  return `unsupported expectation "${text}" (forms: "connect RESULT [OP N s]", "STATE leaked OP N s", "syns OP N", "fin reaches PROCESS", "fin lost")`;
}
