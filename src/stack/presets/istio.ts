// Istio's sidecar capture rules as a ready Ruleset. The rules live in .rules files (iptables-save
// text, so they can be diffed against `iptables-save` in a real pod) next to this module: in
// src/ (vitest) and in dist/src/, where `npm run build` copies them (scripts/copy-assets.mjs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The folder of the preset files: this module's own (src/stack/presets, or dist/src/stack/presets). */
export function presetsDirectory(): string {
  return fileURLToPath(new URL('.', import.meta.url));
}

/** The text of a preset file (e.g. for display or to diff against a pod's iptables-save). */
export function readPreset(file: string): string {
  const path = join(presetsDirectory(), file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError(`ctsim preset ${path} is missing (a build without scripts/copy-assets.mjs?)`);
    throw e;
  }
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
