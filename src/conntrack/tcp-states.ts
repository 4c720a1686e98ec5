// The TCP conntrack states and packet classes, numbered as the kernel numbers them
// (enum tcp_conntrack in include/uapi/linux/netfilter/nf_conntrack_tcp.h and the TCP_*_SET
// index in nf_conntrack_proto_tcp.c): the transition table is indexed by these values, and
// ctnetlink / `conntrack -L` export the names.
import { TcpFlag } from '../wire/index.js';

export const TcpCtState = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  /** SYN seen in the reply direction while in SYN_SENT (simultaneous open); was LISTEN. */
  SYN_SENT2: 9,
  /** TCP_CONNTRACK_MAX doubles as the "invalid" cell value (sIV). */
  INVALID: 10,
  /** TCP_CONNTRACK_IGNORE (sIG): let the packet through, change nothing, remember it. */
  IGNORE: 11,
  /** Not states: indices of the max_retrans and unacknowledged timeouts. */
  RETRANS: 12,
  UNACK: 13,
} as const;
export type TcpCtState = (typeof TcpCtState)[keyof typeof TcpCtState];

/** tcp_conntrack_names[] as printed by `conntrack -L`. */
export const TCP_STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

export function tcpStateName(s: number): string {
  if (s === TcpCtState.INVALID) return 'INVALID';
  if (s === TcpCtState.IGNORE) return 'IGNORE';
  return TCP_STATE_NAMES[s] ?? `STATE(${s})`;
}

/** Number of real states: the table's column count. */
export const TCP_STATE_COUNT = 10;

/** Packet classes (TCP_SYN_SET ... TCP_NONE_SET): the table's row index. */
export const TcpPacketClass = {
  SYN: 0,
  SYNACK: 1,
  FIN: 2,
  ACK: 3,
  RST: 4,
  NONE: 5,
} as const;
export type TcpPacketClass = (typeof TcpPacketClass)[keyof typeof TcpPacketClass];

export const TCP_CLASS_NAMES = ['SYN', 'SYNACK', 'FIN', 'ACK', 'RST', 'NONE'] as const;
export const TCP_CLASS_COUNT = 6;

/** get_conntrack_index(): RST wins over everything, then SYN/SYNACK, FIN, ACK, else NONE. */
export function classifyTcp(flags: number): TcpPacketClass {
  if (flags & TcpFlag.RST) return TcpPacketClass.RST;
  if (flags & TcpFlag.SYN) return flags & TcpFlag.ACK ? TcpPacketClass.SYNACK : TcpPacketClass.SYN;
  if (flags & TcpFlag.FIN) return TcpPacketClass.FIN;
  if (flags & TcpFlag.ACK) return TcpPacketClass.ACK;
  return TcpPacketClass.NONE;
}

/** Directions of a conntrack entry (IP_CT_DIR_ORIGINAL / IP_CT_DIR_REPLY). */
export const Dir = { ORIGINAL: 0, REPLY: 1 } as const;
export type Dir = 0 | 1;
