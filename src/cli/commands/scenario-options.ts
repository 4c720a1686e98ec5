// The seed incidents' knobs on the command line (`ctsim scenario half-close-leak|port-collision`),
// validated into SeedKnobs: each becomes an override of the shipped file (seed-knobs.ts), the same
// a user could write with --set.
import type { Argv } from 'yargs';
import { INVALID_DROP_PLACEMENTS, parseInvalidDropPlacement } from '../../scenarios/invalid-drop.js';
import type { SeedKnobs } from '../../scenarios/seed-knobs.js';
import { UsageError } from '../errors.js';

export interface SeedArgs {
  'invalid-drop'?: string;
  'idle-timeout'?: number;
  seed?: number;
  'app-close-at'?: number;
  'reconnect-at'?: number;
  'reconnect-attempts'?: number;
  'reconnect-interval'?: number;
}

export const SEED_OPTIONS = ['invalid-drop', 'idle-timeout', 'seed', 'app-close-at', 'reconnect-at', 'reconnect-attempts', 'reconnect-interval'] as const;

export function seedOptionsBuilder<T>(y: Argv<T>): Argv<T & SeedArgs> {
  return y
    .option('invalid-drop', { type: 'string', describe: `seed incidents: drop --ctstate INVALID in the pod: ${INVALID_DROP_PLACEMENTS.join(', ')} (no value: mangle-prerouting, Istio's INVALID_DROP)` })
    .option('idle-timeout', { type: 'number', describe: 'seed incidents: sidecar tcp_proxy idle_timeout in seconds (file: 3600)' })
    .option('seed', { type: 'number', describe: 'run seed (ISNs, ports, hash keys; file: 1)' })
    .option('app-close-at', { type: 'number', describe: 'seed incidents: when the app closes its half-closed socket (s; file: 90)' })
    .option('reconnect-at', { type: 'number', describe: 'port-collision: when the app connects again (s after its first connect; file: 120)' })
    .option('reconnect-attempts', { type: 'number', describe: 'port-collision: tries while bind()/connect() fail at once (EADDRNOTAVAIL; file: 20)' })
    .option('reconnect-interval', { type: 'number', describe: 'port-collision: seconds between those tries (file: 1)' }) as Argv<T & SeedArgs>;
}

function positiveInt(name: string, v: number | undefined, max: number): number | undefined {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > max)) throw new UsageError(`--${name} must be an integer in 1..${max}, got ${v}`);
  return v;
}

function positiveSeconds(name: string, v: number | undefined, max: number): number | undefined {
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max || Math.round(v * 1e9) !== v * 1e9)) throw new UsageError(`--${name} must be a number of seconds in (0, ${max}] (ns resolution), got ${v}`);
  return v;
}

/** The knobs given (kernel and sysctls come from --kernel/--sysctl, as for any file). */
export function toSeedKnobs(a: SeedArgs): SeedKnobs {
  if (a.seed !== undefined && (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff)) throw new UsageError(`--seed must be an integer in 0..4294967295, got ${a.seed}`);
  let invalidDrop: SeedKnobs['invalidDrop'];
  if (a['invalid-drop'] !== undefined) {
    try {
      invalidDrop = parseInvalidDropPlacement(a['invalid-drop']);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return {
    invalidDrop, seed: a.seed,
    idleTimeoutSec: positiveInt('idle-timeout', a['idle-timeout'], 86400),
    appCloseAtSec: positiveSeconds('app-close-at', a['app-close-at'], 86400),
    reconnectAtSec: positiveSeconds('reconnect-at', a['reconnect-at'], 86400),
    reconnectAttempts: positiveInt('reconnect-attempts', a['reconnect-attempts'], 10000),
    reconnectIntervalSec: positiveSeconds('reconnect-interval', a['reconnect-interval'], 3600),
  };
}
