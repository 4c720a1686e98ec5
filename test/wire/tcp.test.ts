import { describe, expect, it } from 'vitest';
import {
  Ipv4Packet, TCP_FIELD, TcpFlag, TcpSegment, readU32, writeU16, writeU32, WireError, emitIpv4Tcp, emitTcp, formatTcp, ip, parseIpv4Tcp, parseTcp,
  tcpFlagsLong, tcpFlagsShort, type TcpRepr,
} from '../../src/wire/index.js';
import { DATA, SYN } from './golden.js';

const A = ip('198.18.0.1');
const B = ip('198.18.0.2');

const synRepr: TcpRepr = {
  srcPort: 44410, dstPort: 7777, seq: 0x12345678, ack: 0, flags: TcpFlag.SYN, reserved: 0, window: 64240,
  urgentPointer: 0, checksum: 0xb5b3, payload: new Uint8Array(0),
  options: [
    { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: 0x0badcafe, tsecr: 0 },
    { kind: 'nop' }, { kind: 'wscale', shift: 7 },
  ],
};

describe('TCP golden bytes', () => {
  it('deconstruct: view getters read the golden SYN', () => {
    const s = TcpSegment.checked(SYN, 20, 40);
    expect(s.srcPort).toBe(44410);
    expect(s.dstPort).toBe(7777);
    expect(s.seq).toBe(0x12345678);
    expect(s.ack).toBe(0);
    expect(s.dataOffset).toBe(10);
    expect(s.flags).toBe(TcpFlag.SYN);
    expect(s.syn && !s.ackFlag && !s.fin && !s.rst).toBe(true);
    expect(s.window).toBe(64240);
    expect(s.checksum).toBe(0xb5b3);
    expect(s.optionsLength).toBe(20);
    expect(s.payloadLength).toBe(0);
    expect(s.verifyChecksum(A, B)).toBe(true);
    expect(s.verifyChecksum(B, A)).toBe(true); // the pseudo-header sum is symmetric in src/dst
    expect(s.verifyChecksum(A, ip('198.18.0.3'))).toBe(false);
    expect(s.computeChecksum(A, B)).toBe(0xb5b3);
  });

  it('deconstruct: all nine flags, including AE, and seq near 2^32', () => {
    const s = TcpSegment.checked(DATA, 20, 25);
    expect(s.flags).toBe(TcpFlag.AE | TcpFlag.CWR | TcpFlag.ECE | TcpFlag.ACK | TcpFlag.PSH);
    expect(tcpFlagsShort(s.flags)).toBe('PEWN.');
    expect(tcpFlagsLong(s.flags)).toBe('PSH,ACK,ECE,CWR,AE');
    expect(s.seq).toBe(0xfffffffe);
    expect(s.payloadLength).toBe(5);
    expect(s.verifyChecksum(B, A)).toBe(true);
  });

  it('construct: setters + fillChecksum restore the golden bytes', () => {
    const b = SYN.slice();
    const s = new TcpSegment(b, 20, 40);
    s.srcPort = 1;
    s.dstPort = 2;
    s.fillChecksum(A, B);
    s.srcPort = 44410;
    s.dstPort = 7777;
    s.fillChecksum(A, B);
    expect(Array.from(b)).toEqual(Array.from(SYN));
  });

  it('re-pointed views read and write the buffer they were last given (at any byteOffset), never the one before', () => {
    // The views read 16- and 32-bit fields through a DataView kept with the buffer: it must follow
    // reset() to another buffer, and a subarray's fields sit at its own offset 0.
    const ring = new Uint8Array(8 + SYN.length * 2);
    ring.set(SYN, 8 + SYN.length);
    const other = ring.subarray(8 + SYN.length); // byteOffset 68
    const seg = new TcpSegment(SYN, 20, 40);
    const ipv = new Ipv4Packet(SYN, 0);
    expect([seg.srcPort, seg.seq, ipv.src, ipv.totalLength]).toEqual([44410, 0x12345678, A >>> 0, 60]);
    writeU32(other, 24, 0x0a0b0c0d); // seq
    writeU16(other, 20, 1024); // source port
    writeU32(other, 12, B); // source address
    seg.reset(other, 20, 40);
    ipv.reset(other, 0);
    expect([seg.srcPort, seg.dstPort, seg.seq, seg.window, seg.portsI32, ipv.src, ipv.dstI32, ipv.totalLength]).toEqual([1024, 7777, 0x0a0b0c0d, 64240, (1024 << 16) | 7777, B >>> 0, B | 0, 60]);
    seg.seq = 0xfffffffe;
    ipv.dst = A;
    expect([readU32(other, 24), readU32(other, 16), readU32(SYN, 24)]).toEqual([0xfffffffe, A >>> 0, 0x12345678]);
    expect(seg.buf).toBe(other);
    seg.reset(SYN, 20, 40);
    expect(seg.seq).toBe(0x12345678);
  });

  it('parse: bytes -> repr', () => {
    expect(parseTcp(TcpSegment.checked(SYN, 20, 40), { src: A, dst: B })).toEqual(synRepr);
  });

  it('emit: repr -> bytes', () => {
    const b = new Uint8Array(40);
    expect(emitTcp(synRepr, b, 0, { src: A, dst: B })).toBe(40);
    expect(Array.from(b)).toEqual(Array.from(SYN.subarray(20)));
  });

  it('whole packet: parseIpv4Tcp then emitIpv4Tcp gives the same bytes', () => {
    for (const pkt of [SYN, DATA]) {
      const repr = parseIpv4Tcp(pkt);
      expect(Array.from(emitIpv4Tcp(repr))).toEqual(Array.from(pkt));
      expect(Array.from(emitIpv4Tcp(repr, { checksum: 'keep' }))).toEqual(Array.from(pkt));
    }
    expect(new TextDecoder().decode(parseIpv4Tcp(DATA).tcp.payload)).toBe('hello');
  });

  it('formats one line', () => {
    expect(formatTcp(synRepr)).toBe('TCP src=44410 dst=7777 seq=305419896 ack=0 win=64240 len=0 flags=S [mss 1460,sackOK,TS val 195939070 ecr 0,wscale 7]');
    expect(TCP_FIELD.CHECKSUM).toBe(16);
  });
});

describe('TCP bad input', () => {
  const expectWire = (f: () => unknown, kind: string, offset?: number) => {
    try {
      f();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WireError);
      expect((e as WireError).kind).toBe(kind);
      if (offset !== undefined) expect((e as WireError).offset).toBe(offset);
    }
  };

  it('segment shorter than 20 bytes', () => expectWire(() => TcpSegment.checked(SYN, 20, 19), 'truncated', 20));
  it('data offset below 5', () => {
    const b = SYN.slice();
    b[32] = 0x40;
    expectWire(() => TcpSegment.checked(b, 20, 40), 'bad-data-offset', 32);
  });
  it('data offset beyond the segment', () => {
    const b = SYN.slice();
    b[32] = 0xf0;
    expectWire(() => TcpSegment.checked(b, 20, 40), 'bad-data-offset', 32);
  });
  it('option length 0', () => {
    const b = SYN.slice();
    b[41] = 0; // MSS length byte
    expectWire(() => parseTcp(new TcpSegment(b, 20, 40), { checksum: 'ignore' }), 'malformed-option', 41);
  });
  it('option length 1', () => {
    const b = SYN.slice();
    b[41] = 1;
    expectWire(() => parseTcp(new TcpSegment(b, 20, 40), { checksum: 'ignore' }), 'malformed-option', 41);
  });
  it('option overrunning the option area', () => {
    const b = SYN.slice();
    b[58] = 9; // the final WS option (at byte 57) claims 9 bytes
    expectWire(() => parseTcp(new TcpSegment(b, 20, 40), { checksum: 'ignore' }), 'malformed-option', 58);
  });
  it('bad TCP checksum', () => {
    const b = SYN.slice();
    b[59] = 8; // window scale 7 -> 8
    expectWire(() => parseIpv4Tcp(b), 'bad-checksum', 36);
  });
  it('IPv4 fragment is reported, not parsed as TCP', () => {
    const b = SYN.slice();
    b[6] = 0x20;
    expectWire(() => parseIpv4Tcp(b, 0, { checksum: 'ignore' }), 'bad-field', 6);
  });
  it('unencodable values', () => {
    const buf = new Uint8Array(80);
    expectWire(() => emitTcp({ ...synRepr, srcPort: 70000 }, buf, 0, { src: A, dst: B }), 'bad-field');
    expectWire(() => emitTcp({ ...synRepr, options: [{ kind: 'mss', value: 1 }, { kind: 'nop' }] }, buf, 0, { src: A, dst: B }), 'bad-field');
    expectWire(() => emitTcp(synRepr, buf, 0), 'bad-field');
  });
});
