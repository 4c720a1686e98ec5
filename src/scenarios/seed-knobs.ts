// The seed incidents' knobs (kernel, sysctls, where the pod drops INVALID packets, the sidecar's
// idle timeout, when the app closes and reconnects, how it retries) as overrides of the shipped
// files scenarios/half-close-leak.yaml and scenarios/port-collision.yaml. `ctsim scenario`,
// `seed`, `matrix` and kernel-diff's seed variants all run those files through the one scenario
// engine; a knob is exactly the `--set` a user would type. The paths name the files' steps by
// index (a test keeps them pointing at the right steps).
import type { LoadOverrides } from './file/overrides.js';
import type { InvalidDropPlacement } from './invalid-drop.js';

export type SeedName = 'half-close-leak' | 'port-collision';
export const SEED_NAMES: readonly SeedName[] = ['half-close-leak', 'port-collision'];

export interface SeedKnobs {
  kernel?: string;
  /** `name=value` on the pod. */
  sysctls?: readonly string[];
  /** Where the pod drops INVALID packets (an extra rules file after Istio's), or none. */
  invalidDrop?: InvalidDropPlacement | null;
  idleTimeoutSec?: number;
  /** When the app close()s its half-closed socket (s). */
  appCloseAtSec?: number;
  /** port-collision: when the app connects again (s). */
  reconnectAtSec?: number;
  /** port-collision: tries while bind()/connect() fail at once, and the time between them (s). */
  reconnectAttempts?: number;
  reconnectIntervalSec?: number;
  /** How long the run goes on (s). */
  durationSec?: number;
  /** When ss and conntrack -L are recorded (s; each within the run). */
  snapshotsSec?: readonly number[];
  seed?: number;
}

/** Timeline steps of the seed files the knobs change. */
export const SEED_STEPS = { close: 3, reconnect: 4 } as const;

/** The pod's rules for an INVALID-drop placement: Istio's capture rules, then the drop rule. */
const INVALID_DROP_RULES: Readonly<Record<InvalidDropPlacement, string>> = {
  'mangle-prerouting': '{preset: istio-invalid-drop}',
  'filter-output': 'rules/invalid-drop-filter-output.rules',
  'filter-input': 'rules/invalid-drop-filter-input.rules',
  'raw-prerouting': 'rules/invalid-drop-raw.rules',
};

export function seedOverrides(name: SeedName, k: SeedKnobs): LoadOverrides {
  const set: string[] = [];
  const step = (i: number) => `processes.app.timeline[${i}]`;
  if (k.seed !== undefined) set.push(`seed=${k.seed}`);
  // As fields (not --sysctl), so they apply in order with the rest (after a file's real.set too).
  for (const x of k.sysctls ?? []) {
    const eq = x.indexOf('=');
    const name = x.slice(0, eq).trim();
    set.push(`hosts.pod.sysctls[${name.startsWith('net.') ? name : `net.netfilter.${name}`}]=${x.slice(eq + 1).trim()}`);
  }
  if (k.durationSec !== undefined) set.push(`duration=${k.durationSec}s`);
  if (k.snapshotsSec !== undefined) set.push(`snapshots=[${k.snapshotsSec.map((x) => `${x}s`).join(', ')}]`);
  if (k.invalidDrop) set.push(`hosts.pod.rules=[{preset: istio-sidecar}, ${INVALID_DROP_RULES[k.invalidDrop]}]`);
  if (k.idleTimeoutSec !== undefined) set.push(`processes.sidecar.idle_timeout=${k.idleTimeoutSec}s`);
  if (k.appCloseAtSec !== undefined) set.push(`${step(SEED_STEPS.close)}.at=${k.appCloseAtSec}s`);
  if (name === 'port-collision') {
    if (k.reconnectAtSec !== undefined) set.push(`${step(SEED_STEPS.reconnect)}.at=${k.reconnectAtSec}s`);
    if (k.reconnectAttempts !== undefined) set.push(`${step(SEED_STEPS.reconnect)}.connect.retry.attempts=${k.reconnectAttempts}`);
    if (k.reconnectIntervalSec !== undefined) set.push(`${step(SEED_STEPS.reconnect)}.connect.retry.every=${k.reconnectIntervalSec}s`);
  }
  return { kernel: k.kernel, set };
}
