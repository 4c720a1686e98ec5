// A host's rules sources (iptables-save text and iptables command lists) applied in order to one
// Ruleset, the way a node's rules come about: iptables-restore replaces each table its input
// names; an `iptables` command adds to what is there. Errors keep the file and line of the source.
import { RuleParseError } from '../../stack/iptables/errors.js';
import { parseIptablesSave } from '../../stack/iptables/restore.js';
import type { Ruleset } from '../../stack/iptables/ruleset.js';
import { isTableName, type TableName } from '../../stack/iptables/tables.js';
import type { RulesText } from './spec.js';

/** An unsupported or malformed rule, with the file and line a person should look at. */
export class RulesSourceError extends Error {
  override readonly name = 'RulesSourceError';
  constructor(readonly origin: string, readonly line: number, readonly detail: string) {
    super(`${origin}:${line}: ${detail}`);
  }
}

const TABLE_OPTION = /(?:^|\s)(?:-t|--table)(?:\s+|=)(\S+)/;

/** `-t nat -A X ...` -> table nat and the command without the option (filter when none is given). */
export function splitTableOption(command: string): { table: string; command: string } {
  const m = TABLE_OPTION.exec(command);
  if (!m) return { table: 'filter', command: command.trim() };
  return { table: m[1], command: (command.slice(0, m.index) + command.slice(m.index + m[0].length)).trim() };
}

/** The ruleset all sources make, or undefined when there are none. */
export function buildRuleset(sources: readonly RulesText[]): Ruleset | undefined {
  let rs: Ruleset | undefined;
  for (const src of sources) {
    if (src.format === 'restore') {
      try {
        rs = parseIptablesSave(src.text, { into: rs });
      } catch (e) {
        if (!(e instanceof RuleParseError)) throw e;
        throw new RulesSourceError(src.origin, e.line + src.lineOffset, e.message.replace(/^line \d+: /, ''));
      }
      continue;
    }
    src.text.split('\n').forEach((cmd, i) => {
      const line = src.lines?.[i] ?? src.line;
      const { table, command } = splitTableOption(cmd);
      if (!isTableName(table)) throw new RulesSourceError(src.origin, line, `unsupported table "${table}" (raw, mangle, nat, filter)`);
      try {
        rs = parseIptablesSave(command, { table: table as TableName, into: rs });
      } catch (e) {
        if (!(e instanceof RuleParseError)) throw e;
        throw new RulesSourceError(src.origin, line, e.message.replace(/^line \d+: /, ''));
      }
    });
  }
  return rs;
}
