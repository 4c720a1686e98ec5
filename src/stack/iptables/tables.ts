// Which builtin chains each table has (iptables(8) "TABLES"): the kernel registers a table only at
// the hooks listed here, so evaluate() refuses any other (table, hook) pair, and iptables-save(8)
// prints the builtin chains in hook order (NF_INET_PRE_ROUTING .. NF_INET_POST_ROUTING).
import type { Hook, Table as TableName } from '../rules.js';

export type { Hook, TableName };

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

/** Kernel hook order (enum nf_inet_hooks); also the order of builtin chains in listings. */
export const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly Hook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

export function isBuiltinChain(table: TableName, chain: string): chain is Hook {
  return (BUILTIN_CHAINS[table] as readonly string[]).includes(chain);
}

/** Bit of a hook in a hook mask (1 << NF_INET_*), as x_tables' .hooks fields. */
export function hookBit(hook: Hook): number {
  return 1 << HOOKS.indexOf(hook);
}

/** "PREROUTING/OUTPUT" for a mask, as the kernel's xt_check_* messages print it. */
export function hookMaskText(mask: number): string {
  return HOOKS.filter((h) => (mask & hookBit(h)) !== 0).join('/');
}
