// The endpoints of a raw IPv4 packet (addresses, and TCP/UDP ports when the packet carries them),
// read without trusting the packet, and a copy with new addresses whose checksums are patched
// incrementally (RFC 1624), so a deliberately wrong checksum stays exactly as wrong. Used to give
// each conformance case addresses of its own when many cases share one peer conntrack, and to read
// back what a peer's NAT did to a packet.
import { checksumUpdate16, checksumUpdate32 } from './checksum.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { ETHERNET_HEADER_LEN } from './ethernet.js';
import { IPV4_FIELD, IPV4_MIN_HEADER_LEN, IpProtocol } from './ipv4.js';
import { TCP_FIELD, TCP_MIN_HEADER_LEN } from './tcp.js';

export interface Ipv4Endpoints {
  src: number;
  dst: number;
  protocol: number;
  /** Ports: -1 when the packet is not TCP/UDP, a later fragment, or too short to hold them. */
  sport: number;
  dport: number;
  /** TCP flags (9 bits): -1 when the TCP header's flag bytes are not there. */
  tcpFlags: number;
}

const UDP = 17;
const FRAGMENT_OFFSET = 0x1fff;

/** Addresses and ports of the IPv4 packet at b[off]; null when not even the fixed header is there. */
export function ipv4Endpoints(b: Uint8Array, off = 0): Ipv4Endpoints | null {
  if (b.length - off < IPV4_MIN_HEADER_LEN || b[off] >>> 4 !== 4) return null;
  const hl = (b[off] & 0x0f) << 2;
  const protocol = b[off + IPV4_FIELD.PROTOCOL];
  const e: Ipv4Endpoints = { src: readU32(b, off + IPV4_FIELD.SRC), dst: readU32(b, off + IPV4_FIELD.DST), protocol, sport: -1, dport: -1, tcpFlags: -1 };
  const first = (readU16(b, off + IPV4_FIELD.FLAGS_FRAGMENT) & FRAGMENT_OFFSET) === 0;
  if ((protocol === IpProtocol.TCP || protocol === UDP) && first && hl >= IPV4_MIN_HEADER_LEN && off + hl + 4 <= b.length) {
    e.sport = readU16(b, off + hl + TCP_FIELD.SRC_PORT);
    e.dport = readU16(b, off + hl + TCP_FIELD.DST_PORT);
    if (protocol === IpProtocol.TCP && off + hl + TCP_FIELD.FLAGS < b.length) {
      e.tcpFlags = b[off + hl + TCP_FIELD.FLAGS] | ((b[off + hl + TCP_FIELD.OFFSET] & 1) << 8);
    }
  }
  return e;
}

/**
 * A copy of the IPv4 packet `b` with new addresses (and, for TCP, new ports when given). The
 * header checksum and, when the TCP checksum field lies inside the packet, the TCP checksum (its
 * pseudo-header holds both addresses) are patched incrementally. Ports are rewritten only when
 * the whole fixed TCP header is there. `b` must hold at least the fixed IPv4 header.
 */
export function withIpv4Endpoints(b: Uint8Array, to: { src: number; dst: number; sport?: number; dport?: number }): Uint8Array {
  const out = b.slice();
  if (out.length < IPV4_MIN_HEADER_LEN) return out;
  const src = to.src >>> 0;
  const dst = to.dst >>> 0;
  const oldSrc = readU32(out, IPV4_FIELD.SRC);
  const oldDst = readU32(out, IPV4_FIELD.DST);
  let sum = readU16(out, IPV4_FIELD.CHECKSUM);
  sum = checksumUpdate32(checksumUpdate32(sum, oldSrc, src), oldDst, dst);
  writeU16(out, IPV4_FIELD.CHECKSUM, sum);
  writeU32(out, IPV4_FIELD.SRC, src);
  writeU32(out, IPV4_FIELD.DST, dst);
  const hl = (out[0] & 0x0f) << 2;
  const first = (readU16(out, IPV4_FIELD.FLAGS_FRAGMENT) & FRAGMENT_OFFSET) === 0;
  const at = hl + TCP_FIELD.CHECKSUM;
  if (out[IPV4_FIELD.PROTOCOL] !== IpProtocol.TCP || !first || hl < IPV4_MIN_HEADER_LEN || at + 2 > out.length) return out;
  let t = readU16(out, at);
  t = checksumUpdate32(checksumUpdate32(t, oldSrc, src), oldDst, dst);
  if (hl + TCP_MIN_HEADER_LEN <= out.length) {
    for (const [field, port] of [[TCP_FIELD.SRC_PORT, to.sport], [TCP_FIELD.DST_PORT, to.dport]] as const) {
      if (port === undefined) continue;
      t = checksumUpdate16(t, readU16(out, hl + field), port);
      writeU16(out, hl + field, port);
    }
  }
  writeU16(out, at, t);
  return out;
}

/** An Ethernet II frame around `payload` (no VLAN tag). */
export function ethernetFrame(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_LEN + payload.length);
  out.set(dst.subarray(0, 6), 0);
  out.set(src.subarray(0, 6), 6);
  writeU16(out, 12, etherType);
  out.set(payload, ETHERNET_HEADER_LEN);
  return out;
}

/** The parts of an untagged Ethernet II frame (views into `frame`), or null when it is too short. */
export function ethernetParts(frame: Uint8Array): { dst: Uint8Array; src: Uint8Array; etherType: number; payload: Uint8Array } | null {
  if (frame.length < ETHERNET_HEADER_LEN) return null;
  return { dst: frame.subarray(0, 6), src: frame.subarray(6, 12), etherType: readU16(frame, 12), payload: frame.subarray(ETHERNET_HEADER_LEN) };
}

/** The last byte of a frame's destination MAC (where a switch pipeline can stamp a small value), or -1. */
export function ethernetDstLowByte(frame: Uint8Array): number {
  return frame.length >= ETHERNET_HEADER_LEN ? frame[5] : -1;
}
