// The human timeline of a scenario: virtual time, host, what happened; plus snapshots.
import type { HostEvent } from '../stack/host.js';
import type { Snapshot } from './scenario-types.js';

export function formatTimeline(events: HostEvent[], o: { collapseIdle?: boolean } = {}): string[] {
  const out: string[] = [];
  let last = events.length ? events[0].timeNs : 0;
  for (const e of events) {
    if (o.collapseIdle !== false && e.timeNs - last > 1e9) out.push(`${' '.repeat(14)}... ${((e.timeNs - last) / 1e9).toFixed(3)} s idle ...`);
    last = e.timeNs;
    out.push(`[${(e.timeNs / 1e9).toFixed(6).padStart(12)}] ${e.host.padEnd(8)} ${e.text}`);
  }
  return out;
}

export function formatSnapshot(s: Snapshot): string[] {
  return [
    `--- ${s.label} (t=${(s.timeNs / 1e9).toFixed(3)} s)`,
    '    ss -tanoe:',
    ...s.ss.map((l) => `      ${l}`),
    '    conntrack -L (pod):',
    ...(s.conntrack.length ? s.conntrack.map((l) => `      ${l}`) : ['      (no entries)']),
  ];
}
