// Command-line options shared by `ctsim scenario` and `ctsim seed`, validated into ScenarioOptions.
import type { Argv } from 'yargs';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { DEFAULT_OPTIONS, type ScenarioOptions } from '../../scenarios/scenario-types.js';
import { UsageError } from '../errors.js';

export interface ScenarioArgs {
  kernel: string;
  sysctl?: string[];
  'invalid-drop'?: boolean;
  'idle-timeout': number;
  seed: number;
  isn: string;
  'port-choice': string;
  'app-close-at': number;
  'reconnect-at': number;
}

export function scenarioOptionsBuilder<T>(y: Argv<T>): Argv<T & ScenarioArgs> {
  return y
    .option('kernel', { type: 'string', default: DEFAULT_OPTIONS.kernel, describe: 'kernel release or vendor profile of the pod (e.g. 5.4, sles-15-sp4, 6.1.8, 6.18)' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* or net.ipv4.* setting name=value (repeatable)' })
    .option('invalid-drop', { type: 'boolean', default: false, describe: "add Istio's INVALID_DROP rule (mangle PREROUTING --ctstate INVALID -j DROP)" })
    .option('idle-timeout', { type: 'number', default: DEFAULT_OPTIONS.idleTimeoutSec, describe: 'sidecar tcp_proxy idle_timeout in seconds' })
    .option('seed', { type: 'number', default: DEFAULT_OPTIONS.seed, describe: 'run seed (ISNs, ports, hash keys)' })
    .option('isn', { type: 'string', choices: ['after', 'before', 'seeded'], default: DEFAULT_OPTIONS.isn, describe: "port-collision: the new SYN's ISN relative to the RST's seq" })
    .option('port-choice', { type: 'string', choices: ['explicit', 'ephemeral'], default: DEFAULT_OPTIONS.portChoice, describe: "port-collision: bind the old port, or let Linux's ephemeral-port algorithm pick until it collides" })
    .option('app-close-at', { type: 'number', default: DEFAULT_OPTIONS.appCloseAtSec, describe: 'when the app closes its half-closed socket (s)' })
    .option('reconnect-at', { type: 'number', default: DEFAULT_OPTIONS.reconnectAtSec, describe: 'port-collision: when the app connects again (s)' }) as Argv<T & ScenarioArgs>;
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new UsageError(`--${name} must be an integer in 1..${max}, got ${v}`);
  return v;
}

export function toScenarioOptions(a: ScenarioArgs): ScenarioOptions {
  resolveKernel(a.kernel); // a ConfigError for unknown kernels, before anything runs
  const idle = positiveInt('idle-timeout', a['idle-timeout'], 86400);
  const closeAt = positiveInt('app-close-at', a['app-close-at'], 86400);
  const reconnect = positiveInt('reconnect-at', a['reconnect-at'], 86400);
  if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff) throw new UsageError(`--seed must be an integer in 0..4294967295, got ${a.seed}`);
  if (reconnect <= closeAt) throw new UsageError(`--reconnect-at (${reconnect} s) must come after --app-close-at (${closeAt} s): the port is still in use before`);
  return {
    kernel: a.kernel, sysctls: a.sysctl ?? [], invalidDrop: !!a['invalid-drop'], idleTimeoutSec: idle, seed: a.seed,
    appCloseAtSec: closeAt, reconnectAtSec: reconnect, portChoice: a['port-choice'] as ScenarioOptions['portChoice'], isn: a.isn as ScenarioOptions['isn'],
  };
}
