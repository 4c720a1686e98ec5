// The one-line wording of a seed incident's reconnect outcome, from its typed fields (CLI,
// matrix and README tables all use it).
import { tcpStateName } from '../stack/tcp/tcp-state.js';
import type { ScenarioOutcome } from './scenario-types.js';

const secs = (v: number) => `${Number(v.toFixed(3))} s`;

/** "connected after 0.008 s", "EADDRNOTAVAIL on all 20 attempts over 19 s", "EADDRNOTAVAIL for 12 s (13 attempts), then ETIMEDOUT after 131.3 s". */
export function reconnectText(o: ScenarioOutcome): string {
  const e = o.callErrors;
  const result = o.connect === null || o.connect === 'pending' ? (o.connect ?? '-') : o.connectSeconds !== null ? `${o.connect} after ${secs(o.connectSeconds)}` : o.connect;
  if (!e) return result;
  const held = e.holderState !== null ? `, 4-tuple held by a ${tcpStateName(e.holderState)} socket` : '';
  const span = secs(e.lastAtSec - e.firstAtSec);
  if (o.connect === e.errno) return `${e.errno} on all ${e.attempts} attempts over ${span}${held}`;
  const until = o.reconnectElapsedSec !== null ? secs(o.reconnectElapsedSec - e.firstAtSec) : span;
  return `${e.errno} for ${until} (${e.attempts} attempt${e.attempts === 1 ? '' : 's'}${held}), then ${result}`;
}

/** The matrix cell: shorter ("EADDRNOTAVAIL x20", "EADDRNOTAVAIL 12 s, then connected 0.008 s"). */
export function reconnectCell(o: ScenarioOutcome): string {
  const e = o.callErrors;
  const result = o.connect === null ? '-' : o.connectSeconds !== null ? `${o.connect} ${o.connectSeconds.toFixed(3)} s` : o.connect;
  if (!e) return result;
  if (o.connect === e.errno) return `${e.errno} x${e.attempts}`;
  const until = o.reconnectElapsedSec !== null ? (o.reconnectElapsedSec - e.firstAtSec).toFixed(0) : '?';
  return `${e.errno} ${until} s, then ${result}`;
}
