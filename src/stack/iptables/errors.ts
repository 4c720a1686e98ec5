// Problems in a pasted or programmed ruleset are configuration errors, typed like
// src/conntrack/errors.ts: a machine-readable reason, the 1-based input line and the token that
// iptables-restore(8) would have complained about, so the CLI can say exactly what to change.

export type RuleParseReason =
  | 'syntax' // a line or option iptables-restore would reject outright
  | 'unsupported-table' // *security and friends: not modelled
  | 'unsupported-command' // -D, -F, -X, -R, ... (iptables-save never prints them)
  | 'unsupported-match' // -m multiport, -m mark, ...
  | 'unsupported-target' // -j MASQUERADE, -j REJECT, ...
  | 'unsupported-option' // --syn, --random, ... (an option of no supported match or target)
  | 'missing-argument' // an option at the end of the line, or a target without its required option
  | 'bad-address' // -s/-d/--to-destination that is not a.b.c.d[/len]
  | 'bad-port' // not a port, port range or range min > max
  | 'bad-value' // any other malformed value (uid, state list, log level, policy, counters)
  | 'bad-interface' // interface name too long
  | 'wrong-protocol' // -m tcp without -p tcp, --to-ports without -p tcp/udp, ! -p all
  | 'wrong-table' // REDIRECT/DNAT outside the nat table
  | 'wrong-hook' // a target or match used from a hook the kernel refuses (x_tables hook masks)
  | 'unknown-chain' // jump or goto to a chain that does not exist
  | 'undeclared-chain' // a rule for a chain that was never declared
  | 'duplicate-chain' // -N or :CHAIN of an existing chain
  | 'duplicate-table' // the same *table twice in one input
  | 'jump-loop'; // a chain that can reach itself (the kernel's mark_source_chains says ELOOP)

/** A line of iptables-save text (or one programmed command) the engine cannot accept. */
export class RuleParseError extends Error {
  override readonly name = 'RuleParseError';
  readonly kind = 'config';
  constructor(
    readonly reason: RuleParseReason,
    readonly line: number,
    readonly token: string,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** Evaluation could not finish: the jump stack grew past its bound. */
export class RuleEvalError extends Error {
  override readonly name = 'RuleEvalError';
  readonly kind = 'config';
}
