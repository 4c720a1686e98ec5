// A host's (or pod network namespace's) iptables state: tables -> chains -> rules with counters.
// It answers the netfilter hooks through the RuleEvaluator contract of src/stack/rules.ts, lists a
// table like `iptables -L -v -n --line-numbers`, and saves like `iptables-save -c`. Changes go
// through iptables commands and are checked like the kernel checks a table replace (loops, hook
// masks) before they take effect; evaluation uses a compiled copy rebuilt after each change.
import type { HiddenMatches, RuleEvaluator, RulePacket, RuleRandomSource } from '../rules.js';
import { applyCommand, cloneTableRules, newTableRules } from './commands.js';
import { RuleEvalError } from './errors.js';
import { compileTable, evaluateTable } from './evaluate.js';
import type { CompiledTable, TraceResult } from './evaluate.js';
import { listTable } from './listing.js';
import type { Chain, Rule, TableRules } from './rule.js';
import { saveTables } from './save.js';
import type { SaveOptions } from './save.js';
import { BUILTIN_CHAINS } from './tables.js';
import type { Hook, TableName } from './tables.js';
import { tokenizeLine } from './tokenizer.js';
import { validateChains } from './validate.js';

export class Ruleset implements RuleEvaluator {
  private readonly tableMap = new Map<TableName, TableRules>();
  private readonly compiled = new Map<TableName, CompiledTable>();

  /** Tables present, in the order they were loaded (save() prints them in this order). */
  tableNames(): TableName[] {
    return [...this.tableMap.keys()];
  }

  /** A table's chains and rules (read them; change them with command()). */
  table(name: TableName): Readonly<TableRules> | undefined {
    return this.tableMap.get(name);
  }

  chain(table: TableName, name: string): Readonly<Chain> | undefined {
    return this.tableMap.get(table)?.chains.get(name);
  }

  /** The ids the table's `-m owner` matches name (each once, in rule order), and whether it matches marks or at random. */
  hiddenMatches(table: TableName): HiddenMatches {
    const uids = new Set<number>();
    const gids = new Set<number>();
    let markOrRandom = false;
    for (const chain of this.tableMap.get(table)?.chains.values() ?? []) {
      for (const rule of chain.rules) {
        for (const m of rule.matches) {
          if (m.kind === 'mark' || m.kind === 'statistic') markOrRandom = true;
          if (m.kind !== 'owner') continue;
          if (m.uid) uids.add(m.uid.id);
          if (m.gid) gids.add(m.gid.id);
        }
      }
    }
    return { uids: [...uids], gids: [...gids], markOrRandom };
  }

  /** The rule `iptables -t table -L chain n` would show (1-based). */
  rule(table: TableName, chain: string, n: number): Readonly<Rule> | undefined {
    return this.chain(table, chain)?.rules[n - 1];
  }

  /**
   * Replaces a whole table, as iptables-restore(8) does for each "*table" block (the parser
   * calls this at COMMIT). Checks it first like the kernel's table replace: RuleParseError on a
   * jump loop or an extension used from a hook it does not allow.
   */
  install(t: TableRules): void {
    validateChains(t.chains);
    this.tableMap.set(t.name, t);
    this.compiled.delete(t.name);
  }

  /**
   * One iptables command against a table, e.g. `command('nat', '-A OUTPUT -p tcp -j ACCEPT')`
   * (-N, -A, -I, -P; the same syntax as a line of iptables-restore input). A table not yet
   * present starts empty with ACCEPT policies. Throws RuleParseError and leaves the ruleset
   * unchanged when the command, or the table it would produce, is invalid.
   */
  command(table: TableName, line: string, lineNumber = 1): void {
    const existing = this.tableMap.get(table);
    const next = existing ? cloneTableRules(existing) : newTableRules(table);
    applyCommand(next, tokenizeLine(line, lineNumber), lineNumber);
    this.install(next);
  }

  /**
   * What table says at hook for this packet: the verdict, the NAT binding of a REDIRECT/DNAT
   * rule, the rules that matched in order (and the policy when it decided), LOG lines. Bumps
   * rule and policy counters. A table that was never loaded accepts without hits, as an
   * unregistered table does; a hook the table does not have is an error.
   */
  evaluate(table: TableName, hook: Hook, pkt: RulePacket, random?: RuleRandomSource): TraceResult {
    let ct = this.compiled.get(table);
    if (!ct) {
      const t = this.tableMap.get(table);
      if (!t) {
        if (!(BUILTIN_CHAINS[table] as readonly string[]).includes(hook)) {
          throw new RuleEvalError(`table ${table} is not registered at ${hook} (it has no ${hook} chain)`);
        }
        return { verdict: 'ACCEPT', hits: [], logs: [] };
      }
      ct = compileTable(t);
      this.compiled.set(table, ct);
    }
    return evaluateTable(ct, hook, pkt, random);
  }

  /**
   * Whether these rules turn connection tracking on in their network namespace. Since 4.10 the
   * conntrack hooks are registered per namespace on demand (nf_ct_netns_get): by the nat table
   * (iptable_nat / an nft nat chain) and by extensions that need an entry (-m conntrack, -m
   * state). A namespace with none of these tracks nothing: no entries, no INVALID verdicts.
   */
  usesConntrack(): boolean {
    if (this.tableMap.has('nat')) return true;
    for (const t of this.tableMap.values()) {
      for (const c of t.chains.values()) {
        for (const r of c.rules) if (r.matches.some((m) => m.kind === 'conntrack' || m.kind === 'state')) return true;
      }
    }
    return false;
  }

  /** `iptables -t table -L -v -n --line-numbers` (an absent table lists its empty builtin chains). */
  dump(table: TableName): string {
    return listTable(this.tableMap.get(table) ?? newTableRules(table));
  }

  /** `iptables-save -c` (or plain iptables-save with { counters: false }); parses back to the same ruleset. */
  save(options: SaveOptions = {}): string {
    return saveTables(this.tableMap.values(), options);
  }

  /** `iptables -Z` on every table: rule and policy counters back to 0. */
  resetCounters(): void {
    for (const t of this.tableMap.values()) {
      for (const c of t.chains.values()) {
        c.policyCounters.packets = 0;
        c.policyCounters.bytes = 0;
        for (const r of c.rules) {
          r.counters.packets = 0;
          r.counters.bytes = 0;
        }
      }
    }
  }
}
