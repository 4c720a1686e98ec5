// A rule specification (everything after `-A CHAIN`) parsed the way iptables(8) reads its
// arguments: `!` before an option inverts it (the old "--opt ! value" form is accepted too, as
// iptables still does with a deprecation warning), options of a match belong to the first loaded
// instance of that match, `-p tcp --dport 80` loads the tcp match implicitly (iptables-extensions(8):
// "these extensions are loaded if `--protocol tcp' is specified"), target options follow `-j`.
// Length: one argument reader for every match and target accepted, as iptables(8) has one; each
// extension's options are a few lines in applyMatchOption/applyTargetOption.
import { RuleParseError } from './errors.js';
import { REJECT_WITH } from './rule.js';
import type { Match, RejectWith, Rule, Target } from './rule.js';
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
  parseAddrTypes,
  parseMarkMask,
  parseMultiportList,
  parseProbability,
  parseU32,
  parseSnatSource,
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
  '--source-ports': '--sports',
  '--destination-ports': '--dports',
};

const MATCH_OPTIONS: Readonly<Record<string, Match['kind'][]>> = {
  '--sport': ['tcp', 'udp'],
  '--dport': ['tcp', 'udp'],
  '--uid-owner': ['owner'],
  '--gid-owner': ['owner'],
  '--ctstate': ['conntrack'],
  '--state': ['state'],
  '--comment': ['comment'],
  '--mark': ['mark'],
  '--sports': ['multiport'],
  '--dports': ['multiport'],
  '--ports': ['multiport'],
  '--mode': ['statistic'],
  '--probability': ['statistic'],
  '--every': ['statistic'],
  '--packet': ['statistic'],
  '--src-type': ['addrtype'],
  '--dst-type': ['addrtype'],
  '--limit-iface-in': ['addrtype'],
  '--limit-iface-out': ['addrtype'],
  '--nfacct-name': ['nfacct'],
};

/** Options that take no value (flags). */
const FLAG_OPTIONS = new Set(['--limit-iface-in', '--limit-iface-out', '--random', '--random-fully', '--persistent', '--notrack']);

/** Match options that may carry "!" (xtables_check_inverse is called for them). */
const INVERTIBLE = new Set(['--sport', '--dport', '--uid-owner', '--gid-owner', '--ctstate', '--state', '--mark', '--sports', '--dports', '--ports', '--probability', '--every', '--src-type', '--dst-type']);

const TARGET_OPTIONS: Readonly<Record<string, Target['kind'][]>> = {
  '--to-ports': ['redirect', 'masquerade'],
  '--to-destination': ['dnat'],
  '--log-prefix': ['log'],
  '--log-level': ['log'],
  '--set-xmark': ['mark'],
  '--set-mark': ['mark'],
  '--and-mark': ['mark'],
  '--or-mark': ['mark'],
  '--xor-mark': ['mark'],
  '--to-source': ['snat'],
  '--random': ['masquerade', 'snat'],
  '--random-fully': ['masquerade', 'snat'],
  '--persistent': ['snat'],
  '--reject-with': ['reject'],
  '--notrack': ['notrack'],
};

const TARGET_OPTION_OWNER: Readonly<Record<string, string>> = {
  redirect: 'REDIRECT', dnat: 'DNAT', log: 'LOG', mark: 'MARK', masquerade: 'MASQUERADE', snat: 'SNAT', reject: 'REJECT', notrack: 'CT',
};

/** The --*-mark options of MARK are one option group: only one of them per rule. */
const MARK_OPTIONS = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'];

/** XT_MULTI_PORTS: a multiport list holds at most 15 ports, a range counting as two. */
const MAX_MULTIPORTS = 15;
/** NFACCT_NAME_MAX - 1. */
const MAX_NFACCT_NAME = 31;

/** libxt_CT's options other than --notrack (the templates CT attaches, which ctsim does not model). */
const CT_TEMPLATE_OPTIONS = new Set(['--zone', '--zone-orig', '--zone-reply', '--helper', '--ctevents', '--expevents', '--timeout']);

/** Targets that exist in iptables but not here: a clear "unsupported" instead of "unknown chain". */
const KNOWN_TARGETS = new Set([
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNMARK', 'CONNSECMARK', 'CT', 'DSCP', 'ECN',
  'HL', 'HMARK', 'IDLETIMER', 'LED', 'MARK', 'MASQUERADE', 'NETMAP', 'NFLOG', 'NFQUEUE', 'NOTRACK',
  'QUEUE', 'RATEEST', 'REJECT', 'SECMARK', 'SET', 'SNAT', 'SYNPROXY', 'TCPMSS', 'TCPOPTSTRIP',
  'TEE', 'TOS', 'TPROXY', 'TRACE', 'TTL', 'ULOG',
]);

/** Targets the engine models (the rest of KNOWN_TARGETS are refused, or kept inert on non-TCP rules). */
const MODELLED_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REDIRECT', 'DNAT', 'LOG', 'MARK', 'MASQUERADE', 'SNAT', 'REJECT']);

/** Names a user chain may not take because they are targets (iptables: "chain name may not clash with target name"). */
export function isTargetName(name: string): boolean {
  return KNOWN_TARGETS.has(name) || MODELLED_TARGETS.has(name);
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
        const name = value(opt, false);
        if (opt === '-j' && neverMatchesTcp(rule) && KNOWN_TARGETS.has(name) && !MODELLED_TARGETS.has(name) && ctx.chainKind(name) === undefined) {
          // A target ctsim does not model on a UDP/ICMP-only rule: it can never see a TCP packet,
          // so it is kept as written (every remaining argument is its option) and never runs.
          rule.target = { kind: 'inert', name, args: args.slice(i) };
          i = args.length;
          break;
        }
        rule.target = parseTarget(opt, name, ctx);
        break;
      }
      default: {
        if (!opt.startsWith('-') || opt === '-') throw fail('syntax', raw, `unexpected argument "${raw}"`);
        if (rule.target.kind === 'notrack' && !rule.target.alias && CT_TEMPLATE_OPTIONS.has(opt)) {
          throw fail('unsupported-target', '-j CT', `target "-j CT ${opt}" is not modelled (only "-j CT --notrack"): conntrack zones, helpers, timeouts and event masks are not`);
        }
        const targetKinds = TARGET_OPTIONS[opt];
        if (targetKinds !== undefined) {
          if (!targetKinds.includes(rule.target.kind)) {
            throw fail('syntax', opt, `option "${opt}" needs "-j ${TARGET_OPTION_OWNER[targetKinds[0]]}" before it`);
          }
          once(seen, opt);
          if (rule.target.kind === 'mark') {
            if (MARK_OPTIONS.some((o) => o !== opt && seen.has(o))) throw fail('syntax', opt, 'MARK takes only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark');
          }
          noInvert(opt);
          applyTargetOption(rule.target, opt, FLAG_OPTIONS.has(opt) ? '' : value(opt, false), line);
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
        const v = FLAG_OPTIONS.has(opt) ? '' : value(opt, INVERTIBLE.has(opt));
        const inv = takeInvert();
        if (inv && !INVERTIBLE.has(opt)) throw fail('syntax', '!', `"!" is not allowed with "${opt}"`);
        applyMatchOption(rule.matches[idx], opt, v, inv, line, matchSeen[idx]);
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
    case 'mark':
      return { kind: 'mark', invert: false };
    case 'multiport':
      return { kind: 'multiport', ranges: [], invert: false };
    case 'statistic':
      return { kind: 'statistic', invert: false };
    case 'addrtype':
      return { kind: 'addrtype', src: 0, srcInvert: false, dst: 0, dstInvert: false, limitIn: false, limitOut: false };
    case 'nfacct':
      return { kind: 'nfacct', name: '' };
    default:
      return undefined;
  }
}

/** A rule whose protocol is UDP or ICMP (not inverted) never sees a TCP packet. */
function neverMatchesTcp(rule: Rule): boolean {
  return rule.proto !== undefined && !rule.proto.invert && rule.proto.num !== 6 && rule.proto.num !== 0;
}

function applyMatchOption(m: Match, opt: string, v: string, invert: boolean, line: number, given: Set<string>): void {
  const bad = (detail: string) => new RuleParseError('bad-value', line, v, detail);
  switch (m.kind) {
    case 'mark':
      m.mark = parseMarkMask(v, opt, line);
      m.invert = invert;
      return;
    case 'multiport': {
      if (m.which !== undefined) throw new RuleParseError('syntax', line, opt, `multiport takes only one of --sports, --dports, --ports`);
      m.which = opt.slice(2) as 'sports' | 'dports' | 'ports';
      m.ranges = parseMultiportList(v, opt, line);
      const count = m.ranges.reduce((n, [a, b]) => n + (a === b ? 1 : 2), 0);
      if (count > MAX_MULTIPORTS) throw bad(`too many ports in "${opt} ${v}" (at most ${MAX_MULTIPORTS}, a range counts as two)`);
      m.invert = invert;
      return;
    }
    case 'statistic':
      if (opt === '--mode') {
        if (v !== 'random' && v !== 'nth') throw bad(`bad mode "${v}" for "--mode" (random or nth)`);
        m.mode = v;
      } else if (opt === '--probability') {
        m.probability = parseProbability(v, line);
        if (invert) m.invert = true;
      } else if (opt === '--every') {
        const n = parseU32(v, opt, line);
        if (n === 0) throw bad('"--every" must be at least 1');
        m.every = n - 1;
        if (invert) m.invert = true;
      } else {
        m.packet = parseU32(v, opt, line);
      }
      void given;
      return;
    case 'addrtype':
      if (opt === '--src-type') {
        m.src = parseAddrTypes(v, opt, line);
        m.srcInvert = invert;
      } else if (opt === '--dst-type') {
        m.dst = parseAddrTypes(v, opt, line);
        m.dstInvert = invert;
      } else if (opt === '--limit-iface-in') {
        m.limitIn = true;
      } else {
        m.limitOut = true;
      }
      if (m.limitIn && m.limitOut) throw new RuleParseError('syntax', line, opt, 'addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
      return;
    case 'nfacct':
      if (v.length > MAX_NFACCT_NAME || v === '') throw bad(`bad --nfacct-name "${v}" (1 to ${MAX_NFACCT_NAME} characters)`);
      m.name = v;
      return;
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
    case 'MASQUERADE':
    case 'SNAT':
      if (ctx.table !== 'nat') {
        throw new RuleParseError('wrong-table', line, `-j ${name}`, `target "-j ${name}" is only valid in the nat table, not ${ctx.table}`);
      }
      return name === 'MASQUERADE'
        ? { kind: 'masquerade', random: false, randomFully: false }
        : { kind: 'snat', addrMin: -1, addrMax: -1, random: false, randomFully: false, persistent: false };
    case 'REJECT':
      // ipt_REJECT registers with .table = "filter".
      if (ctx.table !== 'filter') {
        throw new RuleParseError('wrong-table', line, '-j REJECT', `target "-j REJECT" is only valid in the filter table, not ${ctx.table}`);
      }
      return { kind: 'reject', with: 'icmp-port-unreachable' };
    case 'MARK':
      return { kind: 'mark', value: 0, mask: 0, given: false };
    case 'NOTRACK':
    case 'CT':
      // xt_CT registers its targets with .table = "raw" (the kernel refuses them elsewhere: EINVAL).
      if (ctx.table !== 'raw') {
        throw new RuleParseError('wrong-table', line, `-j ${name}`, `target "-j ${name}" is only valid in the raw table, not ${ctx.table}`);
      }
      return { kind: 'notrack', alias: name === 'NOTRACK', given: name === 'NOTRACK' };
    default:
      if (KNOWN_TARGETS.has(name)) {
        throw new RuleParseError('unsupported-target', line, `-j ${name}`, `unsupported target "-j ${name}"`);
      }
      throw new RuleParseError('unknown-chain', line, name, `unknown chain "${name}" (jump target)`);
  }
}

/** libipt_REJECT's short names. */
const REJECT_ALIASES: Readonly<Record<string, RejectWith>> = {
  'net-unreach': 'icmp-net-unreachable', 'host-unreach': 'icmp-host-unreachable', 'proto-unreach': 'icmp-proto-unreachable',
  'port-unreach': 'icmp-port-unreachable', 'net-prohib': 'icmp-net-prohibited', 'host-prohib': 'icmp-host-prohibited',
  'tcp-rst': 'tcp-reset', 'admin-prohib': 'icmp-admin-prohibited',
};

function applyTargetOption(t: Target, opt: string, v: string, line: number): void {
  if (t.kind === 'notrack') {
    // libxt_NOTRACK takes no options; --notrack belongs to -j CT.
    if (t.alias) throw new RuleParseError('syntax', line, opt, `option "${opt}" needs "-j CT" before it (-j NOTRACK takes no options)`);
    t.given = true;
    return;
  }
  if (t.kind === 'redirect') {
    Object.assign(t, parseNatPorts(v, opt, line));
  } else if (t.kind === 'dnat') {
    // A[:P[-P2]] (iptables-extensions(8) "DNAT"); address ranges are not modelled.
    const colon = v.indexOf(':');
    t.addr = parseHostAddr(colon < 0 ? v : v.slice(0, colon), opt, line);
    if (colon >= 0) Object.assign(t, parseNatPorts(v.slice(colon + 1), opt, line));
  } else if (t.kind === 'mark') {
    // libxt_MARK (revision 2): every form becomes (value, mask) with skb->mark = (mark & ~mask) ^ value.
    t.given = true;
    if (opt === '--set-xmark' || opt === '--set-mark') {
      const m = parseMarkMask(v, opt, line);
      t.value = m.value;
      t.mask = opt === '--set-xmark' ? m.mask : (m.value | m.mask) >>> 0;
    } else {
      const n = parseU32(v, opt, line);
      if (opt === '--and-mark') Object.assign(t, { value: 0, mask: ~n >>> 0 });
      else if (opt === '--or-mark') Object.assign(t, { value: n, mask: n });
      else Object.assign(t, { value: n, mask: 0 });
    }
  } else if (t.kind === 'masquerade' || t.kind === 'snat') {
    if (opt === '--random') t.random = true;
    else if (opt === '--random-fully') t.randomFully = true;
    else if (opt === '--persistent' && t.kind === 'snat') t.persistent = true;
    else if (opt === '--to-ports') Object.assign(t, parseNatPorts(v, opt, line));
    else if (t.kind === 'snat') Object.assign(t, parseSnatSource(v, line));
  } else if (t.kind === 'reject') {
    const found = REJECT_WITH.find((n) => n === v) ?? REJECT_ALIASES[v];
    if (found === undefined) throw new RuleParseError('bad-value', line, v, `bad --reject-with "${v}" (${REJECT_WITH.join(', ')})`);
    t.with = found;
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
  for (const m of rule.matches) {
    // libxt_multiport: "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".
    if (m.kind === 'multiport') {
      if (!tcpOrUdp) throw new RuleParseError('wrong-protocol', line, '-m multiport', 'match "-m multiport" needs "-p tcp" or "-p udp"');
      if (m.which === undefined) throw new RuleParseError('missing-argument', line, '-m multiport', 'match "-m multiport" needs --sports, --dports or --ports');
    }
    if (m.kind === 'mark' && m.mark === undefined) throw new RuleParseError('missing-argument', line, '-m mark', 'match "-m mark" needs "--mark"');
    if (m.kind === 'nfacct' && m.name === '') throw new RuleParseError('missing-argument', line, '-m nfacct', 'match "-m nfacct" needs "--nfacct-name"');
    if (m.kind === 'addrtype' && m.src === 0 && m.dst === 0 && !m.srcInvert && !m.dstInvert) {
      throw new RuleParseError('missing-argument', line, '-m addrtype', 'match "-m addrtype" needs --src-type or --dst-type');
    }
    if (m.kind === 'statistic') {
      // libxt_statistic's final check.
      if (m.mode === undefined) throw new RuleParseError('missing-argument', line, '-m statistic', 'match "-m statistic" needs "--mode"');
      if (m.mode === 'random' && m.probability === undefined) throw new RuleParseError('missing-argument', line, '-m statistic', '--mode random needs "--probability"');
      if (m.mode === 'random' && (m.every !== undefined || m.packet !== undefined)) throw new RuleParseError('syntax', line, '--every', '--every and --packet need --mode nth');
      if (m.mode === 'nth' && m.every === undefined) throw new RuleParseError('missing-argument', line, '-m statistic', '--mode nth needs "--every"');
      if (m.mode === 'nth' && m.probability !== undefined) throw new RuleParseError('syntax', line, '--probability', '--probability needs --mode random');
      if (m.mode === 'nth' && (m.packet ?? 0) > (m.every ?? 0)) throw new RuleParseError('bad-value', line, String(m.packet), '--packet can not be bigger than --every');
    }
  }
  const t = rule.target;
  if (t.kind === 'notrack' && !t.given) {
    throw new RuleParseError('unsupported-target', line, '-j CT', 'target "-j CT" is modelled only with --notrack (zones, helpers, timeouts and event masks are not)');
  }
  if (t.kind === 'mark' && !t.given) throw new RuleParseError('missing-argument', line, '-j MARK', 'target "-j MARK" needs --set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark');
  if (t.kind === 'snat' && t.addrMin < 0) throw new RuleParseError('missing-argument', line, '-j SNAT', 'target "-j SNAT" needs "--to-source"');
  // ipt_REJECT's checkentry: "TCP_RESET invalid for non-tcp".
  if (t.kind === 'reject' && t.with === 'tcp-reset' && !(rule.proto && !rule.proto.invert && rule.proto.num === 6)) {
    throw new RuleParseError('wrong-protocol', line, '-j REJECT', '"--reject-with tcp-reset" needs "-p tcp"');
  }
  if ((t.kind === 'masquerade' || t.kind === 'snat') && t.portMin !== undefined && !tcpOrUdp) {
    const name = t.kind === 'masquerade' ? 'MASQUERADE' : 'SNAT';
    throw new RuleParseError('wrong-protocol', line, `-j ${name}`, `target "-j ${name}" with ports needs "-p tcp" or "-p udp"`);
  }
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
