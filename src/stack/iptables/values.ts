// Option values as iptables(8) and iptables-extensions(8) accept them, checked once at parse
// time. Names that need a lookup the emulator cannot do (host names, /etc/services ports, user
// names) are refused: iptables-save always prints the numeric form, so pasted rules never need them.
import { RuleParseError } from './errors.js';
import { ADDR_TYPES, CT_STATE_ORDER, ctStateBit } from './rule.js';
import type { AddrSpec, MarkSpec } from './rule.js';
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

const STATES = CT_STATE_ORDER;

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

/** An unsigned 32-bit number as strtoul(s, NULL, 0) reads it: decimal, 0x hex or 0 octal. */
export function parseU32(text: string, opt: string, line: number): number {
  let v = NaN;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) v = parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) v = Number(text);
  if (!(v >= 0 && v <= 0xffffffff)) throw new RuleParseError('bad-value', line, text, `bad value "${text}" for "${opt}" (an unsigned 32-bit number)`);
  return v;
}

/** value[/mask] (xtables_parse_mark_mask); the mask defaults to 0xffffffff. */
export function parseMarkMask(text: string, opt: string, line: number): MarkSpec {
  const slash = text.indexOf('/');
  if (slash < 0) return { value: parseU32(text, opt, line), mask: 0xffffffff };
  return { value: parseU32(text.slice(0, slash), opt, line), mask: parseU32(text.slice(slash + 1), opt, line) };
}

/**
 * --probability p (0 <= p <= 1), stored as the kernel compares it: lround(2^31 * p) against
 * the low 31 bits of a random u32 (libxt_statistic, xt_statistic.c).
 */
export function parseProbability(text: string, line: number): number {
  const p = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(p >= 0 && p <= 1)) throw new RuleParseError('bad-value', line, text, `bad --probability "${text}" (0 to 1)`);
  return Math.round(0x80000000 * p); // lround: halves away from zero, p >= 0
}

/** --src-type/--dst-type: comma list of RTN_* names, case-insensitive (libxt_addrtype). Returns a bit mask (1 << type). */
export function parseAddrTypes(text: string, opt: string, line: number): number {
  let mask = 0;
  for (const item of text.split(',')) {
    const i = ADDR_TYPES.findIndex((n) => n === item.toUpperCase());
    if (i < 0) throw new RuleParseError('bad-value', line, text, `bad address type "${item}" in "${opt} ${text}" (${ADDR_TYPES.join(', ')})`);
    mask |= 1 << i;
  }
  return mask;
}

/** -m multiport lists: "p1,p2,a:b" (xtables_parse_multi_ports with ranges, revision 1). */
export function parseMultiportList(text: string, opt: string, line: number): Array<[number, number]> {
  return text.split(',').map((item) => {
    const r = parsePortMatch(item, opt, line);
    if (item.startsWith(':') || item.endsWith(':')) throw new RuleParseError('bad-port', line, text, `bad port range "${item}" in "${opt}"`);
    return [r.min, r.max] as [number, number];
  });
}

/** SNAT --to-source a[-b][:p[-q]] (libipt_SNAT); an address is required here. */
export function parseSnatSource(text: string, line: number): { addrMin: number; addrMax: number; portMin?: number; portMax?: number } {
  const colon = text.indexOf(':');
  const addrs = colon < 0 ? text : text.slice(0, colon);
  const dash = addrs.indexOf('-');
  const addrMin = parseHostAddr(dash < 0 ? addrs : addrs.slice(0, dash), '--to-source', line);
  const addrMax = dash < 0 ? addrMin : parseHostAddr(addrs.slice(dash + 1), '--to-source', line);
  if (addrMax < addrMin) throw new RuleParseError('bad-address', line, text, `bad address range "${addrs}" for "--to-source"`);
  return colon < 0 ? { addrMin, addrMax } : { addrMin, addrMax, ...parseNatPorts(text.slice(colon + 1), '--to-source', line) };
}
