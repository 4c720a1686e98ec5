// Conntrack events as `conntrack -E` prints them, and entries as `conntrack -L` prints them.
import { formatTuple, type Tuple } from './tuple.js';
import { Status } from './status.js';
import { tcpStateName } from './tcp-states.js';

export type ConntrackEventType = 'NEW' | 'UPDATE' | 'DESTROY';
export type DestroyReason = 'timeout' | 'rst-unreplied' | 'reopen' | 'early-drop' | 'flush' | 'nat-evict';

export interface ConntrackEvent {
  type: ConntrackEventType;
  timeNs: number;
  id: number;
  state: number;
  status: number;
  orig: Tuple;
  reply: Tuple;
  /** Whole seconds left, as the kernel reports (nf_ct_expires / HZ). */
  timeoutSecs: number;
  destroyReason?: DestroyReason;
  /** UPDATE: the TCP state changed (IPCT_PROTOINFO), so the line carries it. */
  stateChanged?: boolean;
}

/** One `conntrack -L` line (without accounting): state, tuples, [UNREPLIED]/[ASSURED], mark, use. */
export function formatEntryLine(e: { state: number; status: number; orig: Tuple; reply: Tuple; timeoutSecs: number }): string {
  const unreplied = e.status & Status.SEEN_REPLY ? '' : ' [UNREPLIED]';
  const assured = e.status & Status.ASSURED ? ' [ASSURED]' : '';
  return `tcp      6 ${e.timeoutSecs} ${tcpStateName(e.state)} ${formatTuple(e.orig)}${unreplied} ${formatTuple(e.reply)}${assured} mark=0 use=1`;
}

/**
 * One `conntrack -E` line as conntrack-tools prints ctnetlink events: the TCP state only when the
 * event carries protocol info (NEW, DESTROY, an UPDATE whose state changed: IPCT_PROTOINFO), and
 * on DESTROY the timeout only while some is left (ctnetlink_dump_timeout(..., skip_zero)).
 */
export function formatEvent(ev: ConntrackEvent): string {
  const tag = `[${ev.type}]`.padStart(9);
  const timeout = ev.type !== 'DESTROY' || ev.timeoutSecs > 0 ? `${Math.max(0, ev.timeoutSecs)} ` : '';
  const state = ev.type === 'UPDATE' && !ev.stateChanged ? '' : `${tcpStateName(ev.state)} `;
  const unreplied = ev.status & Status.SEEN_REPLY ? '' : ' [UNREPLIED]';
  const assured = ev.status & Status.ASSURED ? ' [ASSURED]' : '';
  return `${tag} tcp      6 ${timeout}${state}${formatTuple(ev.orig)}${unreplied} ${formatTuple(ev.reply)}${assured}`;
}
