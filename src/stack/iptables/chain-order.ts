// The order in which iptables-save(8) and `iptables -L` walk a table: libiptc keeps the builtin
// chains in hook order and inserts user chains sorted by name (strcmp, so "ISTIO_INBOUND" comes
// before "ISTIO_IN_REDIRECT"). Rule order inside a chain is never changed.
import type { Chain, TableRules } from './rule.js';
import { HOOKS } from './tables.js';

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function orderedChains(t: TableRules): Chain[] {
  const all = [...t.chains.values()];
  const builtin = all.filter((c) => c.builtin).sort((a, b) => HOOKS.indexOf(a.builtin!) - HOOKS.indexOf(b.builtin!));
  const user = all.filter((c) => !c.builtin).sort((a, b) => byCodeUnit(a.name, b.name));
  return [...builtin, ...user];
}
