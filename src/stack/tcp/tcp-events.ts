// What the TCP layer reports, as typed facts: every socket state change with its cause, the
// result of every socket call (bind, listen, connect: 0 or the errno, with the kernel check that
// refused it), the errors applications see, SYN retransmissions, RFC 5961 challenge ACKs and the
// resets of the per-netns control socket. Sockets and the stack emit these; formatTcpEvent() is the one place
// that turns them into the text of timelines and capture comments (the host calls it at the edge).
import { formatIpv4Address } from '../../wire/index.js';
import { tcpStateName } from './tcp-state.js';

/** The errors an application sees on a socket (sk_err). */
export type SocketError = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EPIPE';

/** errno values a socket call returns (the call's own result; a connection's later failure is a SocketError). */
export type CallErrno = 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL' | 'EISCONN' | 'EALREADY' | 'EPIPE' | 'ENOTCONN';

export type SocketCall = 'bind' | 'listen' | 'connect' | 'send' | 'shutdown';

/** The kernel check that refused a socket call. */
export type CallFailure =
  /** inet_csk_get_port() -> inet_csk_bind_conflict(): another socket holds the port (EADDRINUSE). */
  | { kind: 'port-in-use'; holder: SockRef; holderState: number }
  /** __inet_check_established(): the 4-tuple belongs to another socket (EADDRNOTAVAIL). */
  | { kind: 'tuple-in-use'; holder: SockRef; holderState: number }
  /** __inet_hash_connect(): no port of ip_local_port_range is usable for this destination (EADDRNOTAVAIL). */
  | { kind: 'no-ephemeral-port' }
  /** inet_csk_find_open_port(): bind()/listen() to port 0 found no free port (EADDRINUSE). */
  | { kind: 'no-free-port' }
  /** inet_bind(): the address is not one of the host's (EADDRNOTAVAIL). */
  | { kind: 'not-local-address'; addr: number }
  /** inet_bind(): the socket already has a port (EINVAL). */
  | { kind: 'already-bound' }
  /** inet_listen(): only a closed or listening socket can listen (EINVAL). */
  | { kind: 'not-closed' }
  /** inet_stream_connect(): connected already (EISCONN) or its connect is under way (EALREADY). */
  | { kind: 'already-connected' }
  | { kind: 'connecting' }
  /** tcp_sendmsg(): the write side is shut down or the connection is gone (EPIPE). */
  | { kind: 'write-shut-down' }
  /** tcp_sendmsg()/shutdown() on a socket that never connected (ENOTCONN). */
  | { kind: 'not-connected' };

/** A socket call's result: errno null is a return value of 0. */
export type CallResult = { readonly errno: null } | { readonly errno: CallErrno; readonly failure: CallFailure };

export const CALL_OK: CallResult = Object.freeze({ errno: null });

/** Which socket an event is about: its 4-tuple, owner and `ss` identity, as they were. */
export interface SockRef {
  readonly id: number;
  readonly uid: number;
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
}

/** The causes that carry no data. */
type PlainCause =
  | 'listen' | 'connect' | 'close' | 'close-listener' | 'close-unread' | 'shutdown-wr'
  | 'syn-ack' | 'simultaneous-open' | 'rst-syn-recv' | 'handshake-complete' | 'request-timeout'
  | 'fin-acked' | 'last-ack' | 'fin-received' | 'simultaneous-close' | 'time-wait'
  | 'rst-time-wait' | 'tw-recycled' | 'tw-expired' | 'tw-reused-by-connect'
  | 'rst-orphan-fin-wait2' | 'data-orphan-fin-wait2' | 'syn-orphan-fin-wait2' | 'fin-timeout'
  | 'rst-answering-syn' | 'rst-received' | 'data-after-close';

/** Why a socket changed state (the kernel path that moved it). */
export type StateCause =
  | { kind: PlainCause }
  | { kind: 'syn-to-listener'; listenAddr: number; listenPort: number }
  | { kind: 'syn-timeout'; retransmits: number }
  | { kind: 'rtx-exhausted'; retransmits: number };

/** Shared instances of the causes that carry no data (no allocation per state change). */
export const Cause: { readonly [K in PlainCause]: { readonly kind: K } } = Object.freeze({
  'listen': { kind: 'listen' }, 'connect': { kind: 'connect' }, 'close': { kind: 'close' },
  'close-listener': { kind: 'close-listener' }, 'close-unread': { kind: 'close-unread' }, 'shutdown-wr': { kind: 'shutdown-wr' },
  'syn-ack': { kind: 'syn-ack' }, 'simultaneous-open': { kind: 'simultaneous-open' }, 'rst-syn-recv': { kind: 'rst-syn-recv' },
  'handshake-complete': { kind: 'handshake-complete' }, 'request-timeout': { kind: 'request-timeout' },
  'fin-acked': { kind: 'fin-acked' }, 'last-ack': { kind: 'last-ack' }, 'fin-received': { kind: 'fin-received' },
  'simultaneous-close': { kind: 'simultaneous-close' }, 'time-wait': { kind: 'time-wait' },
  'rst-time-wait': { kind: 'rst-time-wait' }, 'tw-recycled': { kind: 'tw-recycled' }, 'tw-expired': { kind: 'tw-expired' },
  'tw-reused-by-connect': { kind: 'tw-reused-by-connect' }, 'rst-orphan-fin-wait2': { kind: 'rst-orphan-fin-wait2' },
  'data-orphan-fin-wait2': { kind: 'data-orphan-fin-wait2' }, 'syn-orphan-fin-wait2': { kind: 'syn-orphan-fin-wait2' },
  'fin-timeout': { kind: 'fin-timeout' }, 'rst-answering-syn': { kind: 'rst-answering-syn' },
  'rst-received': { kind: 'rst-received' }, 'data-after-close': { kind: 'data-after-close' },
});

/** What provoked an RFC 5961 challenge ACK (tcp_send_challenge_ack callers). */
export type ChallengeTrigger = 'out-of-window-syn' | 'in-window-rst' | 'syn';

export type TcpEvent =
  | { type: 'state'; sock: SockRef; from: number; to: number; cause: StateCause }
  /** A socket call and what it returned; addr/port are its argument (bind address, connect destination), 0 when it has none. */
  | { type: 'call'; sock: SockRef; call: SocketCall; addr: number; port: number; result: CallResult }
  | { type: 'error'; sock: SockRef; error: SocketError; cause: StateCause }
  | { type: 'syn-retransmit'; sock: SockRef; count: number }
  | { type: 'synack-retries-exhausted'; sock: SockRef }
  | { type: 'unacceptable-ack'; sock: SockRef; ack: number; expected: number }
  | { type: 'challenge-ack'; sock: SockRef; state: number; trigger: ChallengeTrigger; suppressedBy: 'tcp_invalid_ratelimit' | 'tcp_challenge_ack_limit' | null }
  | { type: 'abort-unread'; sock: SockRef; unread: number }
  | { type: 'orphan-fin-wait2'; sock: SockRef; finTimeoutSec: number }
  | { type: 'reset-sent'; src: number; sport: number; dst: number; dport: number; seq: number; ack: number | null }
  | { type: 'no-socket'; localAddr: number; localPort: number; remoteAddr: number; remotePort: number };

export function formatEndpoint(addr: number, port: number): string {
  return `${formatIpv4Address(addr >>> 0)}:${port}`;
}

/** "local <-> remote", the way socket events name a connection. */
export function formatSockPair(s: SockRef): string {
  return `${formatEndpoint(s.localAddr, s.localPort)} <-> ${formatEndpoint(s.remoteAddr, s.remotePort)}`;
}

export function formatCause(c: StateCause): string {
  switch (c.kind) {
    case 'listen': return 'listen()';
    case 'connect': return 'connect()';
    case 'close': return 'close()';
    case 'close-listener': return 'close() of listener';
    case 'close-unread': return 'close() with unread data';
    case 'shutdown-wr': return 'shutdown(SHUT_WR)';
    case 'syn-ack': return 'SYN-ACK';
    case 'simultaneous-open': return 'simultaneous open';
    case 'syn-to-listener': return `SYN to ${formatEndpoint(c.listenAddr, c.listenPort)} listener`;
    case 'rst-syn-recv': return 'RST in SYN_RECV';
    case 'handshake-complete': return 'handshake complete';
    case 'request-timeout': return 'request timeout';
    case 'fin-acked': return 'our FIN acknowledged';
    case 'last-ack': return 'last ACK';
    case 'fin-received': return 'FIN received';
    case 'simultaneous-close': return 'simultaneous close';
    case 'time-wait': return '';
    case 'rst-time-wait': return 'RST in TIME_WAIT';
    case 'tw-recycled': return 'TIME_WAIT recycled by a new SYN';
    case 'tw-expired': return 'TIME_WAIT expired';
    case 'tw-reused-by-connect': return 'TIME_WAIT reused by connect()';
    case 'rst-orphan-fin-wait2': return 'RST in orphaned FIN_WAIT2';
    case 'data-orphan-fin-wait2': return 'data to an orphaned FIN_WAIT2 socket';
    case 'syn-orphan-fin-wait2': return 'SYN to an orphaned FIN_WAIT2 socket: RST (TW_RST)';
    case 'fin-timeout': return 'tcp_fin_timeout expired';
    case 'syn-timeout': return `connect() timed out after ${c.retransmits} SYN retransmissions`;
    case 'rst-answering-syn': return 'RST answering our SYN';
    case 'rtx-exhausted': return `retransmissions exhausted (${c.retransmits})`;
    case 'rst-received': return 'RST received';
    case 'data-after-close': return 'data received after close';
  }
}

export function formatCallFailure(f: CallFailure): string {
  switch (f.kind) {
    case 'port-in-use': return `port held by ${tcpStateName(f.holderState)} socket ${formatSockPair(f.holder)}`;
    case 'tuple-in-use': return `4-tuple held by ${tcpStateName(f.holderState)} socket #${f.holder.id}`;
    case 'no-ephemeral-port': return 'no usable port in ip_local_port_range for this destination';
    case 'no-free-port': return 'no free port in ip_local_port_range';
    case 'not-local-address': return `${formatIpv4Address(f.addr >>> 0)} is not a local address`;
    case 'already-bound': return 'socket already bound';
    case 'not-closed': return 'socket is not closed';
    case 'already-connected': return 'already connected';
    case 'connecting': return 'connect already in progress';
    case 'write-shut-down': return 'write side shut down';
    case 'not-connected': return 'not connected';
  }
}

function formatCall(e: Extract<TcpEvent, { type: 'call' }>): string {
  const arg = e.call === 'bind' || e.call === 'connect' ? formatEndpoint(e.addr, e.port) : '';
  const r = e.result;
  const ret = r.errno === null ? (e.call === 'connect' ? '0 (SYN sent)' : '0') : `-1 ${r.errno} (${formatCallFailure(r.failure)})`;
  return `socket ${formatSockPair(e.sock)}${e.sock.uid ? ` (uid ${e.sock.uid})` : ''}: ${e.call}(${arg}) = ${ret}`;
}

const TRIGGER_TEXT: Record<ChallengeTrigger, string> = {
  'out-of-window-syn': 'an out-of-window SYN',
  'in-window-rst': 'an in-window RST',
  'syn': 'a SYN',
};

/** The timeline / capture-comment text of an event. */
export function formatTcpEvent(e: TcpEvent): string {
  switch (e.type) {
    case 'state': {
      const why = formatCause(e.cause);
      return `socket ${formatSockPair(e.sock)}${e.sock.uid ? ` (uid ${e.sock.uid})` : ''}: ${tcpStateName(e.from)} -> ${tcpStateName(e.to)}${why ? ` (${why})` : ''}`;
    }
    case 'call': return formatCall(e);
    case 'error': return `socket ${formatSockPair(e.sock)}: ${e.error} (${formatCause(e.cause)})`;
    case 'syn-retransmit': return `socket ${formatSockPair(e.sock)}: SYN retransmission ${e.count}`;
    case 'synack-retries-exhausted': return `socket ${formatSockPair(e.sock)}: SYN-ACK retries exhausted, request dropped`;
    case 'unacceptable-ack': return `socket ${formatSockPair(e.sock)}: unacceptable ACK ${e.ack} in SYN_SENT (expected ${e.expected}): reset`;
    case 'challenge-ack':
      return e.suppressedBy
        ? `socket ${formatSockPair(e.sock)}: challenge ACK for ${TRIGGER_TEXT[e.trigger]} suppressed (${e.suppressedBy})`
        : `socket ${formatSockPair(e.sock)} (${tcpStateName(e.state)}): RFC 5961 challenge ACK for ${TRIGGER_TEXT[e.trigger]}`;
    case 'abort-unread': return `socket ${formatSockPair(e.sock)}: close() with ${e.unread} unread bytes: RST`;
    case 'orphan-fin-wait2': return `socket ${formatSockPair(e.sock)}: orphaned in FIN_WAIT2, tcp_fin_timeout ${e.finTimeoutSec} s`;
    case 'reset-sent': return `reset ${formatEndpoint(e.src, e.sport)} -> ${formatEndpoint(e.dst, e.dport)} seq=${e.seq}${e.ack !== null ? ` ack=${e.ack}` : ''}`;
    case 'no-socket': return `no socket for ${formatEndpoint(e.localAddr, e.localPort)} <- ${formatEndpoint(e.remoteAddr, e.remotePort)}`;
  }
}
