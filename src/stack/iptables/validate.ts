// Whole-table checks the kernel makes when a table is loaded (translate_table in
// net/ipv4/netfilter/ip_tables.c): mark_source_chains walks every jump from each hook, refusing a
// chain that can reach itself (ELOOP, "Too many levels of symbolic links"), and records which
// hooks reach each chain; xt_check_match/xt_check_target then refuse an extension used from a hook
// outside its .hooks mask ("REDIRECT target: used from hooks POSTROUTING, but only valid from
// PREROUTING/OUTPUT"). Unreachable user chains are not checked, as in the kernel.
import { RuleParseError } from './errors.js';
import type { Chain, Rule } from './rule.js';
import { hookBit, hookMaskText } from './tables.js';

const NAT_HOOKS = hookBit('PREROUTING') | hookBit('OUTPUT'); // xt_REDIRECT, xt_nat DNAT
const OWNER_HOOKS = hookBit('OUTPUT') | hookBit('POSTROUTING'); // xt_owner
const MASQUERADE_HOOKS = hookBit('POSTROUTING'); // xt_MASQUERADE
const SNAT_HOOKS = hookBit('POSTROUTING') | hookBit('INPUT'); // xt_nat SNAT
const REJECT_HOOKS = hookBit('INPUT') | hookBit('FORWARD') | hookBit('OUTPUT'); // ipt_REJECT
// addrtype_mt_checkentry_v1: "output interface limitation not valid in PREROUTING and INPUT" and the converse.
const NO_LIMIT_OUT = hookBit('PREROUTING') | hookBit('INPUT');
const NO_LIMIT_IN = hookBit('POSTROUTING') | hookBit('OUTPUT');

const TARGET_HOOKS: Readonly<Partial<Record<Rule['target']['kind'], [string, number]>>> = {
  redirect: ['REDIRECT', NAT_HOOKS],
  dnat: ['DNAT', NAT_HOOKS],
  masquerade: ['MASQUERADE', MASQUERADE_HOOKS],
  snat: ['SNAT', SNAT_HOOKS],
  reject: ['REJECT', REJECT_HOOKS],
};

function jumpTarget(r: Rule): string | undefined {
  return r.target.kind === 'jump' ? r.target.chain : undefined;
}

/** Throws on a jump loop; otherwise returns the hook mask reaching each chain. */
export function chainHookMasks(chains: ReadonlyMap<string, Chain>): Map<string, number> {
  const state = new Map<string, 1 | 2>(); // 1 = on the DFS path, 2 = done
  const visit = (c: Chain): void => {
    state.set(c.name, 1);
    for (const r of c.rules) {
      const t = jumpTarget(r);
      if (t === undefined) continue;
      const s = state.get(t);
      if (s === 1) {
        throw new RuleParseError('jump-loop', r.line, t, `jump loop: chain ${c.name} jumps to ${t}, which leads back to ${c.name}`);
      }
      const next = chains.get(t);
      if (s === undefined && next) visit(next);
    }
    state.set(c.name, 2);
  };
  for (const c of chains.values()) if (!state.has(c.name)) visit(c);

  const masks = new Map<string, number>();
  const mark = (c: Chain, bit: number): void => {
    const m = masks.get(c.name) ?? 0;
    if (m & bit) return;
    masks.set(c.name, m | bit);
    for (const r of c.rules) {
      const t = jumpTarget(r);
      const next = t === undefined ? undefined : chains.get(t);
      if (next) mark(next, bit);
    }
  };
  for (const c of chains.values()) if (c.builtin) mark(c, hookBit(c.builtin));
  return masks;
}

/** Loop and hook-mask checks for one table. */
export function validateChains(chains: ReadonlyMap<string, Chain>): void {
  const masks = chainHookMasks(chains);
  for (const c of chains.values()) {
    const mask = masks.get(c.name) ?? 0;
    if (mask === 0) continue;
    for (const r of c.rules) {
      const limits = TARGET_HOOKS[r.target.kind];
      if (limits && (mask & ~limits[1]) !== 0) {
        const [name, allowed] = limits;
        throw new RuleParseError(
          'wrong-hook',
          r.line,
          `-j ${name}`,
          `target "-j ${name}" in chain ${c.name} is used from hook ${hookMaskText(mask & ~allowed)}, but only valid from ${hookMaskText(allowed)}`,
        );
      }
      for (const m of r.matches) {
        if (m.kind !== 'addrtype') continue;
        if ((m.limitOut && (mask & NO_LIMIT_OUT) !== 0) || (m.limitIn && (mask & NO_LIMIT_IN) !== 0)) {
          const which = m.limitOut ? 'output' : 'input';
          throw new RuleParseError('wrong-hook', r.line, '-m addrtype', `addrtype: ${which} interface limitation in chain ${c.name} is not valid from hook ${hookMaskText(mask & (m.limitOut ? NO_LIMIT_OUT : NO_LIMIT_IN))}`);
        }
      }
      if (r.matches.some((m) => m.kind === 'owner') && (mask & ~OWNER_HOOKS) !== 0) {
        throw new RuleParseError(
          'wrong-hook',
          r.line,
          '-m owner',
          `match "-m owner" in chain ${c.name} is used from hook ${hookMaskText(mask & ~OWNER_HOOKS)}, but only valid from ${hookMaskText(OWNER_HOOKS)}`,
        );
      }
    }
  }
}
