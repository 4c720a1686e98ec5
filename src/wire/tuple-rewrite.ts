// Rewriting addresses, ports and TTL of an IPv4/TCP packet in place with the checksums patched
// incrementally (RFC 1624 eqn. 3), as the kernel's NAT does (nf_nat_ipv4_manip_pkt +
// tcp_manip_pkt: inet_proto_csum_replace4/2): a checksum that was wrong stays exactly as wrong.
// The order of the updates is part of the result (one's-complement -0 vs +0 in rare cases), so
// each function documents it and callers that need byte-identical output keep to one function.
import { readI32, readU16, writeU16, writeU32 } from './bytes.js';
import { checksumUpdate16, checksumUpdate32 } from './checksum.js';
import { IPV4_FIELD } from './ipv4.js';
import { TCP_FIELD } from './tcp.js';

/** Which endpoint of the packet a NAT manipulation rewrites. */
export type Endpoint = 'src' | 'dst';

/**
 * nf_nat_manip_pkt() for one endpoint: sets the source or destination address and port of the
 * IPv4/TCP packet at buf[ipOff] (header length from IHL, TCP header assumed complete: the caller
 * tracked it). Returns false, touching nothing, when both already hold these values. Updates, in
 * order: IPv4 checksum for the address, TCP checksum for the address (pseudo-header), then for
 * the port. Allocation-free (the conntrack hot path).
 */
export function rewriteEndpoint(buf: Uint8Array, ipOff: number, which: Endpoint, addr: number, port: number): boolean {
  // Literal offsets (IPV4_FIELD.SRC/DST/CHECKSUM, TCP_FIELD.SRC_PORT/DST_PORT/CHECKSUM;
  // tuple-rewrite.test.ts compares both sides' rewrites with a full re-emit): an imported
  // constant costs a cell load and a hole check at every use, and this runs for every NATed packet.
  const dst = which === 'dst';
  const tcp = ipOff + ((buf[ipOff] & 0x0f) << 2);
  const addrAt = ipOff + (dst ? 16 : 12);
  const portAt = tcp + (dst ? 2 : 0);
  const oldAddr = readI32(buf, addrAt);
  const oldPort = readU16(buf, portAt);
  if (oldAddr === (addr | 0) && oldPort === port) return false;
  const ipSumAt = ipOff + 10;
  const tcpSumAt = tcp + 16;
  writeU16(buf, ipSumAt, checksumUpdate32(readU16(buf, ipSumAt), oldAddr, addr));
  writeU16(buf, tcpSumAt, checksumUpdate16(checksumUpdate32(readU16(buf, tcpSumAt), oldAddr, addr), oldPort, port));
  writeU32(buf, addrAt, addr);
  writeU16(buf, portAt, port);
  return true;
}

/** The fields a tuple rewrite sets; a field left out is not touched (nor its checksum words). */
export interface TupleRewrite {
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
}

/**
 * Sets any of the four tuple fields of the IPv4/TCP packet at buf[ipOff] (a valid IPv4 header:
 * the caller checked it). TCP fields are written only where the IPv4 total length holds them,
 * and the TCP checksum is patched only when the segment holds it (tcp_manip_pkt leaves a header
 * shorter than 20 bytes unchecksummed). Updates, in order: src, dst (IPv4 and TCP checksums
 * each), sport, dport. A field given with its current value still goes through the update.
 */
export function rewriteTuple(buf: Uint8Array, ipOff: number, t: TupleRewrite): void {
  const hl = (buf[ipOff] & 0x0f) << 2;
  const tcp = ipOff + hl;
  const tcpLen = readU16(buf, ipOff + IPV4_FIELD.TOTAL_LENGTH) - hl;
  const ipSumAt = ipOff + IPV4_FIELD.CHECKSUM;
  const tcpSumAt = tcp + TCP_FIELD.CHECKSUM;
  const hasTcpSum = tcpLen >= TCP_FIELD.CHECKSUM + 2;
  let is = readU16(buf, ipSumAt);
  let ts = hasTcpSum ? readU16(buf, tcpSumAt) : 0;
  const addr = (at: number, v: number) => {
    const old = readI32(buf, at);
    is = checksumUpdate32(is, old, v);
    ts = checksumUpdate32(ts, old, v);
    writeU32(buf, at, v);
  };
  const port = (at: number, v: number) => {
    if (at + 2 > tcp + tcpLen) return;
    ts = checksumUpdate16(ts, readU16(buf, at), v);
    writeU16(buf, at, v);
  };
  if (t.src !== undefined) addr(ipOff + IPV4_FIELD.SRC, t.src);
  if (t.dst !== undefined) addr(ipOff + IPV4_FIELD.DST, t.dst);
  if (t.sport !== undefined) port(tcp + TCP_FIELD.SRC_PORT, t.sport);
  if (t.dport !== undefined) port(tcp + TCP_FIELD.DST_PORT, t.dport);
  writeU16(buf, ipSumAt, is);
  if (hasTcpSum) writeU16(buf, tcpSumAt, ts);
}

/** Sets the TTL of the IPv4 header at buf[ipOff], patching the header checksum (the TTL/protocol word). */
export function rewriteTtl(buf: Uint8Array, ipOff: number, ttl: number): void {
  const word = ipOff + IPV4_FIELD.TTL;
  const ipSumAt = ipOff + IPV4_FIELD.CHECKSUM;
  writeU16(buf, ipSumAt, checksumUpdate16(readU16(buf, ipSumAt), readU16(buf, word), ((ttl & 0xff) << 8) | buf[ipOff + IPV4_FIELD.PROTOCOL]));
  buf[word] = ttl;
}
