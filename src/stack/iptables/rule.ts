// One rule as the kernel stores it (struct ipt_entry): the fixed IP part (addresses, interfaces,
// protocol, each with its own `!`), the match extensions in the order they were given, a target,
// and the packet/byte counters. Everything is parsed once; evaluation only compares numbers.
import type { Hook, TableName } from './tables.js';
import type { CtState } from '../skb.js';

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
export const CT_STATE_ORDER: readonly CtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'];

export function ctStateBit(state: CtState): number {
  switch (state) {
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

export type Match =
  | { kind: 'tcp' | 'udp'; sport?: PortSpec; dport?: PortSpec }
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
  | { kind: 'log'; prefix: string; level: number };

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
  }
}

export const PROTO_NAMES: Readonly<Record<number, string>> = { 0: 'all', 1: 'icmp', 6: 'tcp', 17: 'udp' };

/** One table's chains by name (builtin chains always present, in the table's hook set). */
export interface TableRules {
  name: TableName;
  chains: Map<string, Chain>;
}
