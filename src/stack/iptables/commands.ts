// The iptables(8) commands a ruleset is built from, as iptables-restore(8) feeds each line of a
// table block to do_command: -N (new chain), -A (append), -I (insert, 1-based, default 1) and -P
// (policy of a builtin chain), plus the ":CHAIN POLICY [packets:bytes]" declarations of
// iptables-save(8). Commands that delete or rename (-D, -F, -X, -R, -E, -Z) are not modelled.
import { RuleParseError } from './errors.js';
import type { Chain, Counters, TableRules } from './rule.js';
import { isTargetName, parseRuleSpec } from './rule-parser.js';
import { BUILTIN_CHAINS, isBuiltinChain } from './tables.js';
import type { TableName } from './tables.js';
import { parseCounters } from './values.js';

/** XT_EXTENSION_MAXNAMELEN - 1: iptables refuses longer chain names. */
const MAX_CHAIN_NAME = 28;

const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  '--append': '-A',
  '--insert': '-I',
  '--new-chain': '-N',
  '--new': '-N',
  '--policy': '-P',
};

const UNSUPPORTED_COMMANDS = new Set([
  '-D', '--delete', '-R', '--replace', '-F', '--flush', '-X', '--delete-chain', '-E', '--rename-chain',
  '-Z', '--zero', '-L', '--list', '-S', '--list-rules', '-C', '--check',
]);

/** A fresh table: its builtin chains with policy ACCEPT, as the kernel registers it. */
export function newTableRules(name: TableName): TableRules {
  const chains = new Map<string, Chain>();
  for (const hook of BUILTIN_CHAINS[name]) {
    chains.set(hook, { name: hook, builtin: hook, policy: 'ACCEPT', policyCounters: { packets: 0, bytes: 0 }, rules: [] });
  }
  return { name, chains };
}

/** A copy whose chain and rule lists can change without touching the original (rules are shared). */
export function cloneTableRules(t: TableRules): TableRules {
  const chains = new Map<string, Chain>();
  for (const [name, c] of t.chains) chains.set(name, { ...c, rules: [...c.rules] });
  return { name: t.name, chains };
}

function checkUserChainName(t: TableRules, name: string, line: number): void {
  if (name.length > MAX_CHAIN_NAME) {
    throw new RuleParseError('bad-value', line, name, `chain name "${name}" too long (at most ${MAX_CHAIN_NAME} characters)`);
  }
  if (name === '' || name.startsWith('-') || name.startsWith('!')) {
    throw new RuleParseError('bad-value', line, name, `bad chain name "${name}"`);
  }
  if (isTargetName(name)) {
    throw new RuleParseError('bad-value', line, name, `chain name "${name}" clashes with a target name`);
  }
  if (t.chains.has(name)) throw new RuleParseError('duplicate-chain', line, name, `chain "${name}" already exists in table ${t.name}`);
}

function newUserChain(t: TableRules, name: string, line: number): void {
  checkUserChainName(t, name, line);
  t.chains.set(name, { name, builtin: null, policy: null, policyCounters: { packets: 0, bytes: 0 }, rules: [] });
}

function setPolicy(t: TableRules, name: string, policy: string, line: number, counters?: Counters): void {
  const c = t.chains.get(name);
  if (!c || !c.builtin) {
    throw new RuleParseError('bad-value', line, name, `can't set policy "${policy}" on "${name}": not a builtin chain of table ${t.name}`);
  }
  if (policy !== 'ACCEPT' && policy !== 'DROP') {
    throw new RuleParseError('bad-value', line, policy, `bad policy "${policy}" for ${name} (ACCEPT or DROP)`);
  }
  c.policy = policy;
  if (counters) c.policyCounters = counters;
}

/**
 * ":NAME POLICY [packets:bytes]": a builtin chain gets its policy (and policy counters), a user
 * chain is created and must say "-". `declared` catches a chain declared twice in one block.
 */
export function declareChain(t: TableRules, args: readonly string[], line: number, declared: Set<string>): void {
  const [name, policy, ctr, extra] = args;
  if (name === undefined || name === '') throw new RuleParseError('missing-argument', line, ':', 'missing chain name after ":"');
  if (policy === undefined) throw new RuleParseError('missing-argument', line, name, `missing policy for chain "${name}"`);
  if (extra !== undefined) throw new RuleParseError('syntax', line, extra, `unexpected "${extra}" after the counters of chain "${name}"`);
  const counters = ctr === undefined ? undefined : parseCounters(ctr, line);
  if (declared.has(name)) throw new RuleParseError('duplicate-chain', line, name, `chain "${name}" declared twice`);
  declared.add(name);
  if (isBuiltinChain(t.name, name)) {
    setPolicy(t, name, policy, line, counters);
  } else if (policy !== '-') {
    throw new RuleParseError('bad-value', line, policy, `can't set policy "${policy}" on "${name}": not a builtin chain of table ${t.name}`);
  } else {
    newUserChain(t, name, line);
  }
}

/**
 * One command line (already split into arguments). `counters` are the "[packets:bytes]" that
 * iptables-save -c prints before "-A".
 */
export function applyCommand(t: TableRules, args: readonly string[], line: number, counters?: Counters): void {
  const raw = args[0];
  const cmd = COMMAND_ALIASES[raw] ?? raw;
  if (cmd !== '-A' && cmd !== '-I' && cmd !== '-N' && cmd !== '-P') {
    if (UNSUPPORTED_COMMANDS.has(raw)) throw new RuleParseError('unsupported-command', line, raw, `unsupported command "${raw}"`);
    throw new RuleParseError('syntax', line, raw, `expected -A, -I, -N or -P, found "${raw}"`);
  }
  const name = args[1];
  if (name === undefined) throw new RuleParseError('missing-argument', line, raw, `missing chain name for "${raw}"`);
  if (counters && cmd !== '-A' && cmd !== '-I') {
    throw new RuleParseError('syntax', line, raw, `counters are only allowed before -A or -I`);
  }
  if (cmd === '-N') {
    if (args.length > 2) throw new RuleParseError('syntax', line, args[2], `unexpected "${args[2]}" after "-N ${name}"`);
    newUserChain(t, name, line);
    return;
  }
  if (cmd === '-P') {
    const policy = args[2];
    if (policy === undefined) throw new RuleParseError('missing-argument', line, raw, `missing policy for "-P ${name}"`);
    if (args.length > 3) throw new RuleParseError('syntax', line, args[3], `unexpected "${args[3]}" after "-P ${name} ${policy}"`);
    setPolicy(t, name, policy, line);
    return;
  }
  const chain = t.chains.get(name);
  if (!chain) throw new RuleParseError('undeclared-chain', line, name, `rule for undeclared chain "${name}" in table ${t.name}`);
  let rest = 2;
  let pos = chain.rules.length; // -A
  if (cmd === '-I') {
    pos = 0;
    const n = args[2];
    if (n !== undefined && /^\d+$/.test(n)) {
      rest = 3;
      pos = Number(n) - 1;
      // libiptc: "Index of insertion too big"; rule numbers start at 1.
      if (pos < 0 || pos > chain.rules.length) {
        throw new RuleParseError('bad-value', line, n, `rule number ${n} out of range for "-I ${name}" (1 to ${chain.rules.length + 1})`);
      }
    }
  }
  const rule = parseRuleSpec(args.slice(rest), {
    table: t.name,
    chain: name,
    line,
    chainKind: (c) => {
      const found = t.chains.get(c);
      return found ? (found.builtin ? 'builtin' : 'user') : undefined;
    },
  });
  if (counters) rule.counters = counters;
  chain.rules.splice(pos, 0, rule);
}
