// What a state change may be: a cell of the kernel's transition table (tcp-state-table.ts), or
// one of the override outcomes nf_conntrack_tcp_packet() documents:
//   - re-open: a SYN on a TIME_WAIT/CLOSE entry kills it and starts a new SYN_SENT entry;
//   - resync: a SYN/ACK answering a SYN that was let through (cell sIG, or a SYN on TIME_WAIT/
//     CLOSE that did not re-open) continues as SYN_SENT -> SYN_RECV;
//   - simultaneous open: the reply ACK in SYN_RECV after SYN_SENT2 goes to ESTABLISHED;
//   - an RST whose seq is in the window but not exact keeps the old state (v5.9+).
// The checker derives the allowed outcome from the table itself, never from the tracker's code.
import { nextTcpState } from '../conntrack/tcp-state-table.js';
import { Dir, TcpCtState, TcpPacketClass } from '../conntrack/tcp-states.js';

export type TransitionKind = 'table' | 'resync' | 'simultaneous-open' | 'rst-keeps-state' | 'reopen' | 'new';

/** Why (oldState --cls/dir--> newState) of an accepted packet is allowed, or null if it is not. */
export function acceptedTransition(dir: 0 | 1, cls: number, oldState: number, newState: number): TransitionKind | null {
  const cell = nextTcpState(dir, cls as never, oldState);
  if (cell < TcpCtState.INVALID && newState === cell && !(cell === TcpCtState.SYN_SENT && oldState >= TcpCtState.TIME_WAIT)) return 'table';
  const letThrough = cell === TcpCtState.IGNORE || (cell === TcpCtState.SYN_SENT && oldState >= TcpCtState.TIME_WAIT && oldState <= TcpCtState.CLOSE);
  if (letThrough && cls === TcpPacketClass.SYNACK && newState === TcpCtState.SYN_RECV) return 'resync';
  if (cell === TcpCtState.SYN_RECV && dir === Dir.REPLY && cls === TcpPacketClass.ACK && newState === TcpCtState.ESTABLISHED) return 'simultaneous-open';
  if (cls === TcpPacketClass.RST && newState === oldState && cell === TcpCtState.CLOSE) return 'rst-keeps-state';
  return null;
}

/** A re-open is allowed only where the table proposes SYN_SENT for a TIME_WAIT or CLOSE entry. */
export function reopenAllowed(dir: 0 | 1, cls: number, oldState: number): boolean {
  return (oldState === TcpCtState.TIME_WAIT || oldState === TcpCtState.CLOSE) && nextTcpState(dir, cls as never, oldState) === TcpCtState.SYN_SENT;
}

/** The state a packet that creates an entry must leave it in (the ORIGINAL row, column NONE). */
export function newEntryState(cls: number): number {
  return nextTcpState(Dir.ORIGINAL, cls as never, TcpCtState.NONE);
}
