// The contract between the host's netfilter hooks and a rule engine (src/stack/iptables). The
// host asks "what does table T say at hook H for this packet?"; the engine answers with a verdict,
// an optional NAT binding and the rules that matched (for counters, comments and timelines).
import type { CtState } from './skb.js';

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
  ctstate: CtState;
}

export type NatBinding =
  | { kind: 'redirect'; portMin?: number; portMax?: number }
  | { kind: 'dnat'; addr: number; portMin?: number; portMax?: number };

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
  hits: RuleHit[];
  logs: string[];
}

export interface RuleEvaluator {
  evaluate(table: Table, hook: Hook, pkt: RulePacket): RuleResult;
}
