// ipv4Endpoints reads addresses, ports and TCP flags without trusting the packet;
// withIpv4Endpoints rewrites them with RFC 1624 incremental checksums: a valid checksum stays
// valid, a wrong one stays exactly as wrong.
import { describe, expect, it } from 'vitest';
import {
  IPV4_FIELD, IpProtocol, TCP_FIELD, TcpFlag, encodeSegment, ethernetDstLowByte, ethernetFrame, ethernetParts, internetChecksum, ip, ipv4Endpoints, parseIpv4Tcp,
  pseudoHeaderSum, readU16, withIpv4Endpoints, writeU16,
} from '../../src/wire/index.js';

const pkt = () => encodeSegment({ src: ip('198.18.0.1'), dst: ip('198.19.0.2'), srcPort: 40000, dstPort: 80, seq: 1, ack: 2, flags: TcpFlag.SYN | TcpFlag.ACK, payload: new Uint8Array([1, 2, 3]) });

function tcpSum(b: Uint8Array): number {
  return internetChecksum(b, 20, b.length - 20, pseudoHeaderSum(ip('198.19.255.254'), ip('198.18.0.7'), IpProtocol.TCP, b.length - 20));
}

describe('ipv4Endpoints', () => {
  it('reads addresses, ports and flags; -1 where the packet is too short', () => {
    const b = pkt();
    expect(ipv4Endpoints(b)).toEqual({ src: ip('198.18.0.1'), dst: ip('198.19.0.2'), protocol: 6, sport: 40000, dport: 80, tcpFlags: TcpFlag.SYN | TcpFlag.ACK });
    expect(ipv4Endpoints(b.subarray(0, 22))).toMatchObject({ sport: -1, dport: -1, tcpFlags: -1 });
    expect(ipv4Endpoints(b.subarray(0, 25))).toMatchObject({ sport: 40000, tcpFlags: -1 });
    expect(ipv4Endpoints(b.subarray(0, 19))).toBeNull();
  });
});

describe('withIpv4Endpoints', () => {
  it('rewrites addresses and ports with checksums that verify', () => {
    const out = withIpv4Endpoints(pkt(), { src: ip('198.19.255.254'), dst: ip('198.18.0.7'), sport: 15001 });
    const r = parseIpv4Tcp(out); // verifies both checksums
    expect([r.ip.src, r.ip.dst, r.tcp.srcPort, r.tcp.dstPort]).toEqual([ip('198.19.255.254'), ip('198.18.0.7'), 15001, 80]);
    expect(r.tcp.payload).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('keeps a wrong checksum exactly as wrong, and never touches the input', () => {
    const b = pkt();
    const at = 20 + TCP_FIELD.CHECKSUM;
    writeU16(b, at, readU16(b, at) ^ 0x0101);
    const before = b.slice();
    const out = withIpv4Endpoints(b, { src: ip('198.19.255.254'), dst: ip('198.18.0.7'), sport: 15001 });
    expect(b).toEqual(before);
    const errorBefore = internetChecksum(b, 20, b.length - 20, pseudoHeaderSum(ip('198.18.0.1'), ip('198.19.0.2'), IpProtocol.TCP, b.length - 20));
    expect(errorBefore).not.toBe(0);
    expect(tcpSum(out)).toBe(errorBefore);
    expect(internetChecksum(out, 0, 20)).toBe(0);
    expect(readU16(out, IPV4_FIELD.TOTAL_LENGTH)).toBe(b.length);
  });
});

describe('ethernet frames', () => {
  it('wraps and unwraps a payload', () => {
    const f = ethernetFrame(Uint8Array.of(2, 0, 0, 0, 0, 0x2a), Uint8Array.of(2, 0, 0, 0, 0, 1), 0x0800, pkt());
    const e = ethernetParts(f)!;
    expect(e.dst[5]).toBe(0x2a);
    expect(ethernetDstLowByte(f)).toBe(0x2a);
    expect(ethernetDstLowByte(f.subarray(0, 10))).toBe(-1);
    expect(e.etherType).toBe(0x0800);
    expect(e.payload).toEqual(pkt());
    expect(ethernetParts(f.subarray(0, 13))).toBeNull();
  });
});
