// The machine-readable timeline of a scenario (`ctsim scenario --json`): each event with the typed
// fact behind it (socket call and its errno, state change, conntrack event, INVALID verdict,
// drop cause), so that tools read fields rather than the English text. Addresses are written
// dotted, TCP and conntrack states by their kernel names; everything else is the event as is.
import { tcpStateName as ctStateName } from '../conntrack/tcp-states.js';
import type { HostEvent } from '../stack/host.js';
import { tcpStateName } from '../stack/tcp/tcp-state.js';
import { formatIpv4Address } from '../wire/index.js';

export interface TimelineJson {
  time: number;
  host: string;
  kind: HostEvent['kind'];
  text: string;
  tcp?: unknown;
  ct?: unknown;
  invalid?: HostEvent['invalid'];
  drop?: HostEvent['drop'];
}

const ADDRESS_KEYS = new Set(['addr', 'localAddr', 'remoteAddr', 'src', 'dst']);
const TCP_STATE_KEYS = new Set(['from', 'to', 'holderState']);

/** A copy of `v` with addresses dotted and the keys in `stateKeys` named by `name`. */
function readable(v: unknown, stateKeys: ReadonlySet<string>, name: (s: number) => string): unknown {
  if (Array.isArray(v)) return v.map((x) => readable(x, stateKeys, name));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'number' && ADDRESS_KEYS.has(k)) out[k] = formatIpv4Address(x);
    else if (typeof x === 'number' && stateKeys.has(k)) out[k] = name(x);
    else out[k] = readable(x, stateKeys, name);
  }
  return out;
}

export function timelineJson(e: HostEvent): TimelineJson {
  return {
    time: e.timeNs / 1e9, host: e.host, kind: e.kind, text: e.text,
    ...(e.tcp ? { tcp: readable(e.tcp, TCP_STATE_KEYS, tcpStateName) } : {}),
    ...(e.ct ? { ct: readable(e.ct, new Set(['state']), ctStateName) } : {}),
    ...(e.invalid ? { invalid: e.invalid } : {}),
    ...(e.drop ? { drop: e.drop } : {}),
  };
}
