// Outcomes read from a run's typed events (HostEvent.tcp), never from their text: what a
// socket's connect() came to, how many SYNs it sent, whether a FIN reached a socket, how long a
// socket sat in a state, and the socket calls that failed. Shared by the seed incidents, the
// matrix, kernel-diff and the scenario-file engine.
import type { HostEvent } from '../stack/host.js';
import type { CallErrno, CallFailure, SocketCall, SocketError, TcpEvent } from '../stack/tcp/tcp-events.js';
import { TcpState } from '../stack/tcp/tcp-state.js';

/** What a connect() came to: connected, the error the application saw, a call errno, or still pending. */
export type ConnectResult = 'connected' | SocketError | CallErrno | 'pending';

type Tcp<T extends TcpEvent['type']> = Extract<TcpEvent, { type: T }>;

/** The TCP events of one host, with their times. */
export function tcpEvents(timeline: readonly HostEvent[], host: string): Array<{ timeNs: number; e: TcpEvent }> {
  const out: Array<{ timeNs: number; e: TcpEvent }> = [];
  for (const h of timeline) if (h.host === host && h.tcp) out.push({ timeNs: h.timeNs, e: h.tcp });
  return out;
}

function ofType<T extends TcpEvent['type']>(evs: Array<{ timeNs: number; e: TcpEvent }>, type: T): Array<{ timeNs: number; e: Tcp<T> }> {
  return evs.filter((x): x is { timeNs: number; e: Tcp<T> } => x.e.type === type);
}

/** The connect() outcome of socket `sockId`: ESTABLISHED from SYN_SENT, or the error that ended it. */
export function connectOutcome(evs: Array<{ timeNs: number; e: TcpEvent }>, sockId: number): { result: ConnectResult; atNs: number | null } {
  for (const { timeNs, e } of evs) {
    if (!('sock' in e) || e.sock.id !== sockId) continue;
    if (e.type === 'state' && e.from === TcpState.SYN_SENT && (e.to === TcpState.ESTABLISHED || e.to === TcpState.SYN_RECV)) return { result: 'connected', atNs: timeNs };
    if (e.type === 'error') return { result: e.error, atNs: timeNs };
  }
  return { result: 'pending', atNs: null };
}

/** SYNs socket `sockId` sent: its first one and every retransmission. */
export function synsSent(evs: Array<{ timeNs: number; e: TcpEvent }>, sockId: number): number {
  const started = ofType(evs, 'state').some(({ e }) => e.sock.id === sockId && e.to === TcpState.SYN_SENT);
  return started ? 1 + ofType(evs, 'syn-retransmit').filter(({ e }) => e.sock.id === sockId).length : 0;
}

/** Did socket `sockId` receive its peer's FIN while waiting for it in FIN_WAIT2 (it went on to TIME_WAIT)? */
export function finReached(evs: Array<{ timeNs: number; e: TcpEvent }>, sockId: number): boolean {
  return ofType(evs, 'state').some(({ e }) => e.sock.id === sockId && e.from === TcpState.FIN_WAIT2 && e.to === TcpState.TIME_WAIT);
}

/** Seconds socket `sockId` spent in `state` (until it left it, or until `endNs`). */
export function secondsInState(evs: Array<{ timeNs: number; e: TcpEvent }>, sockId: number, state: number, endNs: number): number {
  let since: number | null = null;
  let total = 0;
  for (const { timeNs, e } of ofType(evs, 'state')) {
    if (e.sock.id !== sockId) continue;
    if (e.to === state && since === null) since = timeNs;
    else if (e.from === state && since !== null) {
      total += timeNs - since;
      since = null;
    }
  }
  if (since !== null) total += endNs - since;
  return total / 1e9;
}

/** A socket call that failed. */
export interface FailedCall {
  timeNs: number;
  sockId: number;
  call: SocketCall;
  errno: CallErrno;
  failure: CallFailure;
}

/** The failed socket calls of the sockets owned by `uid` (every call, in order). */
export function failedCalls(evs: Array<{ timeNs: number; e: TcpEvent }>, uid: number): FailedCall[] {
  const out: FailedCall[] = [];
  for (const { timeNs, e } of ofType(evs, 'call')) {
    if (e.sock.uid !== uid || e.result.errno === null) continue;
    out.push({ timeNs, sockId: e.sock.id, call: e.call, errno: e.result.errno, failure: e.result.failure });
  }
  return out;
}

/** Failed calls of one errno in a row, summarised: "EADDRNOTAVAIL on 20 attempts over 19 s". */
export interface CallErrorRun {
  errno: CallErrno;
  call: SocketCall;
  attempts: number;
  firstAtSec: number;
  lastAtSec: number;
  /** For tuple-in-use / port-in-use: the state of the socket that held it (kernel name), at the first failure. */
  holderState: number | null;
}

export function summariseCallErrors(calls: readonly FailedCall[]): CallErrorRun | null {
  if (!calls.length) return null;
  const first = calls[0];
  const same = calls.filter((c) => c.errno === first.errno && c.call === first.call);
  const holder = first.failure.kind === 'tuple-in-use' || first.failure.kind === 'port-in-use' ? first.failure.holderState : null;
  return { errno: first.errno, call: first.call, attempts: same.length, firstAtSec: first.timeNs / 1e9, lastAtSec: same.at(-1)!.timeNs / 1e9, holderState: holder };
}
