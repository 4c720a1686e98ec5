// The NAT rewrites (RFC 1624 incremental checksums): the result equals a full recomputation, a
// wrong checksum stays wrong, rewriting back restores the bytes, and only what the packet holds
// is touched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Ipv4Packet, PacketView, TcpFlag, TcpSegment, emitIpv4Tcp, encodeSegment, ip, parseIpv4Tcp, rewriteEndpoint, rewriteTtl, rewriteTuple,
} from '../../src/wire/index.js';
import { DATA, SYN } from './golden.js';

const LO = ip('127.0.0.1');

function checksumsOk(b: Uint8Array): [boolean, boolean] {
  const v = new PacketView().decodeIpv4(b);
  return [v.ip.verifyChecksum(), v.tcp.verifyChecksum(v.ip.src, v.ip.dst)];
}

/** The same change made by parse, edit the representation, emit with full checksums. */
function recomputed(b: Uint8Array, edit: (r: ReturnType<typeof parseIpv4Tcp>) => void): Uint8Array {
  const r = parseIpv4Tcp(b);
  edit(r);
  return emitIpv4Tcp(r);
}

describe('rewriteEndpoint (nf_nat_manip_pkt for one side)', () => {
  it('REDIRECT of the golden SYN to 127.0.0.1:15001 equals a full recomputation', () => {
    const b = SYN.slice();
    expect(rewriteEndpoint(b, 0, 'dst', LO, 15001)).toBe(true);
    expect(b).toEqual(recomputed(SYN, (r) => { r.ip.dst = LO; r.tcp.dstPort = 15001; }));
  });

  it('the source side (a reply un-REDIRECTed) equals a full recomputation, for a packet with IP options too', () => {
    const b = DATA.slice();
    expect(rewriteEndpoint(b, 0, 'src', ip('10.96.0.10'), 8080)).toBe(true);
    expect(b).toEqual(recomputed(DATA, (r) => { r.ip.src = ip('10.96.0.10'); r.tcp.srcPort = 8080; }));
    // IHL 6: the TCP header (ports, checksum) starts 24 bytes in.
    const withOptions = recomputed(DATA, (r) => { r.ip.options = Uint8Array.from([1, 1, 1, 0]); });
    const c = withOptions.slice();
    expect(rewriteEndpoint(c, 0, 'dst', LO, 15001)).toBe(true);
    expect(c).toEqual(recomputed(withOptions, (r) => { r.ip.dst = LO; r.tcp.dstPort = 15001; }));
  });

  it('touches nothing when address and port already are the target', () => {
    const b = DATA.slice();
    expect(rewriteEndpoint(b, 0, 'src', ip('198.18.0.2'), 7777)).toBe(false);
    expect(b).toEqual(DATA);
  });

  it('carries a wrong checksum along: still wrong after, the original bytes back after the reverse rewrite', () => {
    const b = SYN.slice();
    new TcpSegment(b, 20).checksum ^= 0x0101;
    const before = b.slice();
    rewriteEndpoint(b, 0, 'src', ip('10.0.0.9'), 40000);
    expect(checksumsOk(b)).toEqual([true, false]);
    rewriteEndpoint(b, 0, 'src', ip('198.18.0.1'), 44410);
    expect(b).toEqual(before);
  });
});

describe('rewriteTuple', () => {
  it('all four fields, in order src, dst, sport, dport, as a full recomputation would write them', () => {
    const b = DATA.slice();
    rewriteTuple(b, 0, { src: ip('10.1.1.1'), dst: ip('10.2.2.2'), sport: 80, dport: 8080 });
    expect(b).toEqual(recomputed(DATA, (r) => {
      r.ip.src = ip('10.1.1.1');
      r.ip.dst = ip('10.2.2.2');
      r.tcp.srcPort = 80;
      r.tcp.dstPort = 8080;
    }));
  });

  it('only the fields given; TCP fields and the TCP checksum only where the IPv4 total length holds them', () => {
    const b = SYN.slice();
    rewriteTuple(b, 0, { dst: ip('10.9.9.9') });
    const v = new PacketView().decodeIpv4(b);
    expect([v.ip.src, v.ip.dst, v.tcp.srcPort, v.tcp.dstPort]).toEqual([ip('198.18.0.1'), ip('10.9.9.9'), 44410, 7777]);
    expect(checksumsOk(b)).toEqual([true, true]);
    // A 10-byte TCP segment has its ports but no checksum field: ports rewritten, nothing past them.
    const short = SYN.slice(0, 30);
    new Ipv4Packet(short).totalLength = 30;
    new Ipv4Packet(short).fillChecksum();
    const tail = short.slice(24);
    rewriteTuple(short, 0, { src: ip('10.0.0.1'), sport: 1, dport: 2 });
    expect(new Ipv4Packet(short).verifyChecksum()).toBe(true);
    expect([new TcpSegment(short, 20).srcPort, new TcpSegment(short, 20).dstPort]).toEqual([1, 2]);
    expect(short.slice(24)).toEqual(tail);
  });

  it('for random packets and tuples: checksums verify, and rewriting back restores the bytes', () => {
    const u32 = fc.nat(0xffffffff);
    const u16 = fc.nat(0xffff);
    fc.assert(fc.property(u32, u32, u16, u16, u32, u32, u16, u16, fc.uint8Array({ maxLength: 40 }), (s, d, sp, dp, s2, d2, sp2, dp2, payload) => {
      const b = encodeSegment({ src: s, dst: d, srcPort: sp, dstPort: dp, seq: 1, ack: 2, flags: TcpFlag.ACK, payload });
      const orig = b.slice();
      rewriteTuple(b, 0, { src: s2, dst: d2, sport: sp2, dport: dp2 });
      expect(checksumsOk(b)).toEqual([true, true]);
      rewriteTuple(b, 0, { src: s, dst: d, sport: sp, dport: dp });
      expect(checksumsOk(b)).toEqual([true, true]);
      const v = new PacketView().decodeIpv4(b);
      expect([v.ip.src, v.ip.dst, v.tcp.srcPort, v.tcp.dstPort]).toEqual([s >>> 0, d >>> 0, sp, dp]);
      expect(b.subarray(24)).toEqual(orig.subarray(24));
    }), { numRuns: 300 });
  });
});

describe('rewriteTtl', () => {
  it('sets the TTL and patches the header checksum', () => {
    const b = SYN.slice();
    rewriteTtl(b, 0, 1);
    expect(new Ipv4Packet(b).ttl).toBe(1);
    expect(b).toEqual(recomputed(SYN, (r) => { r.ip.ttl = 1; }));
  });
});
