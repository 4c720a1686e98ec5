// Command-line options shared by `ctsim scenario` and `ctsim seed`, validated into ScenarioOptions.
import type { Argv } from 'yargs';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { INVALID_DROP_PLACEMENTS, parseInvalidDropPlacement } from '../../scenarios/invalid-drop.js';
import { DEFAULT_OPTIONS, type ScenarioOptions } from '../../scenarios/scenario-types.js';
import { SUPPORTED_HZ } from '../../stack/kernel-clock.js';
import { UsageError } from '../errors.js';

export interface ScenarioArgs {
  kernel: string;
  sysctl?: string[];
  'invalid-drop'?: string;
  hz: number;
  'idle-timeout': number;
  seed: number;
  isn: string;
  'port-choice': string;
  'app-close-at': number;
  'reconnect-at': number;
  'reconnect-attempts': number;
  'reconnect-interval': number;
}

export function scenarioOptionsBuilder<T>(y: Argv<T>): Argv<T & ScenarioArgs> {
  return y
    .option('kernel', { type: 'string', default: DEFAULT_OPTIONS.kernel, describe: 'kernel release or vendor profile of the pod (e.g. 5.4, sles-15-sp4, 6.1.8, 6.18)' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* or net.ipv4.* setting name=value (repeatable)' })
    .option('invalid-drop', { type: 'string', describe: `drop --ctstate INVALID in the pod: ${INVALID_DROP_PLACEMENTS.join(', ')} (no value: mangle-prerouting, Istio's INVALID_DROP)` })
    .option('hz', { type: 'number', default: DEFAULT_OPTIONS.hz, describe: `CONFIG_HZ of the kernels (${SUPPORTED_HZ.join(', ')}): jiffies and timer-wheel rounding` })
    .option('idle-timeout', { type: 'number', default: DEFAULT_OPTIONS.idleTimeoutSec, describe: 'sidecar tcp_proxy idle_timeout in seconds' })
    .option('seed', { type: 'number', default: DEFAULT_OPTIONS.seed, describe: 'run seed (ISNs, ports, hash keys)' })
    .option('isn', { type: 'string', choices: ['clock', 'after', 'before', 'seeded'], default: DEFAULT_OPTIONS.isn, describe: "port-collision: the reconnect's ISN: clock = Linux's secure_tcp_seq (the time between the connects decides); what-ifs: the RST's seq after/before the new SYN's, or random" })
    .option('port-choice', { type: 'string', choices: ['explicit', 'ephemeral'], default: DEFAULT_OPTIONS.portChoice, describe: "port-collision: bind the old port, or let Linux's ephemeral-port algorithm pick until it collides" })
    .option('app-close-at', { type: 'number', default: DEFAULT_OPTIONS.appCloseAtSec, describe: 'when the app closes its half-closed socket (s)' })
    .option('reconnect-at', { type: 'number', default: DEFAULT_OPTIONS.reconnectAtSec, describe: 'port-collision: when the app connects again (s after its first connect)' })
    .option('reconnect-attempts', { type: 'number', default: DEFAULT_OPTIONS.reconnectAttempts, describe: 'port-collision: tries while bind()/connect() fail at once (EADDRNOTAVAIL)' })
    .option('reconnect-interval', { type: 'number', default: DEFAULT_OPTIONS.reconnectIntervalSec, describe: 'port-collision: seconds between those tries' }) as Argv<T & ScenarioArgs>;
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new UsageError(`--${name} must be an integer in 1..${max}, got ${v}`);
  return v;
}

function positiveSeconds(name: string, v: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max || Math.round(v * 1e9) !== v * 1e9) throw new UsageError(`--${name} must be a number of seconds in (0, ${max}] (ns resolution), got ${v}`);
  return v;
}

export function toScenarioOptions(a: ScenarioArgs): ScenarioOptions {
  resolveKernel(a.kernel); // a ConfigError for unknown kernels, before anything runs
  const idle = positiveInt('idle-timeout', a['idle-timeout'], 86400);
  const closeAt = positiveSeconds('app-close-at', a['app-close-at'], 86400);
  const reconnect = positiveSeconds('reconnect-at', a['reconnect-at'], 86400);
  const attempts = positiveInt('reconnect-attempts', a['reconnect-attempts'], 10000);
  const interval = positiveSeconds('reconnect-interval', a['reconnect-interval'], 3600);
  if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff) throw new UsageError(`--seed must be an integer in 0..4294967295, got ${a.seed}`);
  if (!SUPPORTED_HZ.includes(a.hz)) throw new UsageError(`--hz must be one of ${SUPPORTED_HZ.join(', ')} (Linux's CONFIG_HZ choices), got ${a.hz}`);
  let invalidDrop: ScenarioOptions['invalidDrop'] = null;
  if (a['invalid-drop'] !== undefined) {
    try {
      invalidDrop = parseInvalidDropPlacement(a['invalid-drop']);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return {
    kernel: a.kernel, sysctls: a.sysctl ?? [], invalidDrop, hz: a.hz, idleTimeoutSec: idle, seed: a.seed,
    appCloseAtSec: closeAt, reconnectAtSec: reconnect, reconnectAttempts: attempts, reconnectIntervalSec: interval,
    portChoice: a['port-choice'] as ScenarioOptions['portChoice'], isn: a.isn as ScenarioOptions['isn'],
  };
}
