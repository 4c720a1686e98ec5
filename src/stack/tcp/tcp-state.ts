// Linux TCP socket states (include/net/tcp_states.h) and the names `ss` prints.
export const TcpState = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

const SS_NAMES: Record<number, string> = {
  1: 'ESTAB', 2: 'SYN-SENT', 3: 'SYN-RECV', 4: 'FIN-WAIT-1', 5: 'FIN-WAIT-2', 6: 'TIME-WAIT', 7: 'CLOSE', 8: 'CLOSE-WAIT', 9: 'LAST-ACK', 10: 'LISTEN', 11: 'CLOSING',
};
const KERNEL_NAMES: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING',
};

export function ssStateName(s: number): string {
  return SS_NAMES[s] ?? `STATE${s}`;
}

export function tcpStateName(s: number): string {
  return KERNEL_NAMES[s] ?? `STATE${s}`;
}

/** Synchronised states: where RFC 5961 validation of SYN and RST applies. */
export function isSynchronized(s: number): boolean {
  return s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT1 || s === TcpState.FIN_WAIT2 || s === TcpState.CLOSE_WAIT ||
    s === TcpState.CLOSING || s === TcpState.LAST_ACK;
}
