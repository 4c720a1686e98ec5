// One rule as the kernel stores it (struct ipt_entry): the fixed IP part (addresses, interfaces,
// protocol, each with its own `!`), the match extensions in the order they were given, a target,
// and the packet/byte counters. Everything is parsed once; evaluation only compares numbers.
import type { Hook, TableName } from './tables.js';
import type { CtState } from '../../conntrack/verdict.js';

export interface Counters {
  packets: number;
  bytes: number;
}

/** -s/-d: the address is stored already masked, as iptables does (10.1.2.3/8 saves as 10.0.0.0/8). */
export interface AddrSpec {
  addr: number;
  prefixLen: number;
  invert: boolean;
}

/** -i/-o: `eth+` matches every name that starts with "eth" (iptables(8) "--in-interface"). */
export interface IfaceSpec {
  name: string;
  wildcard: boolean;
  invert: boolean;
}

export interface ProtoSpec {
  /** IP protocol number; 0 = all. */
  num: number;
  invert: boolean;
}

export interface PortSpec {
  min: number;
  max: number;
  invert: boolean;
}

export interface IdSpec {
  id: number;
  invert: boolean;
}

/** Bits of a --ctstate/--state list; listings print them in this order (libxt_conntrack). */
export const CT_STATE_ORDER: readonly CtStateName[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

/**
 * A --ctstate name: the packet's ctinfo state, or the virtual states SNAT/DNAT of xt_conntrack
 * (set when the entry's IPS_SRC_NAT/IPS_DST_NAT status bit is, i.e. NAT changed its tuple).
 */
export type CtStateName = CtState | 'SNAT' | 'DNAT';

/** xt_conntrack's virtual state bits (XT_CONNTRACK_STATE_SNAT/DNAT). */
export const CT_SNAT_BIT = 32;
export const CT_DNAT_BIT = 64;

export function ctStateBit(state: CtStateName): number {
  switch (state) {
    case 'SNAT':
      return CT_SNAT_BIT;
    case 'DNAT':
      return CT_DNAT_BIT;
    case 'INVALID':
      return 1;
    case 'NEW':
      return 2;
    case 'RELATED':
      return 4;
    case 'ESTABLISHED':
      return 8;
    case 'UNTRACKED':
      return 16;
  }
}

/** A value/mask pair (-m mark --mark, MARK --set-xmark): u32 each. */
export interface MarkSpec {
  value: number;
  mask: number;
}

/** RTN_* route types of xt_addrtype, in the order libxt_addrtype prints them. */
export const ADDR_TYPES = [
  'UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE',
] as const;
export type AddrType = (typeof ADDR_TYPES)[number];

export type Match =
  | { kind: 'tcp' | 'udp'; sport?: PortSpec; dport?: PortSpec }
  | { kind: 'mark'; mark?: MarkSpec; invert: boolean }
  /** -m multiport --sports/--dports/--ports: [min, max] pairs (a single port has min = max). */
  | { kind: 'multiport'; which?: 'sports' | 'dports' | 'ports'; ranges: Array<[number, number]>; invert: boolean }
  /**
   * -m statistic as the kernel stores it: random with probability = lround(p * 2^31); nth with
   * every = n - 1 and the starting count `packet`. `invert` is the "!" before --probability/--every.
   */
  | { kind: 'statistic'; mode?: 'random' | 'nth'; probability?: number; every?: number; packet?: number; invert: boolean }
  | { kind: 'addrtype'; src: number; srcInvert: boolean; dst: number; dstInvert: boolean; limitIn: boolean; limitOut: boolean }
  | { kind: 'nfacct'; name: string }
  | { kind: 'owner'; uid?: IdSpec; gid?: IdSpec }
  /** mask 0: no --ctstate/--state given (a bare -m conntrack matches every packet). */
  | { kind: 'conntrack' | 'state'; mask: number; invert: boolean }
  | { kind: 'comment'; text: string };

export type Target =
  | { kind: 'none' } // no -j: the rule only counts (iptables(8): "If the rule does not specify a target ...")
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'jump'; chain: string; goto: boolean }
  | { kind: 'redirect'; portMin?: number; portMax?: number }
  | { kind: 'dnat'; addr: number; portMin?: number; portMax?: number }
  | { kind: 'log'; prefix: string; level: number }
  /** MARK (revision 2): skb->mark = (skb->mark & ~mask) ^ value; every --*-mark form reduces to it. */
  | { kind: 'mark'; value: number; mask: number; given: boolean }
  /** MASQUERADE: source NAT to the output interface's address. */
  | { kind: 'masquerade'; portMin?: number; portMax?: number; random: boolean; randomFully: boolean }
  /** SNAT --to-source a[-b][:p[-q]]. */
  | { kind: 'snat'; addrMin: number; addrMax: number; portMin?: number; portMax?: number; random: boolean; randomFully: boolean; persistent: boolean }
  /** REJECT --reject-with TYPE (ipt_REJECT); tcp-reset builds an RST as nf_send_reset does. */
  | { kind: 'reject'; with: RejectWith }
  /**
   * CT --notrack (xt_CT, raw table only): a packet with no conntrack attachment yet gets the
   * untracked mark, so conntrack ignores it and NAT never sees it; the chain continues.
   * `alias`: written `-j NOTRACK` (libxt_NOTRACK's name for the same target); `given`: for -j CT,
   * whether --notrack came (CT's other uses, templates with zones, helpers or timeouts, are refused).
   */
  | { kind: 'notrack'; alias: boolean; given: boolean }
  /**
   * A target ctsim does not model (CT, ...) on a rule that can never match a TCP packet (its
   * protocol is UDP or ICMP): kept as written, printed back as it was read.
   */
  | { kind: 'inert'; name: string; args: string[] };

/** REJECT --reject-with values (ipt_REJECT's enum ipt_reject_with), canonical names as iptables-save prints them. */
export const REJECT_WITH = [
  'icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-port-unreachable', 'icmp-proto-unreachable',
  'icmp-net-prohibited', 'icmp-host-prohibited', 'tcp-reset', 'icmp-admin-prohibited',
] as const;
export type RejectWith = (typeof REJECT_WITH)[number];

export interface Rule {
  src?: AddrSpec;
  dst?: AddrSpec;
  inIface?: IfaceSpec;
  outIface?: IfaceSpec;
  proto?: ProtoSpec;
  matches: Match[];
  target: Target;
  counters: Counters;
  /** Input line the rule came from (0 when built by a command without a line). */
  line: number;
}

export interface Chain {
  name: string;
  /** Builtin chains are the hooks; user chains have no policy. */
  builtin: Hook | null;
  policy: 'ACCEPT' | 'DROP' | null;
  policyCounters: Counters;
  rules: Rule[];
}

/** Name a rule's target shows in listings and hits ("" for none). */
export function targetName(t: Target): string {
  switch (t.kind) {
    case 'none':
      return '';
    case 'accept':
      return 'ACCEPT';
    case 'drop':
      return 'DROP';
    case 'return':
      return 'RETURN';
    case 'jump':
      return t.chain;
    case 'redirect':
      return 'REDIRECT';
    case 'dnat':
      return 'DNAT';
    case 'log':
      return 'LOG';
    case 'mark':
      return 'MARK';
    case 'masquerade':
      return 'MASQUERADE';
    case 'snat':
      return 'SNAT';
    case 'reject':
      return 'REJECT';
    case 'notrack':
      return 'CT'; // iptables -L lists both forms as CT
    case 'inert':
      return t.name;
  }
}

export const PROTO_NAMES: Readonly<Record<number, string>> = { 0: 'all', 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** One table's chains by name (builtin chains always present, in the table's hook set). */
export interface TableRules {
  name: TableName;
  chains: Map<string, Chain>;
}
