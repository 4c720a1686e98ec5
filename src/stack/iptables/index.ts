// The iptables rule engine: parse iptables-save text, evaluate packets at a hook, list and save.
export { Ruleset } from './ruleset.js';
export { parseIptablesSave } from './restore.js';
export type { ParseOptions } from './restore.js';
export { RuleEvalError, RuleParseError } from './errors.js';
export type { RuleParseReason } from './errors.js';
export { MAX_JUMP_DEPTH } from './evaluate.js';
export type { TraceHit, TraceResult } from './evaluate.js';
export type { SaveOptions } from './save.js';
export type { Chain, Counters, Match, Rule, TableRules, Target } from './rule.js';
export { BUILTIN_CHAINS, HOOKS, TABLE_NAMES } from './tables.js';
export type { Hook, TableName } from './tables.js';
