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

/** nf_ct_invert_tuple: the tuple a reply would carry if nothing rewrote it. */
export function invertTuple(t: Tuple): Tuple {
  return { src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, proto: t.proto };
}

export function tupleEquals(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.proto === b.proto;
}

/** `src=A dst=B sport=a dport=b`, the conntrack-tools spelling. */
export function formatTuple(t: Tuple): string {
  return `src=${formatIpv4Address(t.src)} dst=${formatIpv4Address(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

/** `A:a -> B:b` for timelines. */
export function formatTupleShort(t: Tuple): string {
  return `${formatIpv4Address(t.src)}:${t.sport} -> ${formatIpv4Address(t.dst)}:${t.dport}`;
}
