// Istio's sidecar capture rules as a ready Ruleset. The rules live in .rules files (iptables-save
// text, so they can be diffed against `iptables-save` in a real pod); tsc does not copy them, so
// they are found from the package root: walk up from this module to the package.json named
// "ctsim" that has src/stack/presets/ next to it (this works from src/ under vitest and from
// dist/src/ after tsc, where the source tree is still beside dist/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../conntrack/errors.js';
import { parseIptablesSave } from '../iptables/restore.js';
import type { Ruleset } from '../iptables/ruleset.js';

export const ISTIO_SIDECAR_RULES = 'istio-sidecar.rules';
export const ISTIO_INVALID_DROP_RULES = 'istio-invalid-drop.rules';

/** Istio's defaults the preset encodes (tools/istio-iptables defaults). */
export const ISTIO_DEFAULTS = Object.freeze({
  proxyUid: 1337,
  proxyGid: 1337,
  outboundCapturePort: 15001,
  inboundCapturePort: 15006,
  excludedInboundPorts: Object.freeze([15008, 15020, 15021, 15090]),
  inboundPassthroughSource: '127.0.0.6',
});

let presetsDir: string | undefined;

/** src/stack/presets of the ctsim package this module belongs to. */
export function presetsDirectory(): string {
  if (presetsDir) return presetsDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    const candidate = join(dir, 'src', 'stack', 'presets');
    if (existsSync(pkg) && existsSync(join(candidate, ISTIO_SIDECAR_RULES))) {
      const { name } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string };
      if (name === 'ctsim') return (presetsDir = candidate);
    }
    const up = dirname(dir);
    if (up === dir) throw new ConfigError(`ctsim presets not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The text of a preset file (e.g. for display or to diff against a pod's iptables-save). */
export function readPreset(file: string): string {
  return readFileSync(join(presetsDirectory(), file), 'utf8');
}

/**
 * The nat table istio-init / istio-cni installs in a sidecar pod (default settings), plus with
 * invalidDrop the mangle table of INVALID_DROP=true.
 */
export function loadIstioPreset(options: { invalidDrop: boolean }): Ruleset {
  const rs = parseIptablesSave(readPreset(ISTIO_SIDECAR_RULES));
  if (options.invalidDrop) parseIptablesSave(readPreset(ISTIO_INVALID_DROP_RULES), { into: rs });
  return rs;
}
