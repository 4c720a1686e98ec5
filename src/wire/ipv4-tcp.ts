// A whole IPv4+TCP packet: the unit ctsim emits, tracks and captures. Convenience over the two
// headers: emit both with consistent lengths and checksums, or parse both with every check.
import { IpProtocol, Ipv4Packet, emitIpv4, ipv4HeaderLength, parseIpv4, type Ipv4Repr } from './ipv4.js';
import { TcpSegment, emitTcp, parseTcp, tcpSegmentLength, type TcpRepr } from './tcp.js';
import type { TcpOption } from './tcp-options.js';
import { WireError } from './wire-error.js';

export interface Ipv4TcpRepr {
  ip: Ipv4Repr;
  tcp: TcpRepr;
}

/** The fields people set when writing a segment by hand; everything else takes Linux's defaults. */
export interface SegmentSpec {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOption[];
  payload?: Uint8Array;
  /** Linux: 64 (net.ipv4.ip_default_ttl). */
  ttl?: number;
  identification?: number;
  /** Linux sets DF on TCP (path-MTU discovery, ip_no_pmtu_disc=0). */
  dontFragment?: boolean;
  dscp?: number;
  ecn?: number;
}

export function ipv4TcpReprFromSpec(s: SegmentSpec): Ipv4TcpRepr {
  const tcp: TcpRepr = {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: s.seq >>> 0,
    ack: (s.ack ?? 0) >>> 0,
    flags: s.flags,
    reserved: 0,
    window: s.window ?? 64240,
    urgentPointer: 0,
    options: s.options ?? [],
    payload: s.payload ?? new Uint8Array(0),
    checksum: 0,
  };
  const ip: Ipv4Repr = {
    dscp: s.dscp ?? 0,
    ecn: s.ecn ?? 0,
    identification: s.identification ?? 0,
    reservedFlag: false,
    dontFragment: s.dontFragment ?? true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: s.ttl ?? 64,
    protocol: IpProtocol.TCP,
    src: s.src >>> 0,
    dst: s.dst >>> 0,
    options: new Uint8Array(0),
    payloadLength: tcpSegmentLength(tcp),
    checksum: 0,
  };
  return { ip, tcp };
}

export interface PacketEmitOptions {
  /** 'compute' (default) fills both checksums; 'keep' writes the reprs' checksum fields. */
  checksum?: 'compute' | 'keep';
}

/** Emits IPv4 + TCP into a new buffer; the IPv4 payload length is taken from the TCP repr. */
export function emitIpv4Tcp(repr: Ipv4TcpRepr, opts: PacketEmitOptions = {}): Uint8Array {
  const segLen = tcpSegmentLength(repr.tcp);
  const ip = { ...repr.ip, payloadLength: segLen };
  const hl = ipv4HeaderLength(ip);
  const buf = new Uint8Array(hl + segLen);
  const mode = opts.checksum ?? 'compute';
  emitIpv4(ip, buf, 0, { checksum: mode });
  emitTcp(repr.tcp, buf, hl, { checksum: mode, src: ip.src, dst: ip.dst });
  return buf;
}

export function encodeSegment(spec: SegmentSpec): Uint8Array {
  return emitIpv4Tcp(ipv4TcpReprFromSpec(spec));
}

/** Parses and validates an IPv4 packet carrying TCP at bytes[off]. Fragments are reported as errors here. */
export function parseIpv4Tcp(bytes: Uint8Array, off = 0, opts: { checksum?: 'verify' | 'ignore' } = {}): Ipv4TcpRepr {
  const view = Ipv4Packet.checked(bytes, off);
  const ip = parseIpv4(view, opts);
  if (ip.protocol !== IpProtocol.TCP) throw new WireError('bad-field', off + 9, `IP protocol ${ip.protocol} is not TCP`);
  if (view.isFragment) throw new WireError('bad-field', off + 6, `IPv4 fragment (offset ${ip.fragmentOffset * 8}${ip.moreFragments ? ', MF' : ''}): not reassembled`);
  const seg = TcpSegment.checked(bytes, view.payloadOffset, view.payloadLength);
  const tcp = parseTcp(seg, { checksum: opts.checksum ?? 'verify', src: ip.src, dst: ip.dst });
  return { ip, tcp };
}
