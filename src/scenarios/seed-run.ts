// One run of a seed incident: its shipped file with the knobs as overrides, through the scenario
// engine, with the seed outcome read from the run. The file stem names what was run, so a
// directory of outputs reads as a matrix.
import { executeScenario, type ExecutedScenario } from './engine/execute.js';
import { loadScenarioFile } from './file/load.js';
import type { LoadOverrides } from './file/overrides.js';
import { scenarioPath } from './file/shipped.js';
import { seedOverrides, type SeedKnobs, type SeedName } from './seed-knobs.js';
import { seedOutcome } from './seed-outcome.js';
import type { ScenarioOutcome } from './scenario-types.js';

export interface SeedRun {
  name: SeedName;
  knobs: SeedKnobs;
  /** The kernel profile the pod ran. */
  kernel: string;
  executed: ExecutedScenario;
  outcome: ScenarioOutcome;
}

/** Runs the seed file with the knobs, then `extra` (a command line's --sysctl and --set) on top. */
export function runSeed(name: SeedName, knobs: SeedKnobs = {}, extra: LoadOverrides = {}): SeedRun {
  const o = seedOverrides(name, knobs);
  const spec = loadScenarioFile(scenarioPath(name), { kernel: extra.kernel ?? o.kernel, sysctls: extra.sysctls, set: [...(o.set ?? []), ...(extra.set ?? [])] });
  const executed = executeScenario(spec, { application: `ctsim scenario ${name}` });
  return { name, knobs, kernel: executed.run.kernels.pod ?? '', executed, outcome: seedOutcome(executed) };
}

/** "port-collision-sles-15-sp4-be_liberal-1-invalid-drop-filter-output-reconnect-200s". */
export function seedStem(name: SeedName, k: SeedKnobs, kernel: string): string {
  const parts: string[] = [name, kernel];
  for (const s of k.sysctls ?? []) parts.push(s.replace(/^net\.(netfilter|ipv4)\./, '').replace(/^nf_conntrack_tcp_/, '').replace(/=/, '-'));
  if (k.invalidDrop) parts.push(`invalid-drop-${k.invalidDrop}`);
  if (k.idleTimeoutSec !== undefined) parts.push(`idle-${k.idleTimeoutSec}s`);
  if (k.appCloseAtSec !== undefined) parts.push(`close-${k.appCloseAtSec}s`);
  if (name === 'port-collision') {
    if (k.reconnectAtSec !== undefined) parts.push(`reconnect-${k.reconnectAtSec}s`);
    if (k.reconnectAttempts !== undefined || k.reconnectIntervalSec !== undefined) parts.push(`tries-${k.reconnectAttempts ?? 20}x${k.reconnectIntervalSec ?? 1}s`);
  }
  if (k.seed !== undefined && k.seed !== 1) parts.push(`seed-${k.seed}`);
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_');
}

/** A seed run's title: the incident, the kernel and every knob that differs from the file's defaults. */
export function seedTitle(r: Pick<SeedRun, 'name' | 'knobs' | 'kernel'>): string {
  const k = r.knobs;
  const parts: string[] = [];
  for (const x of k.sysctls ?? []) parts.push(x.replace(/^(?:[A-Za-z][\w-]*:)?net\.(netfilter|ipv4)\./, '').replace(/^nf_conntrack_tcp_(timeout_)?/, ''));
  if (k.invalidDrop) parts.push(`INVALID drop in ${k.invalidDrop}`);
  if (k.idleTimeoutSec !== undefined && k.idleTimeoutSec !== 3600) parts.push(`idle_timeout ${k.idleTimeoutSec} s`);
  if (k.appCloseAtSec !== undefined) parts.push(`app closes at ${k.appCloseAtSec} s`);
  if (r.name === 'port-collision' && k.reconnectAtSec !== undefined && k.reconnectAtSec !== 120) parts.push(`reconnect at ${k.reconnectAtSec} s`);
  if (k.seed !== undefined && k.seed !== 1) parts.push(`seed ${k.seed}`);
  return `${r.name} on ${r.kernel}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
