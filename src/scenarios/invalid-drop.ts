// Where a pod drops the packets conntrack marks INVALID. Istio's INVALID_DROP puts the rule in
// mangle PREROUTING (the preset istio-invalid-drop.rules); users also put it in filter OUTPUT,
// filter INPUT or raw PREROUTING. Each placement is iptables-save text: the Istio one from the
// presets, the others from the shipped scenarios/rules/ files, so ctsim's pod and the real one
// of kernel-diff load exactly the same rules.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../conntrack/errors.js';
import { ISTIO_INVALID_DROP_RULES, readPreset } from '../stack/presets/istio.js';

export const INVALID_DROP_PLACEMENTS = ['mangle-prerouting', 'filter-output', 'filter-input', 'raw-prerouting'] as const;
export type InvalidDropPlacement = (typeof INVALID_DROP_PLACEMENTS)[number];

/** What each placement drops, in the kernel's order of hooks (for help texts and docs). */
export const INVALID_DROP_DESCRIPTIONS: Readonly<Record<InvalidDropPlacement, string>> = Object.freeze({
  'mangle-prerouting': "Istio's INVALID_DROP: received INVALID packets, after conntrack, before routing",
  'filter-output': 'locally generated INVALID packets (a late FIN, an RST answering a challenge ACK), before they leave',
  'filter-input': 'received INVALID packets for local sockets, after routing',
  'raw-prerouting': 'every received packet from a device (raw runs before conntrack: no entry yet, so xt_conntrack calls it INVALID)',
});

const RULE_FILES: Readonly<Record<Exclude<InvalidDropPlacement, 'mangle-prerouting'>, string>> = {
  'filter-output': 'invalid-drop-filter-output.rules',
  'filter-input': 'invalid-drop-filter-input.rules',
  'raw-prerouting': 'invalid-drop-raw.rules',
};

/** scenarios/rules of this package: two folders up from src/scenarios, three from dist/src/scenarios. */
function scenarioRulesDirectory(): string {
  for (const up of ['../../scenarios/rules/', '../../../scenarios/rules/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new ConfigError(`scenarios/rules not found next to ${fileURLToPath(import.meta.url)}`);
}

export function parseInvalidDropPlacement(text: string): InvalidDropPlacement {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'true' || t === 'istio' || t === 'mangle') return 'mangle-prerouting';
  if (t === 'raw') return 'raw-prerouting';
  const p = INVALID_DROP_PLACEMENTS.find((x) => x === t);
  if (!p) throw new ConfigError(`unknown INVALID-drop placement ${JSON.stringify(text)}: one of ${INVALID_DROP_PLACEMENTS.join(', ')}`);
  return p;
}

/** The iptables-save text of a placement (to add to the pod's rules, in ctsim or with iptables-restore --noflush). */
export function invalidDropRules(p: InvalidDropPlacement): string {
  if (p === 'mangle-prerouting') return readPreset(ISTIO_INVALID_DROP_RULES);
  return readFileSync(`${scenarioRulesDirectory()}${RULE_FILES[p]}`, 'utf8');
}
