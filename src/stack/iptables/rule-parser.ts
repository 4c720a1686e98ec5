// A rule specification (everything after `-A CHAIN`) parsed the way iptables(8) reads its
// arguments: `!` before an option inverts it (the old "--opt ! value" form is accepted too, as
// iptables still does with a deprecation warning), options of a match belong to the first loaded
// instance of that match, `-p tcp --dport 80` loads the tcp match implicitly (iptables-extensions(8):
// "these extensions are loaded if `--protocol tcp' is specified"), target options follow `-j`.
import { RuleParseError } from './errors.js';
import type { Match, Rule, Target } from './rule.js';
import { isBuiltinChain } from './tables.js';
import type { TableName } from './tables.js';
import {
  parseAddrSpec,
  parseHostAddr,
  parseLogLevel,
  parseNatPorts,
  parseOwnerId,
  parsePortMatch,
  parseStateList,
} from './values.js';

export interface RuleContext {
  table: TableName;
  /** Chain the rule goes into (for the -i/-o checks on builtin chains). */
  chain: string;
  line: number;
  /** Whether a name is a chain of this table, and which kind. */
  chainKind(name: string): 'builtin' | 'user' | undefined;
}

/** Long spellings iptables(8) and the extensions accept for the short options we model. */
const ALIASES: Readonly<Record<string, string>> = {
  '--protocol': '-p',
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--in-interface': '-i',
  '--out-interface': '-o',
  '--match': '-m',
  '--jump': '-j',
  '--goto': '-g',
  '--source-port': '--sport',
  '--destination-port': '--dport',
  '--to-port': '--to-ports',
};

const MATCH_OPTIONS: Readonly<Record<string, Match['kind'][]>> = {
  '--sport': ['tcp', 'udp'],
  '--dport': ['tcp', 'udp'],
  '--uid-owner': ['owner'],
  '--gid-owner': ['owner'],
  '--ctstate': ['conntrack'],
  '--state': ['state'],
  '--comment': ['comment'],
};

const TARGET_OPTIONS: Readonly<Record<string, Target['kind']>> = {
  '--to-ports': 'redirect',
  '--to-destination': 'dnat',
  '--log-prefix': 'log',
  '--log-level': 'log',
};

const TARGET_OPTION_OWNER: Readonly<Record<string, string>> = { redirect: 'REDIRECT', dnat: 'DNAT', log: 'LOG' };

/** Targets that exist in iptables but not here: a clear "unsupported" instead of "unknown chain". */
const KNOWN_TARGETS = new Set([
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNMARK', 'CONNSECMARK', 'CT', 'DSCP', 'ECN',
  'HL', 'HMARK', 'IDLETIMER', 'LED', 'MARK', 'MASQUERADE', 'NETMAP', 'NFLOG', 'NFQUEUE', 'NOTRACK',
  'QUEUE', 'RATEEST', 'REJECT', 'SECMARK', 'SET', 'SNAT', 'SYNPROXY', 'TCPMSS', 'TCPOPTSTRIP',
  'TEE', 'TOS', 'TPROXY', 'TRACE', 'TTL', 'ULOG',
]);

/** Names a user chain may not take because they are targets (iptables: "chain name may not clash with target name"). */
export function isTargetName(name: string): boolean {
  return KNOWN_TARGETS.has(name) || ['ACCEPT', 'DROP', 'RETURN', 'REDIRECT', 'DNAT', 'LOG'].includes(name);
}

const PROTOCOLS: Readonly<Record<string, number>> = { all: 0, icmp: 1, tcp: 6, udp: 17, '0': 0, '1': 1, '6': 6, '17': 17 };

/** IFNAMSIZ - 1 (iptables: "interface name `%s' must be shorter than IFNAMSIZ"). */
const MAX_IFNAME = 15;
/** XT_MAX_COMMENT_LEN - 1 (xt_comment.h). */
const MAX_COMMENT = 255;
/** sizeof(ipt_log_info.prefix) - 1 (libxt_LOG: "Maximum prefix length 29 for --log-prefix"). */
const MAX_LOG_PREFIX = 29;

export function parseRuleSpec(args: readonly string[], ctx: RuleContext): Rule {
  const { line } = ctx;
  const rule: Rule = { matches: [], target: { kind: 'none' }, counters: { packets: 0, bytes: 0 }, line };
  const seen = new Set<string>(); // IP-part options and target options already given
  const matchSeen: Set<string>[] = []; // per loaded match: its options already given
  let invert = false;
  let targetGiven = false;
  let i = 0;

  const fail = (reason: ConstructorParameters<typeof RuleParseError>[0], token: string, detail: string) =>
    new RuleParseError(reason, line, token, detail);

  /**
   * The option's value. Options that can be inverted also take the deprecated intrapositioned
   * "--opt ! value" form (xtables_check_inverse); for the others a "!" is the value itself.
   */
  const value = (opt: string, invertible = true): string => {
    if (i >= args.length) throw fail('missing-argument', opt, `missing argument for "${opt}"`);
    let v = args[i++];
    if (v === '!' && invertible) {
      if (invert) throw fail('syntax', '!', `multiple "!" flags for "${opt}"`);
      invert = true;
      if (i >= args.length) throw fail('missing-argument', opt, `missing argument for "${opt}"`);
      v = args[i++];
    }
    return v;
  };
  const takeInvert = (): boolean => {
    const inv = invert;
    invert = false;
    return inv;
  };
  const noInvert = (opt: string) => {
    if (invert) throw fail('syntax', '!', `"!" is not allowed with "${opt}"`);
  };
  const once = (set: Set<string>, opt: string) => {
    if (set.has(opt)) throw fail('syntax', opt, `multiple "${opt}" flags not allowed`);
    set.add(opt);
  };

  while (i < args.length) {
    const raw = args[i++];
    if (raw === '!') {
      if (invert) throw fail('syntax', '!', 'multiple "!" flags not allowed');
      invert = true;
      continue;
    }
    const opt = ALIASES[raw] ?? raw;
    switch (opt) {
      case '-p': {
        once(seen, opt);
        const v = value(opt);
        const num = PROTOCOLS[v.toLowerCase()];
        if (num === undefined) throw fail('bad-value', v, `unsupported protocol "${v}" for "-p" (tcp, udp, icmp, all)`);
        const inv = takeInvert();
        // iptables: "rule would never match protocol"; -p all itself is no restriction (not saved).
        if (num === 0 && inv) throw fail('wrong-protocol', v, '"! -p all": rule would never match protocol');
        if (num !== 0) rule.proto = { num, invert: inv };
        break;
      }
      case '-s':
      case '-d': {
        once(seen, opt);
        const v = value(opt);
        const spec = parseAddrSpec(v, opt, takeInvert(), line);
        // 0.0.0.0/0 restricts nothing; iptables-save leaves it out.
        if (spec.prefixLen !== 0 || spec.invert) {
          if (opt === '-s') rule.src = spec;
          else rule.dst = spec;
        }
        break;
      }
      case '-i':
      case '-o': {
        once(seen, opt);
        const v = value(opt);
        if (v.length > MAX_IFNAME || v === '') {
          throw fail('bad-interface', v, `bad interface name "${v}" for "${opt}" (1 to ${MAX_IFNAME} characters)`);
        }
        const wildcard = v.endsWith('+');
        const spec = { name: wildcard ? v.slice(0, -1) : v, wildcard, invert: takeInvert() };
        if (spec.name !== '' || !spec.wildcard || spec.invert) {
          if (opt === '-i') rule.inIface = spec;
          else rule.outIface = spec;
        }
        break;
      }
      case '-m': {
        noInvert(opt);
        const name = value(opt, false);
        const m = newMatch(name);
        if (!m) throw fail('unsupported-match', `-m ${name}`, `unsupported match "-m ${name}"`);
        rule.matches.push(m);
        matchSeen.push(new Set());
        break;
      }
      case '-j':
      case '-g': {
        noInvert(opt);
        if (targetGiven) throw fail('syntax', opt, 'multiple "-j"/"-g" flags not allowed');
        targetGiven = true;
        rule.target = parseTarget(opt, value(opt, false), ctx);
        break;
      }
      default: {
        if (!opt.startsWith('-') || opt === '-') throw fail('syntax', raw, `unexpected argument "${raw}"`);
        const targetKind = TARGET_OPTIONS[opt];
        if (targetKind !== undefined) {
          if (rule.target.kind !== targetKind) {
            throw fail('syntax', opt, `option "${opt}" needs "-j ${TARGET_OPTION_OWNER[targetKind]}" before it`);
          }
          once(seen, opt);
          noInvert(opt);
          applyTargetOption(rule.target, opt, value(opt, false), line);
          break;
        }
        const kinds = MATCH_OPTIONS[opt];
        if (kinds === undefined) throw fail('unsupported-option', raw, `unsupported option "${raw}"`);
        let idx = rule.matches.findIndex((m) => kinds.includes(m.kind));
        if (idx < 0 && (opt === '--sport' || opt === '--dport')) {
          // Implicit protocol match: -p tcp/udp loads "tcp"/"udp" when one of its options appears.
          const p = rule.proto;
          if (!p || p.invert || (p.num !== 6 && p.num !== 17)) {
            throw fail('wrong-protocol', opt, `option "${opt}" needs "-p tcp" or "-p udp" (or "-m tcp"/"-m udp")`);
          }
          rule.matches.push({ kind: p.num === 6 ? 'tcp' : 'udp' });
          matchSeen.push(new Set());
          idx = rule.matches.length - 1;
        }
        if (idx < 0) throw fail('syntax', opt, `option "${opt}" needs "-m ${kinds[0]}" before it`);
        once(matchSeen[idx], opt);
        applyMatchOption(rule.matches[idx], opt, value(opt, opt !== '--comment'), takeInvert(), line);
        break;
      }
    }
  }
  if (invert) throw fail('syntax', '!', '"!" at the end of the rule');
  checkRule(rule, ctx, matchSeen);
  return rule;
}

function newMatch(name: string): Match | undefined {
  switch (name) {
    case 'tcp':
    case 'udp':
      return { kind: name };
    case 'owner':
      return { kind: 'owner' };
    case 'conntrack':
    case 'state':
      return { kind: name, mask: 0, invert: false };
    case 'comment':
      return { kind: 'comment', text: '' };
    default:
      return undefined;
  }
}

function applyMatchOption(m: Match, opt: string, v: string, invert: boolean, line: number): void {
  switch (m.kind) {
    case 'tcp':
    case 'udp': {
      const r = parsePortMatch(v, opt, line);
      // The full range without "!" restricts nothing; libxt_tcp's save leaves it out.
      const spec = r.min === 0 && r.max === 65535 && !invert ? undefined : { ...r, invert };
      if (opt === '--sport') m.sport = spec;
      else m.dport = spec;
      return;
    }
    case 'owner': {
      const spec = { id: parseOwnerId(v, opt, line), invert };
      if (opt === '--uid-owner') m.uid = spec;
      else m.gid = spec;
      return;
    }
    case 'conntrack':
    case 'state':
      m.mask = parseStateList(v, opt, line);
      m.invert = invert;
      return;
    case 'comment':
      if (invert) throw new RuleParseError('syntax', line, '!', '"!" is not allowed with "--comment"');
      if (v.length > MAX_COMMENT) {
        throw new RuleParseError('bad-value', line, v, `comment longer than ${MAX_COMMENT} characters`);
      }
      m.text = v;
      return;
  }
}

function parseTarget(opt: string, name: string, ctx: RuleContext): Target {
  const { line } = ctx;
  const kind = ctx.chainKind(name);
  if (kind === 'user') return { kind: 'jump', chain: name, goto: opt === '-g' };
  if (kind === 'builtin') throw new RuleParseError('syntax', line, name, `cannot jump to builtin chain "${name}"`);
  if (opt === '-g') throw new RuleParseError('unknown-chain', line, name, `unknown chain "${name}" (goto target)`);
  switch (name) {
    case 'ACCEPT':
      return { kind: 'accept' };
    case 'DROP':
      return { kind: 'drop' };
    case 'RETURN':
      return { kind: 'return' };
    case 'LOG':
      return { kind: 'log', prefix: '', level: 4 }; // LOG_WARNING, libxt_LOG's default
    case 'REDIRECT':
    case 'DNAT':
      // x_tables: these targets register with .table = "nat" (iptables-extensions(8)).
      if (ctx.table !== 'nat') {
        throw new RuleParseError('wrong-table', line, `-j ${name}`, `target "-j ${name}" is only valid in the nat table, not ${ctx.table}`);
      }
      return name === 'REDIRECT' ? { kind: 'redirect' } : { kind: 'dnat', addr: -1 };
    default:
      if (KNOWN_TARGETS.has(name)) {
        throw new RuleParseError('unsupported-target', line, `-j ${name}`, `unsupported target "-j ${name}"`);
      }
      throw new RuleParseError('unknown-chain', line, name, `unknown chain "${name}" (jump target)`);
  }
}

function applyTargetOption(t: Target, opt: string, v: string, line: number): void {
  if (t.kind === 'redirect') {
    Object.assign(t, parseNatPorts(v, opt, line));
  } else if (t.kind === 'dnat') {
    // A[:P[-P2]] (iptables-extensions(8) "DNAT"); address ranges are not modelled.
    const colon = v.indexOf(':');
    t.addr = parseHostAddr(colon < 0 ? v : v.slice(0, colon), opt, line);
    if (colon >= 0) Object.assign(t, parseNatPorts(v.slice(colon + 1), opt, line));
  } else if (t.kind === 'log') {
    if (opt === '--log-level') {
      t.level = parseLogLevel(v, line);
    } else {
      if (v.length > MAX_LOG_PREFIX) {
        throw new RuleParseError('bad-value', line, v, `log prefix longer than ${MAX_LOG_PREFIX} characters`);
      }
      t.prefix = v;
    }
  }
}

/** Checks iptables and the kernel make once the whole rule is known. */
function checkRule(rule: Rule, ctx: RuleContext, matchSeen: readonly Set<string>[]): void {
  const { line } = ctx;
  const tcpOrUdp = rule.proto && !rule.proto.invert && (rule.proto.num === 6 || rule.proto.num === 17);
  for (const m of rule.matches) {
    // xt_tcpudp registers with .proto: "tcp match: only valid for protocol 6".
    if ((m.kind === 'tcp' || m.kind === 'udp') && !(rule.proto && !rule.proto.invert && rule.proto.num === (m.kind === 'tcp' ? 6 : 17))) {
      throw new RuleParseError('wrong-protocol', line, `-m ${m.kind}`, `match "-m ${m.kind}" needs "-p ${m.kind}"`);
    }
  }
  // libxt_state and libxt_comment make their option mandatory ("You must specify --state").
  rule.matches.forEach((m, idx) => {
    const need = m.kind === 'state' ? '--state' : m.kind === 'comment' ? '--comment' : undefined;
    if (need && !matchSeen[idx].has(need)) {
      throw new RuleParseError('missing-argument', line, `-m ${m.kind}`, `match "-m ${m.kind}" needs "${need}"`);
    }
  });
  const t = rule.target;
  if (t.kind === 'dnat' && t.addr < 0) {
    throw new RuleParseError('missing-argument', line, '-j DNAT', 'target "-j DNAT" needs "--to-destination"');
  }
  // libxt_REDIRECT / libxt_DNAT: "Need TCP, UDP, SCTP or DCCP with port specification".
  if ((t.kind === 'redirect' || t.kind === 'dnat') && t.portMin !== undefined && !tcpOrUdp) {
    const name = t.kind === 'redirect' ? 'REDIRECT' : 'DNAT';
    throw new RuleParseError('wrong-protocol', line, `-j ${name}`, `target "-j ${name}" with ports needs "-p tcp" or "-p udp"`);
  }
  // iptables(8): "Can't use -i with OUTPUT" / "Can't use -o with PREROUTING" (builtin chains only).
  if (isBuiltinChain(ctx.table, ctx.chain)) {
    if (rule.inIface && (ctx.chain === 'OUTPUT' || ctx.chain === 'POSTROUTING')) {
      throw new RuleParseError('wrong-hook', line, '-i', `can't use "-i" with ${ctx.chain}`);
    }
    if (rule.outIface && (ctx.chain === 'PREROUTING' || ctx.chain === 'INPUT')) {
      throw new RuleParseError('wrong-hook', line, '-o', `can't use "-o" with ${ctx.chain}`);
    }
  }
}
