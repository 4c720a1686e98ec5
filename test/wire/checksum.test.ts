import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IPV4_FIELD, Ipv4Packet, TCP_FIELD, TcpFlag, TcpSegment, checksumUpdate16, checksumUpdate32, encodeSegment,
  internetChecksum, readU16, writeU16, writeU32,
} from '../../src/wire/index.js';

describe('Internet checksum', () => {
  it('RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to 0xddf2', () => {
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(b, 0, b.length)).toBe(~0xddf2 & 0xffff);
  });

  it('odd length pads with a zero byte', () => {
    expect(internetChecksum(Uint8Array.from([0x12, 0x34, 0x56]), 0, 3)).toBe(~(0x1234 + 0x5600) & 0xffff);
  });

  it('RFC 1624 16-bit update equals full recomputation (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.nat(), fc.nat(0xffff), (data, pos, word) => {
      const b = Uint8Array.from(data.length % 2 ? [...data, 0] : data);
      const at = (pos % (b.length / 2)) * 2;
      const before = internetChecksum(b, 0, b.length);
      const old = readU16(b, at);
      writeU16(b, at, word);
      expect(checksumUpdate16(before, old, word)).toBe(internetChecksum(b, 0, b.length));
    }), { numRuns: 2000 });
  });

  it('NAT rewrite of address + port with RFC 1624 keeps IP and TCP checksums equal to recomputation (property)', () => {
    fc.assert(fc.property(
      fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffff), fc.nat(0xffff), fc.nat(0xffffffff), fc.nat(0xffff),
      fc.uint8Array({ maxLength: 64 }),
      (src, dst, sport, dport, newDst, newDport, payload) => {
        const pkt = encodeSegment({ src, dst, srcPort: sport, dstPort: dport, seq: 1, ack: 2, flags: TcpFlag.ACK, payload });
        const ipv = Ipv4Packet.checked(pkt);
        const seg = TcpSegment.checked(pkt, 20, pkt.length - 20);
        // Incremental: the address is in the IP header and the TCP pseudo-header; the port only in TCP.
        const ipSum = checksumUpdate32(ipv.checksum, dst, newDst);
        let tcpSum = checksumUpdate32(seg.checksum, dst, newDst);
        tcpSum = checksumUpdate16(tcpSum, dport, newDport);
        writeU32(pkt, IPV4_FIELD.DST, newDst);
        writeU16(pkt, 20 + TCP_FIELD.DST_PORT, newDport);
        expect(ipSum).toBe(ipv.computeChecksum());
        expect(tcpSum).toBe(seg.computeChecksum(src, newDst));
      }), { numRuns: 2000 });
  });
});
