// The scenario files ctsim ships (scenarios/ at the package root): the seed incidents and the
// examples from the field. tsc does not copy them next to dist/, so they are found from the package
// root, as the rule presets are.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../conntrack/errors.js';

let dir: string | undefined;

/** scenarios/ of the ctsim package this module belongs to. */
export function scenariosDirectory(): string {
  if (dir) return dir;
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(d, 'package.json');
    const candidate = join(d, 'scenarios');
    if (existsSync(pkg) && existsSync(candidate)) {
      const { name } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string };
      if (name === 'ctsim') return (dir = candidate);
    }
    const up = dirname(d);
    if (up === d) throw new ConfigError(`ctsim's scenarios/ folder not found above ${fileURLToPath(import.meta.url)}`);
    d = up;
  }
}

/** Names of the shipped scenario files (without .yaml). */
export function shippedScenarioNames(): string[] {
  return readdirSync(scenariosDirectory()).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** A shipped scenario's path by name, or the argument itself when it names a file. */
export function scenarioPath(nameOrFile: string): string {
  if (/[/\\]|\.ya?ml$|\.json$/.test(nameOrFile)) return nameOrFile;
  const p = join(scenariosDirectory(), `${nameOrFile}.yaml`);
  if (!existsSync(p)) throw new ConfigError(`no shipped scenario "${nameOrFile}" (shipped: ${shippedScenarioNames().join(', ')}); give a file path for your own`);
  return p;
}
