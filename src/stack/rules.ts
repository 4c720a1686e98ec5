// The contract between the host's netfilter hooks and a rule engine (src/stack/iptables). The
// host asks "what does table T say at hook H for this packet?"; the engine answers with a verdict,
// an optional NAT binding and the rules that matched (for counters, comments and timelines).
import type { CtState } from '../conntrack/verdict.js';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
export type Table = 'raw' | 'mangle' | 'nat' | 'filter';

export interface RulePacket {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
  length: number;
  inIface?: string;
  outIface?: string;
  uid?: number;
  gid?: number;
  /** The attached entry's state; INVALID also for a packet conntrack has not seen. CT --notrack changes INVALID to UNTRACKED in place (the host reads it back, as the mark). */
  ctstate: CtState;
  /**
   * skb->mark. A MARK target changes it in place: the host reads it back after evaluate() and
   * carries it on the packet to the next table (the kernel's skb field).
   */
  mark?: number;
  /** IPS_SRC_NAT (1) / IPS_DST_NAT (2) of the attached entry, for --ctstate SNAT/DNAT (0 without an entry). */
  ctNat?: number;
  /** The host's route type of an address (RTN_*: 1 UNICAST, 2 LOCAL, 3 BROADCAST, 5 MULTICAST), for -m addrtype; `dev` limits the lookup to a device. */
  addrType?: (addr: number, dev: string | undefined) => number;
}

/** RTN_* route types (include/uapi/linux/rtnetlink.h), as -m addrtype numbers them. */
export const RouteType = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5 } as const;

/** Status bits RulePacket.ctNat carries. */
export const CT_NAT_SRC = 1;
export const CT_NAT_DST = 2;

export type NatBinding =
  | { kind: 'redirect'; portMin?: number; portMax?: number }
  | { kind: 'dnat'; addr: number; portMin?: number; portMax?: number }
  /** Source NAT to the output interface's address (xt_MASQUERADE, nf_nat_masquerade_ipv4). */
  | { kind: 'masquerade'; portMin?: number; portMax?: number; random: boolean; randomFully: boolean }
  | { kind: 'snat'; addrMin: number; addrMax: number; portMin?: number; portMax?: number; random: boolean; randomFully: boolean; persistent: boolean };

/** REJECT's answer (ipt_REJECT): what the host must send back; `line` is the rule's input line. */
export interface RejectAction {
  with: string;
  line: number;
}

export interface RuleHit {
  table: string;
  chain: string;
  index: number;
  target: string;
  text: string;
}

export interface RuleResult {
  verdict: 'ACCEPT' | 'DROP';
  nat?: NatBinding;
  /** Set with verdict DROP when a REJECT rule decided: the host sends the answer (NF_DROP + reply). */
  reject?: RejectAction;
  hits: RuleHit[];
  logs: string[];
}

/** The random source of a run (get_random_u32() for -m statistic --mode random). */
export interface RuleRandomSource {
  randomU32(): number;
}

/** See RuleEvaluator.hiddenMatches. */
export interface HiddenMatches {
  uids: number[];
  gids: number[];
  markOrRandom: boolean;
}

export interface RuleEvaluator {
  evaluate(table: Table, hook: Hook, pkt: RulePacket, random?: RuleRandomSource): RuleResult;
  /**
   * What a table's rules ask of a packet that a capture does not show: the uids and gids its
   * `-m owner` matches name (a replayer tries root and each of these as the packet's socket),
   * and whether a rule matches on the mark or by chance (-m mark, -m statistic).
   */
  hiddenMatches?(table: Table): HiddenMatches;
}
