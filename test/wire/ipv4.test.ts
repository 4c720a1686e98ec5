import { describe, expect, it } from 'vitest';
import {
  IPV4_FIELD, Ipv4Packet, WireError, emitIpv4, formatIpv4, ip, parseIpv4, type Ipv4Repr, checkIpv4,
} from '../../src/wire/index.js';
import { SYN } from './golden.js';

const reprOfSyn: Ipv4Repr = {
  dscp: 0, ecn: 0, identification: 0x1c46, reservedFlag: false, dontFragment: true, moreFragments: false,
  fragmentOffset: 0, ttl: 64, protocol: 6, src: ip('198.18.0.1'), dst: ip('198.18.0.2'),
  options: new Uint8Array(0), payloadLength: 40, checksum: 0x924e,
};

describe('IPv4 golden bytes (smoltcp-style symmetric tests)', () => {
  it('deconstruct: view getters read the golden header', () => {
    const v = Ipv4Packet.checked(SYN);
    expect(v.version).toBe(4);
    expect(v.headerLength).toBe(20);
    expect(v.totalLength).toBe(60);
    expect(v.identification).toBe(0x1c46);
    expect(v.dontFragment).toBe(true);
    expect(v.moreFragments).toBe(false);
    expect(v.isFragment).toBe(false);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(6);
    expect(v.checksum).toBe(0x924e);
    expect(v.src).toBe(ip('198.18.0.1'));
    expect(v.dst).toBe(ip('198.18.0.2'));
    expect(v.verifyChecksum()).toBe(true);
    expect(v.computeChecksum()).toBe(0x924e);
  });

  it('construct: view setters + fillChecksum reproduce the golden header', () => {
    const b = SYN.slice();
    const v = new Ipv4Packet(b);
    v.src = ip('10.0.0.1');
    v.fillChecksum();
    expect(v.verifyChecksum()).toBe(true);
    v.src = ip('198.18.0.1');
    v.fillChecksum();
    expect(Array.from(b)).toEqual(Array.from(SYN));
  });

  it('parse: bytes -> repr', () => {
    expect(parseIpv4(Ipv4Packet.checked(SYN))).toEqual(reprOfSyn);
  });

  it('emit: repr -> bytes', () => {
    const b = new Uint8Array(20);
    expect(emitIpv4(reprOfSyn, b)).toBe(20);
    expect(Array.from(b)).toEqual(Array.from(SYN.subarray(0, 20)));
  });

  it('field offsets come from the buffer-layout declaration', () => {
    expect(IPV4_FIELD).toMatchObject({ TOTAL_LENGTH: 2, FLAGS_FRAGMENT: 6, TTL: 8, PROTOCOL: 9, CHECKSUM: 10, SRC: 12, DST: 16 });
  });

  it('formats one line', () => {
    expect(formatIpv4(reprOfSyn)).toBe('IPv4 src=198.18.0.1 dst=198.18.0.2 proto=6 len=60 id=7238 ttl=64');
  });

  it('recognises and reports fragments without reassembling', () => {
    const b = SYN.slice();
    b[6] = 0x20; // MF, offset 0
    b[7] = 0x00;
    const v = new Ipv4Packet(b);
    expect(v.isFragment).toBe(true);
    expect(v.moreFragments).toBe(true);
    b[6] = 0x00;
    b[7] = 0x05; // offset 5 * 8 = 40
    expect(v.isFragment).toBe(true);
    expect(v.fragmentOffset).toBe(5);
    v.fillChecksum();
    expect(formatIpv4(parseIpv4(v))).toContain('frag(off=40)');
  });

  it('keeps options as bytes', () => {
    const repr: Ipv4Repr = { ...reprOfSyn, payloadLength: 0, options: Uint8Array.from([0x94, 0x04, 0x00, 0x00]) }; // router alert
    const b = new Uint8Array(24);
    emitIpv4(repr, b);
    const back = parseIpv4(Ipv4Packet.checked(b, 0, 24), { checksum: 'verify' });
    expect(back.options).toEqual(repr.options);
  });
});

describe('IPv4 bad input gives typed WireErrors with offsets', () => {
  const cases: Array<[string, (b: Uint8Array) => Uint8Array, string, number]> = [
    ['buffer shorter than 20 bytes', (b) => b.slice(0, 19), 'truncated', 0],
    ['version 6', (b) => { b[0] = 0x65; return b; }, 'bad-version', 0],
    ['IHL below 5', (b) => { b[0] = 0x44; return b; }, 'bad-ihl', 0],
    ['IHL beyond buffer', (b) => { b[0] = 0x4f; return b.slice(0, 40); }, 'truncated', 0],
    ['total length below header', (b) => { b[2] = 0; b[3] = 19; return b; }, 'bad-total-length', 2],
    ['total length beyond buffer', (b) => b.slice(0, 59), 'truncated', 2],
  ];
  for (const [name, mutate, kind, offset] of cases) {
    it(name, () => {
      const b = mutate(SYN.slice());
      const err = checkIpv4(b, 0, b.length);
      expect(err).toBeInstanceOf(WireError);
      expect(err?.kind).toBe(kind);
      expect(err?.offset).toBe(offset);
      expect(() => Ipv4Packet.checked(b)).toThrow(WireError);
    });
  }

  it('bad header checksum', () => {
    const b = SYN.slice();
    b[11] ^= 1;
    try {
      parseIpv4(new Ipv4Packet(b));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WireError);
      expect((e as WireError).kind).toBe('bad-checksum');
      expect((e as WireError).offset).toBe(10);
    }
    expect(parseIpv4(new Ipv4Packet(b), { checksum: 'ignore' }).checksum).toBe(0x924f);
  });

  it('unencodable repr values', () => {
    const b = new Uint8Array(64);
    expect(() => emitIpv4({ ...reprOfSyn, ttl: 256 }, b)).toThrow(WireError);
    expect(() => emitIpv4({ ...reprOfSyn, options: new Uint8Array(3) }, b)).toThrow(/multiple of 4/);
    expect(() => emitIpv4({ ...reprOfSyn, payloadLength: 70000 }, b)).toThrow(WireError);
  });
});
