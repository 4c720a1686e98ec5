// Conntrack tuples (struct nf_conntrack_tuple, IPv4/TCP part): addresses as unsigned 32-bit
// numbers, ports as numbers, plus the protocol. A plain object on slow paths; hot paths pass the
// four numbers directly.
import { formatIpv4Address } from '../wire/index.js';

export interface Tuple {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  /** IP protocol (6 for TCP). */
  proto: number;
}

/** `src=A dst=B sport=a dport=b`, the conntrack-tools spelling. */
export function formatTuple(t: Tuple): string {
  return `src=${formatIpv4Address(t.src)} dst=${formatIpv4Address(t.dst)} sport=${t.sport} dport=${t.dport}`;
}
