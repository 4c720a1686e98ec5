// Splitting a line into arguments the way iptables-restore(8) does (add_param_to_argv in
// iptables' xshared.c), and quoting on the way out the way iptables-save(8) does
// (xtables_save_string in libxtables), so `--comment "a \"b\""` survives a round trip.
import { RuleParseError } from './errors.js';

/**
 * Arguments of one line. Blanks separate; a double quote opens a string in which a backslash
 * escapes the next character and a second double quote closes it (and ends the argument).
 * Outside quotes a backslash and single quotes are ordinary characters, as in iptables-restore.
 */
export function tokenizeLine(text: string, line: number): string[] {
  const out: string[] = [];
  let cur = '';
  let open = false; // inside "..."
  let quoted = false; // the current argument had quotes (so "" is an argument)
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (open) {
      if (c === '\\' && i + 1 < text.length) {
        cur += text[++i];
      } else if (c === '"') {
        open = false;
        out.push(cur);
        cur = '';
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      open = true;
      quoted = true;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (cur.length > 0 || quoted) out.push(cur);
      cur = '';
      quoted = false;
    } else {
      cur += c;
    }
  }
  if (open) throw new RuleParseError('syntax', line, '"', 'unterminated quoted string');
  if (cur.length > 0 || quoted) out.push(cur);
  return out;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/**
 * One argument as iptables-save prints it: bare when it only has [A-Za-z0-9_-], otherwise in
 * double quotes with `"`, `\` and `'` backslash-escaped (xtables_save_string).
 */
export function quoteArg(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
