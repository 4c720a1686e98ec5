// Rule traversal as ipt_do_table (net/ipv4/netfilter/ip_tables.c) does it, over a table compiled
// once into flat records: rules in order; a rule whose matches all succeed has its counters bumped
// (for every target, jumps and LOG included); a jump pushes a return point, goto does not; RETURN
// or falling off a user chain pops, and with nothing to pop (RETURN in a builtin chain, or the end
// of a chain reached by goto from one) the hook's policy applies, counting on the policy
// ("underflow") entry. ACCEPT/DROP end traversal, REDIRECT/DNAT end it with NF_ACCEPT plus a NAT
// binding, LOG continues (XT_CONTINUE). Nothing here allocates per rule: no regex, no strings
// except LOG lines, hit records are shared.
// Length: the compiled flat rule records and the traversal that reads them share one layout, kept
// in one file so the per-packet path reads as one piece.
import { formatIpv4Address } from '../../wire/ipv4-address.js';
import type { NatBinding, RejectAction, RuleHit, RulePacket, RuleResult } from '../rules.js';
import { CT_NAT_DST, CT_NAT_SRC } from '../rules.js';
import { RuleEvalError } from './errors.js';
import { CT_DNAT_BIT, CT_SNAT_BIT, ctStateBit, targetName } from './rule.js';
import type { Chain, Match, Rule, TableRules } from './rule.js';
import { ruleSaveLine } from './rule-text.js';
import type { Hook, TableName } from './tables.js';
import { prefixMask } from './values.js';

/** Bound of the jump stack; deeper nesting is refused rather than overflowing. */
export const MAX_JUMP_DEPTH = 64;

/** A hit as reported: a matching rule, or the policy that decided ("policy", numbered after the last rule as TRACE does). */
export interface TraceHit extends RuleHit {
  readonly table: TableName;
  readonly kind: 'rule' | 'policy';
}

/** RuleResult with the hits typed as TraceHit. */
export interface TraceResult extends RuleResult {
  hits: TraceHit[];
}

const T_NONE = 0;
const T_ACCEPT = 1;
const T_DROP = 2;
const T_RETURN = 3;
const T_JUMP = 4;
const T_GOTO = 5;
const T_NAT = 6;
const T_LOG = 7;
const T_MARK = 8;
const T_REJECT = 9;
const T_INERT = 10;
const T_NOTRACK = 11;

const M_PORTS = 0;
const M_OWNER = 1;
const M_CTSTATE = 2;
const M_MARK = 3;
const M_MULTIPORT = 4;
const M_RANDOM = 5;
const M_NTH = 6;
const M_ADDRTYPE = 7;

/** Where a multiport match looks (XT_MULTIPORT_SOURCE / DESTINATION / EITHER). */
const MP_SRC = 0;
const MP_DST = 1;
const MP_EITHER = 2;

/** The random source -m statistic --mode random draws from (get_random_u32()); deterministic per run. */
export interface RuleRandom {
  randomU32(): number;
}

/** One shape for every match kind keeps the hot loop monomorphic. */
interface CMatch {
  kind: number;
  /** multiport: [min, max] pairs flattened; nth: unused. */
  ports: Int32Array | null;
  /** nth: the shared counter (xt_statistic's master->count); addrtype: 1 limit-in, 2 limit-out; multiport: MP_*. */
  count: number;
  on1: boolean; // --sport / --uid-owner / --ctstate given
  lo1: number;
  hi1: number;
  inv1: boolean;
  on2: boolean; // --dport / --gid-owner
  lo2: number;
  hi2: number;
  inv2: boolean;
}

interface CRule {
  rule: Rule;
  srcOn: boolean;
  srcAddr: number; // int32, pre-masked
  srcMask: number; // int32
  srcInv: boolean;
  dstOn: boolean;
  dstAddr: number;
  dstMask: number;
  dstInv: boolean;
  inOn: boolean;
  inName: string;
  inWild: boolean;
  inInv: boolean;
  outOn: boolean;
  outName: string;
  outWild: boolean;
  outInv: boolean;
  proto: number;
  protoInv: boolean;
  matches: CMatch[];
  target: number;
  jump: CChain | null;
  nat: NatBinding | undefined;
  logPrefix: string;
  /** MARK: skb->mark = (mark & ~markMask) ^ markValue. */
  markValue: number;
  markMask: number;
  reject: RejectAction | undefined;
  hit: TraceHit;
}

interface CChain {
  chain: Chain;
  rules: CRule[];
  policyHit: TraceHit;
}

export interface CompiledTable {
  name: TableName;
  hooks: Partial<Record<Hook, CChain>>;
  stackChain: CChain[];
  stackPos: Int32Array;
}

function compileMatch(m: Match): CMatch | null {
  const c: CMatch = { kind: M_PORTS, ports: null, count: 0, on1: false, lo1: 0, hi1: 0, inv1: false, on2: false, lo2: 0, hi2: 0, inv2: false };
  switch (m.kind) {
    case 'mark':
      return { ...c, kind: M_MARK, on1: true, lo1: m.mark!.value | 0, hi1: m.mark!.mask | 0, inv1: m.invert };
    case 'multiport':
      return { ...c, kind: M_MULTIPORT, ports: Int32Array.from(m.ranges.flat()), count: m.which === 'sports' ? MP_SRC : m.which === 'dports' ? MP_DST : MP_EITHER, inv1: m.invert };
    case 'statistic':
      return m.mode === 'random'
        ? { ...c, kind: M_RANDOM, lo1: m.probability!, inv1: m.invert }
        : { ...c, kind: M_NTH, lo1: m.every!, count: m.packet ?? 0, inv1: m.invert };
    case 'addrtype':
      return { ...c, kind: M_ADDRTYPE, lo1: m.src, inv1: m.srcInvert, lo2: m.dst, inv2: m.dstInvert, count: m.limitIn ? 1 : m.limitOut ? 2 : 0 };
    case 'nfacct':
      return null; // xt_nfacct always matches (it only counts, in the rule's own counters here)
    case 'tcp':
    case 'udp':
      if (m.sport) Object.assign(c, { on1: true, lo1: m.sport.min, hi1: m.sport.max, inv1: m.sport.invert });
      if (m.dport) Object.assign(c, { on2: true, lo2: m.dport.min, hi2: m.dport.max, inv2: m.dport.invert });
      return c.on1 || c.on2 ? c : null;
    case 'owner':
      c.kind = M_OWNER;
      if (m.uid) Object.assign(c, { on1: true, lo1: m.uid.id, inv1: m.uid.invert });
      if (m.gid) Object.assign(c, { on2: true, lo2: m.gid.id, inv2: m.gid.invert });
      return c; // a bare -m owner still matters: it is the kernel's "has a socket" test with no criteria
    case 'conntrack':
    case 'state':
      if (m.mask === 0) return null;
      return { ...c, kind: M_CTSTATE, on1: true, lo1: m.mask, inv1: m.invert };
    case 'comment':
      return null;
  }
}

function natBinding(r: Rule): NatBinding | undefined {
  const t = r.target;
  const ports = (x: { portMin?: number; portMax?: number }) =>
    x.portMin === undefined ? {} : { portMin: x.portMin, portMax: x.portMax };
  if (t.kind === 'redirect') return Object.freeze({ kind: 'redirect', ...ports(t) });
  if (t.kind === 'dnat') return Object.freeze({ kind: 'dnat', addr: t.addr, ...ports(t) });
  if (t.kind === 'masquerade') return Object.freeze({ kind: 'masquerade', random: t.random, randomFully: t.randomFully, ...ports(t) });
  if (t.kind === 'snat') {
    return Object.freeze({ kind: 'snat', addrMin: t.addrMin, addrMax: t.addrMax, random: t.random, randomFully: t.randomFully, persistent: t.persistent, ...ports(t) });
  }
  return undefined;
}

const TARGET_CODES: Readonly<Record<Rule['target']['kind'], number>> = {
  none: T_NONE,
  accept: T_ACCEPT,
  drop: T_DROP,
  return: T_RETURN,
  jump: T_JUMP,
  redirect: T_NAT,
  dnat: T_NAT,
  masquerade: T_NAT,
  snat: T_NAT,
  log: T_LOG,
  mark: T_MARK,
  reject: T_REJECT,
  notrack: T_NOTRACK,
  inert: T_INERT,
};

/** Compiles a (validated: loop-free, every jump target present) table. */
export function compileTable(t: TableRules): CompiledTable {
  const byName = new Map<string, CChain>();
  const pending: Array<[CRule, string]> = [];
  for (const chain of t.chains.values()) {
    const rules = chain.rules.map((r, i): CRule => {
      const tk = r.target;
      const cr: CRule = {
        rule: r,
        srcOn: r.src !== undefined,
        srcAddr: (r.src?.addr ?? 0) | 0,
        srcMask: prefixMask(r.src?.prefixLen ?? 0) | 0,
        srcInv: r.src?.invert ?? false,
        dstOn: r.dst !== undefined,
        dstAddr: (r.dst?.addr ?? 0) | 0,
        dstMask: prefixMask(r.dst?.prefixLen ?? 0) | 0,
        dstInv: r.dst?.invert ?? false,
        inOn: r.inIface !== undefined,
        inName: r.inIface?.name ?? '',
        inWild: r.inIface?.wildcard ?? false,
        inInv: r.inIface?.invert ?? false,
        outOn: r.outIface !== undefined,
        outName: r.outIface?.name ?? '',
        outWild: r.outIface?.wildcard ?? false,
        outInv: r.outIface?.invert ?? false,
        proto: r.proto?.num ?? 0,
        protoInv: r.proto?.invert ?? false,
        matches: r.matches.map(compileMatch).filter((m): m is CMatch => m !== null),
        target: tk.kind === 'jump' && tk.goto ? T_GOTO : TARGET_CODES[tk.kind],
        jump: null,
        nat: natBinding(r),
        logPrefix: tk.kind === 'log' ? tk.prefix : '',
        markValue: tk.kind === 'mark' ? tk.value | 0 : 0,
        markMask: tk.kind === 'mark' ? tk.mask | 0 : 0,
        reject: tk.kind === 'reject' ? Object.freeze({ with: tk.with, line: r.line }) : undefined,
        hit: Object.freeze({
          table: t.name,
          chain: chain.name,
          index: i + 1,
          target: targetName(tk),
          text: ruleSaveLine(chain.name, r),
          kind: 'rule',
        }),
      };
      if (tk.kind === 'jump') pending.push([cr, tk.chain]);
      return cr;
    });
    const policy = chain.policy ?? 'ACCEPT';
    byName.set(chain.name, {
      chain,
      rules,
      policyHit: Object.freeze({
        table: t.name,
        chain: chain.name,
        index: chain.rules.length + 1,
        target: policy,
        text: `-P ${chain.name} ${policy}`,
        kind: 'policy',
      }),
    });
  }
  for (const [cr, name] of pending) cr.jump = byName.get(name) ?? null;
  const hooks: Partial<Record<Hook, CChain>> = {};
  for (const c of byName.values()) if (c.chain.builtin) hooks[c.chain.builtin] = c;
  return { name: t.name, hooks, stackChain: new Array<CChain>(MAX_JUMP_DEPTH), stackPos: new Int32Array(MAX_JUMP_DEPTH) };
}

function ifaceMatches(name: string, want: string, wild: boolean): boolean {
  return wild ? name.startsWith(want) : name === want;
}

function addrTypeOf(p: RulePacket, addr: number, dev: string | undefined, r: CRule): number {
  if (!p.addrType) throw new RuleEvalError(`-m addrtype needs the host's addresses (rule ${r.hit.chain}#${r.hit.index}, line ${r.rule.line})`);
  return p.addrType(addr, dev);
}

/** ip_packet_match plus the match extensions, in rule order. */
function ruleMatches(r: CRule, p: RulePacket, ctbit: number, rnd: RuleRandom): boolean {
  if (r.srcOn && ((p.src & r.srcMask) === r.srcAddr) === r.srcInv) return false;
  if (r.dstOn && ((p.dst & r.dstMask) === r.dstAddr) === r.dstInv) return false;
  if (r.inOn && ifaceMatches(p.inIface ?? '', r.inName, r.inWild) === r.inInv) return false;
  if (r.outOn && ifaceMatches(p.outIface ?? '', r.outName, r.outWild) === r.outInv) return false;
  if (r.proto !== 0 && (p.proto === r.proto) === r.protoInv) return false;
  const ms = r.matches;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    switch (m.kind) {
      case M_PORTS:
        if (m.on1 && (p.sport >= m.lo1 && p.sport <= m.hi1) === m.inv1) return false;
        if (m.on2 && (p.dport >= m.lo2 && p.dport <= m.hi2) === m.inv2) return false;
        break;
      case M_OWNER:
        if (p.uid === undefined && p.gid === undefined) {
          // xt_owner without a socket (forwarded, received, kernel-generated): the match succeeds
          // only when every given test is inverted, "(info->match ^ info->invert) == 0".
          if ((m.on1 && !m.inv1) || (m.on2 && !m.inv2)) return false;
        } else {
          if (m.on1 && (p.uid === m.lo1) === m.inv1) return false;
          if (m.on2 && (p.gid === m.lo2) === m.inv2) return false;
        }
        break;
      case M_CTSTATE:
        if (((m.lo1 & ctbit) !== 0) === m.inv1) return false;
        break;
      case M_MARK:
        // xt_mark: ((skb->mark & mask) == mark) ^ invert
        if ((((p.mark ?? 0) & m.hi1) === m.lo1) === m.inv1) return false;
        break;
      case M_MULTIPORT: {
        // ports_match_v1: the first entry that covers the port decides.
        const ps = m.ports!;
        let hit = false;
        for (let k = 0; k < ps.length && !hit; k += 2) {
          const lo = ps[k];
          const hi = ps[k + 1];
          hit = (m.count !== MP_SRC && p.dport >= lo && p.dport <= hi) || (m.count !== MP_DST && p.sport >= lo && p.sport <= hi);
        }
        if (hit === m.inv1) return false;
        break;
      }
      case M_RANDOM:
        // statistic_mt: (get_random_u32() & 0x7FFFFFFF) < probability
        if (((rnd.randomU32() & 0x7fffffff) < m.lo1) === m.inv1) return false;
        break;
      case M_NTH: {
        const nval = m.count === m.lo1 ? 0 : m.count + 1;
        m.count = nval;
        if ((nval === 0) === m.inv1) return false;
        break;
      }
      case M_ADDRTYPE: {
        const dev = m.count === 1 ? p.inIface : m.count === 2 ? p.outIface : undefined;
        if (m.lo1 !== 0 && (((m.lo1 & (1 << addrTypeOf(p, p.src, dev, r))) !== 0) === m.inv1)) return false;
        if (m.lo2 !== 0 && (((m.lo2 & (1 << addrTypeOf(p, p.dst, dev, r))) !== 0) === m.inv2)) return false;
        break;
      }
    }
  }
  return true;
}

const PROTO_LOG: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };

/** The fields of a kernel LOG line (nf_log_ip) that a RulePacket carries. */
function logLine(prefix: string, p: RulePacket): string {
  const proto = PROTO_LOG[p.proto] ?? String(p.proto);
  const ports = p.proto === 6 || p.proto === 17 ? ` SPT=${p.sport} DPT=${p.dport}` : '';
  return `${prefix}IN=${p.inIface ?? ''} OUT=${p.outIface ?? ''} SRC=${formatIpv4Address(p.src)} DST=${formatIpv4Address(p.dst)} LEN=${p.length} PROTO=${proto}${ports}`;
}

/** Deterministic stand-in when no random source is given (xorshift32 from a fixed seed). */
const FIXED_RANDOM: RuleRandom = (() => {
  let x = 0x2545f491;
  return {
    randomU32(): number {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    },
  };
})();

export function evaluateTable(ct: CompiledTable, hook: Hook, p: RulePacket, rnd: RuleRandom = FIXED_RANDOM): TraceResult {
  const start = ct.hooks[hook];
  if (!start) throw new RuleEvalError(`table ${ct.name} is not registered at ${hook} (it has no ${hook} chain)`);
  const hits: TraceHit[] = [];
  const logs: string[] = [];
  let ctbit = ctStateBit(p.ctstate);
  // xt_conntrack's virtual states: only with an entry attached.
  if (p.ctstate !== 'INVALID' && p.ctstate !== 'UNTRACKED') {
    const nat = p.ctNat ?? 0;
    if (nat & CT_NAT_SRC) ctbit |= CT_SNAT_BIT;
    if (nat & CT_NAT_DST) ctbit |= CT_DNAT_BIT;
  }
  const { stackChain, stackPos } = ct;
  let chain = start;
  let i = 0;
  let sp = 0;
  for (;;) {
    const rules = chain.rules;
    let ret = i >= rules.length; // fell off the end: implicit RETURN (or the policy of a builtin chain)
    if (!ret) {
      const r = rules[i++];
      if (!ruleMatches(r, p, ctbit, rnd)) continue;
      const c = r.rule.counters;
      c.packets++;
      c.bytes += p.length;
      hits.push(r.hit);
      switch (r.target) {
        case T_NONE:
          continue;
        case T_LOG:
          logs.push(logLine(r.logPrefix, p));
          continue;
        case T_ACCEPT:
          return { verdict: 'ACCEPT', hits, logs };
        case T_DROP:
          return { verdict: 'DROP', hits, logs };
        case T_NAT:
          return { verdict: 'ACCEPT', nat: r.nat, hits, logs };
        case T_MARK:
          p.mark = (((p.mark ?? 0) & ~r.markMask) ^ r.markValue) >>> 0;
          continue;
        case T_REJECT:
          return { verdict: 'DROP', reject: r.reject, hits, logs };
        case T_NOTRACK:
          // xt_ct_target: only a packet with no attachment yet (INVALID here means none) becomes
          // untracked, in place like MARK's skb->mark; the rules after this one see it so.
          if (p.ctstate === 'INVALID') {
            p.ctstate = 'UNTRACKED';
            ctbit = ctStateBit('UNTRACKED');
          }
          continue;
        case T_INERT:
          // Only reachable by a non-TCP packet: ctsim carries TCP only, so this is a modelling gap, never a silent pass.
          throw new RuleEvalError(`target "-j ${r.hit.target}" (line ${r.rule.line}) is not modelled; it was accepted only because its rule can never match a TCP packet`);
        case T_RETURN:
          ret = true;
          break;
        case T_JUMP:
          if (sp >= MAX_JUMP_DEPTH) {
            throw new RuleEvalError(
              `more than ${MAX_JUMP_DEPTH} nested jumps at ${ct.name} ${r.hit.chain} rule ${r.hit.index} (-j ${r.hit.target})`,
            );
          }
          stackChain[sp] = chain;
          stackPos[sp] = i;
          sp++;
          chain = r.jump as CChain;
          i = 0;
          continue;
        case T_GOTO:
          chain = r.jump as CChain;
          i = 0;
          continue;
      }
    }
    if (ret) {
      if (sp > 0) {
        sp--;
        chain = stackChain[sp];
        i = stackPos[sp];
        continue;
      }
      // Underflow: the hook's policy entry decides and counts.
      const pc = start.chain.policyCounters;
      pc.packets++;
      pc.bytes += p.length;
      hits.push(start.policyHit);
      return { verdict: start.chain.policy === 'DROP' ? 'DROP' : 'ACCEPT', hits, logs };
    }
  }
}
