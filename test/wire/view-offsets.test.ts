// The views' accessors index the bytes with literal offsets (V8 inlines them only while they are
// that small: byte-view.ts says why); the one place the offsets are defined is the buffer-layout
// structs behind IPV4_FIELD and TCP_FIELD. Every accessor is checked against them here, on bytes
// that differ everywhere, so a literal that drifts from the layout fails.
import { describe, expect, it } from 'vitest';
import { IPV4_FIELD, Ipv4Packet, TCP_FIELD, TcpSegment, readI32, readU16, readU32 } from '../../src/wire/index.js';

/** 8 bytes of slack, then 60 bytes that all differ: a view at offset 8 of a subarray at offset 4. */
function bytes(): Uint8Array {
  const b = new Uint8Array(72);
  for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) & 0xff;
  return b.subarray(4);
}
const AT = 8;

describe('view accessors read and write where the layouts say', () => {
  it('Ipv4Packet', () => {
    const b = bytes();
    const v = new Ipv4Packet(b, AT);
    const u16 = (f: number) => readU16(b, AT + f);
    expect(v.totalLength).toBe(u16(IPV4_FIELD.TOTAL_LENGTH));
    expect(v.identification).toBe(u16(IPV4_FIELD.IDENTIFICATION));
    expect(v.flagsFragment).toBe(u16(IPV4_FIELD.FLAGS_FRAGMENT));
    expect(v.checksum).toBe(u16(IPV4_FIELD.CHECKSUM));
    expect(v.ttl).toBe(b[AT + IPV4_FIELD.TTL]);
    expect(v.protocol).toBe(b[AT + IPV4_FIELD.PROTOCOL]);
    expect(v.dscp).toBe(b[AT + IPV4_FIELD.DSCP_ECN] >>> 2);
    expect(v.ecn).toBe(b[AT + IPV4_FIELD.DSCP_ECN] & 3);
    expect(v.ihl).toBe(b[AT + IPV4_FIELD.VERSION_IHL] & 15);
    expect(v.src).toBe(readU32(b, AT + IPV4_FIELD.SRC));
    expect(v.dst).toBe(readU32(b, AT + IPV4_FIELD.DST));
    expect(v.srcI32).toBe(readI32(b, AT + IPV4_FIELD.SRC));
    expect(v.dstI32).toBe(readI32(b, AT + IPV4_FIELD.DST));
    const sets: Array<[keyof Ipv4Packet & string, number, () => number]> = [
      ['totalLength', 0xa1b2, () => u16(IPV4_FIELD.TOTAL_LENGTH)],
      ['identification', 0xc3d4, () => u16(IPV4_FIELD.IDENTIFICATION)],
      ['flagsFragment', 0x5e6f, () => u16(IPV4_FIELD.FLAGS_FRAGMENT)],
      ['checksum', 0x7a8b, () => u16(IPV4_FIELD.CHECKSUM)],
      ['ttl', 0x9c, () => b[AT + IPV4_FIELD.TTL]],
      ['protocol', 0x2d, () => b[AT + IPV4_FIELD.PROTOCOL]],
      ['src', 0xc6120001, () => readU32(b, AT + IPV4_FIELD.SRC)],
      ['dst', 0xc6130002, () => readU32(b, AT + IPV4_FIELD.DST)],
    ];
    for (const [field, value, read] of sets) {
      (v as unknown as Record<string, number>)[field] = value;
      expect(read(), field).toBe(value);
    }
  });

  it('TcpSegment', () => {
    const b = bytes();
    const s = new TcpSegment(b, AT, 40);
    const u16 = (f: number) => readU16(b, AT + f);
    expect(s.srcPort).toBe(u16(TCP_FIELD.SRC_PORT));
    expect(s.dstPort).toBe(u16(TCP_FIELD.DST_PORT));
    expect(s.portsI32).toBe(readI32(b, AT + TCP_FIELD.SRC_PORT));
    expect(s.seq).toBe(readU32(b, AT + TCP_FIELD.SEQ));
    expect(s.ack).toBe(readU32(b, AT + TCP_FIELD.ACK));
    expect(s.seqI32).toBe(readI32(b, AT + TCP_FIELD.SEQ));
    expect(s.ackI32).toBe(readI32(b, AT + TCP_FIELD.ACK));
    expect(s.dataOffset).toBe(b[AT + TCP_FIELD.OFFSET] >>> 4);
    expect(s.flags).toBe(b[AT + TCP_FIELD.FLAGS] | ((b[AT + TCP_FIELD.OFFSET] & 1) << 8));
    expect(s.window).toBe(u16(TCP_FIELD.WINDOW));
    expect(s.checksum).toBe(u16(TCP_FIELD.CHECKSUM));
    expect(s.urgentPointer).toBe(u16(TCP_FIELD.URGENT));
    const sets: Array<[keyof TcpSegment & string, number, () => number]> = [
      ['srcPort', 0xa1b2, () => u16(TCP_FIELD.SRC_PORT)],
      ['dstPort', 0xc3d4, () => u16(TCP_FIELD.DST_PORT)],
      ['seq', 0xfedcba98, () => readU32(b, AT + TCP_FIELD.SEQ)],
      ['ack', 0x01234567, () => readU32(b, AT + TCP_FIELD.ACK)],
      ['window', 0x5e6f, () => u16(TCP_FIELD.WINDOW)],
      ['checksum', 0x7a8b, () => u16(TCP_FIELD.CHECKSUM)],
      ['urgentPointer', 0x9cad, () => u16(TCP_FIELD.URGENT)],
      ['flags', 0x1ab, () => b[AT + TCP_FIELD.FLAGS] | ((b[AT + TCP_FIELD.OFFSET] & 1) << 8)],
    ];
    for (const [field, value, read] of sets) {
      (s as unknown as Record<string, number>)[field] = value;
      expect(read(), field).toBe(value);
    }
  });
});
