// Option values as iptables(8) and iptables-extensions(8) accept them, checked once at parse
// time. Names that need a lookup the emulator cannot do (host names, /etc/services ports, user
// names) are refused: iptables-save always prints the numeric form, so pasted rules never need them.
import { RuleParseError } from './errors.js';
import { ctStateBit } from './rule.js';
import type { AddrSpec } from './rule.js';
import type { CtState } from '../skb.js';
import { parseIpv4Address } from '../../wire/ipv4-address.js';

const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const DIGITS = /^\d+$/;

function dotted(text: string): number | undefined {
  if (!DOTTED.test(text)) return undefined;
  try {
    return parseIpv4Address(text);
  } catch {
    return undefined; // an octet above 255
  }
}

/** Network mask of a prefix length, as an unsigned 32-bit number. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * -s/-d: a.b.c.d, a.b.c.d/len or a.b.c.d/m.m.m.m (contiguous). The address is masked, as
 * iptables stores it (iptables(8): "The mask can be either a network mask or a plain number").
 */
export function parseAddrSpec(text: string, opt: string, invert: boolean, line: number): AddrSpec {
  const bad = () => new RuleParseError('bad-address', line, text, `bad address "${text}" for "${opt}"`);
  const slash = text.indexOf('/');
  const addr = dotted(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) throw bad();
  let prefixLen = 32;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (DIGITS.test(m)) {
      prefixLen = Number(m);
      if (prefixLen > 32) throw bad();
    } else {
      const mask = dotted(m);
      if (mask === undefined) throw bad();
      prefixLen = 0;
      while (prefixLen <= 32 && prefixMask(prefixLen) !== mask) prefixLen++;
      if (prefixLen > 32) throw bad(); // not contiguous: the kernel matches any mask, iptables-save would print it dotted
    }
  }
  return { addr: (addr & prefixMask(prefixLen)) >>> 0, prefixLen, invert };
}

/** A plain dotted address (DNAT --to-destination). */
export function parseHostAddr(text: string, opt: string, line: number): number {
  const addr = dotted(text);
  if (addr === undefined) throw new RuleParseError('bad-address', line, text, `bad address "${text}" for "${opt}"`);
  return addr;
}

function port(text: string, min: number): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const v = Number(text);
  return v >= min && v <= 65535 ? v : undefined;
}

/**
 * --sport/--dport: "port", "first:last", ":last" (from 0) or "first:" (to 65535), per
 * iptables-extensions(8) "tcp"; first > last is an error as in xtables_parse_port_range.
 */
export function parsePortMatch(text: string, opt: string, line: number): { min: number; max: number } {
  const bad = () => new RuleParseError('bad-port', line, text, `bad port "${text}" for "${opt}"`);
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = port(text, 0);
    if (p === undefined) throw bad();
    return { min: p, max: p };
  }
  const a = text.slice(0, colon);
  const b = text.slice(colon + 1);
  const min = a === '' ? 0 : port(a, 0);
  const max = b === '' ? 65535 : port(b, 0);
  if (min === undefined || max === undefined || min > max) throw bad();
  return { min, max };
}

/** REDIRECT --to-ports / DNAT ports: "port" or "first-last", 1..65535 (libxt_REDIRECT refuses 0). */
export function parseNatPorts(text: string, opt: string, line: number): { portMin: number; portMax: number } {
  const bad = () => new RuleParseError('bad-port', line, text, `bad port "${text}" for "${opt}"`);
  const dash = text.indexOf('-');
  const min = port(dash < 0 ? text : text.slice(0, dash), 1);
  const max = dash < 0 ? min : port(text.slice(dash + 1), 1);
  if (min === undefined || max === undefined || min > max) throw bad();
  return { portMin: min, portMax: max };
}

/** --uid-owner/--gid-owner: a numeric id (0 .. 2^32-2; -1 is "no id" in the kernel). */
export function parseOwnerId(text: string, opt: string, line: number): number {
  const v = DIGITS.test(text) ? Number(text) : NaN;
  if (!(v <= 0xfffffffe)) throw new RuleParseError('bad-value', line, text, `bad id "${text}" for "${opt}" (numeric ids only)`);
  return v;
}

const STATES: readonly CtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'];

/** --ctstate/--state: comma list of states, case-insensitive as in libxt_conntrack. */
export function parseStateList(text: string, opt: string, line: number): number {
  let mask = 0;
  for (const item of text.split(',')) {
    const s = STATES.find((n) => n === item.toUpperCase());
    if (s === undefined) throw new RuleParseError('bad-value', line, text, `bad state "${item}" in "${opt} ${text}"`);
    mask |= ctStateBit(s);
  }
  return mask;
}

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];

/** --log-level: 0..7 or a syslog(3) level name (iptables-extensions(8) "LOG"). */
export function parseLogLevel(text: string, line: number): number {
  if (/^[0-7]$/.test(text)) return Number(text);
  const name = text.toLowerCase();
  const i = LOG_LEVELS.indexOf(name === 'err' ? 'error' : name === 'warn' ? 'warning' : name === 'panic' ? 'emerg' : name);
  if (i < 0) throw new RuleParseError('bad-value', line, text, `bad log level "${text}" for "--log-level"`);
  return i;
}

/** "[packets:bytes]" of iptables-save -c. */
export function parseCounters(text: string, line: number): { packets: number; bytes: number } {
  const m = /^\[(\d+):(\d+)\]$/.exec(text);
  if (!m) throw new RuleParseError('bad-value', line, text, `bad counters "${text}" (expected [packets:bytes])`);
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}
