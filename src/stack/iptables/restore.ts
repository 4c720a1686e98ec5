// Reading iptables-save(8) text the way iptables-restore(8) does: "*table" opens a block,
// ":CHAIN POLICY [packets:bytes]" declares chains, each other line is one command (-N, -A, -I,
// -P, optionally prefixed by "[packets:bytes]" as iptables-save -c prints), "COMMIT" checks the
// table (loops, hook masks) and installs it, replacing that table as iptables-restore without
// --noflush does. Lines starting with "#" and blank lines are skipped. When the caller names a
// table, bare command lines outside any block apply to it (a file of `-N`/`-A` lines, as Istio's
// istio-iptables hands to iptables-restore, or a script's `iptables -t nat ...` arguments).
import { applyCommand, cloneTableRules, declareChain, newTableRules } from './commands.js';
import { RuleParseError } from './errors.js';
import type { Counters, TableRules } from './rule.js';
import { Ruleset } from './ruleset.js';
import { isTableName } from './tables.js';
import type { TableName } from './tables.js';
import { tokenizeLine } from './tokenizer.js';
import { parseCounters } from './values.js';

export interface ParseOptions {
  /** Table for command lines outside a "*table" block. Without it such lines are an error. */
  table?: TableName;
  /** Load into this ruleset instead of a new one (tables in the text replace its tables). */
  into?: Ruleset;
}

/** Parses iptables-save text into a Ruleset; throws RuleParseError naming the line and token. */
export function parseIptablesSave(text: string, options: ParseOptions = {}): Ruleset {
  const rs = options.into ?? new Ruleset();
  const lines = text.split('\n');
  const seenTables = new Set<TableName>();
  let open: { t: TableRules; line: number; declared: Set<string> } | null = null;
  let bare: TableRules | null = null;

  for (let idx = 0; idx < lines.length; idx++) {
    const n = idx + 1;
    const line = lines[idx].trim();
    if (line === '' || line.startsWith('#')) continue;

    if (line.startsWith('*')) {
      const name = line.slice(1).trim().split(/\s+/)[0] ?? '';
      if (open) {
        throw new RuleParseError('syntax', n, `*${name}`, `table "${name}" starts before COMMIT of table ${open.t.name} (opened at line ${open.line})`);
      }
      if (!isTableName(name)) throw new RuleParseError('unsupported-table', n, `*${name}`, `unsupported table "*${name}" (raw, mangle, nat, filter)`);
      if (seenTables.has(name)) throw new RuleParseError('duplicate-table', n, `*${name}`, `table "*${name}" appears twice`);
      seenTables.add(name);
      if (bare) {
        // Bare commands so far happened before this block: install them, then the block replaces its table.
        rs.install(bare);
        bare = null;
      }
      open = { t: newTableRules(name), line: n, declared: new Set() };
      continue;
    }

    const args = tokenizeLine(line, n);
    if (args[0] === 'COMMIT') {
      if (!open) throw new RuleParseError('syntax', n, 'COMMIT', 'COMMIT without a "*table" line');
      if (args.length > 1) throw new RuleParseError('syntax', n, args[1], `unexpected "${args[1]}" after COMMIT`);
      rs.install(open.t); // checks loops and hook masks, as the kernel does on table replace
      open = null;
      continue;
    }

    if (line.startsWith(':')) {
      if (!open) throw new RuleParseError('syntax', n, line, 'chain declaration outside a "*table" block');
      declareChain(open.t, tokenizeLine(line.slice(1), n), n, open.declared);
      continue;
    }

    let counters: Counters | undefined;
    let cmd = args;
    if (args[0].startsWith('[')) {
      counters = parseCounters(args[0], n);
      cmd = args.slice(1);
      if (cmd.length === 0) throw new RuleParseError('missing-argument', n, args[0], 'counters without a command');
    }
    let target = open?.t;
    if (!target) {
      if (!options.table) {
        throw new RuleParseError('syntax', n, cmd[0], `"${cmd[0]}" outside a table: add a "*nat"/"*filter"/... line or name the table`);
      }
      if (!bare) {
        const existing = rs.table(options.table);
        bare = existing ? cloneTableRules(existing as TableRules) : newTableRules(options.table);
      }
      target = bare;
    }
    applyCommand(target, cmd, n, counters);
  }

  if (open) {
    throw new RuleParseError('syntax', lines.length, `*${open.t.name}`, `COMMIT expected: table "*${open.t.name}" opened at line ${open.line} is not committed`);
  }
  if (bare) rs.install(bare);
  return rs;
}
