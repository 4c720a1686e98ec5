// Property tests: parse∘emit = identity over random valid headers, and random bytes never throw
// anything but WireError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IpProtocol, WireError, decodeLinkLayer, emitIpv4Tcp, parseIpv4Tcp, parseTcpOptions, tcpOptionsLength,
  type Ipv4TcpRepr, type TcpOption,
} from '../../src/wire/index.js';

const u32 = fc.nat(0xffffffff);
const u16 = fc.nat(0xffff);

const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((value) => ({ kind: 'mss', value })),
  fc.nat(255).map<TcpOption>((shift) => ({ kind: 'wscale', shift })),
  fc.constant<TcpOption>({ kind: 'sack-permitted' }),
  fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 3 }).map<TcpOption>((blocks) => ({ kind: 'sack', blocks })),
  fc.tuple(u32, u32).map<TcpOption>(([tsval, tsecr]) => ({ kind: 'timestamp', tsval, tsecr })),
  fc.tuple(fc.integer({ min: 9, max: 254 }).filter((t) => t !== 8), fc.uint8Array({ maxLength: 6 }))
    .map<TcpOption>(([type, data]) => ({ kind: 'unknown', type, data })),
);

/** Options padded to a multiple of 4 with NOPs, at most 40 bytes (or an EOL carrying the padding). */
const optionsArb = fc.tuple(fc.array(optionArb, { maxLength: 6 }), fc.boolean()).map(([opts, eolPad]) => {
  const out: TcpOption[] = [];
  let len = 0;
  for (const o of opts) {
    const l = tcpOptionsLength([o]);
    if (len + l > 36) break;
    out.push(o);
    len += l;
  }
  const pad = (4 - (len % 4)) % 4;
  if (pad > 0) {
    if (eolPad) out.push({ kind: 'eol', rest: new Uint8Array(pad - 1) });
    else for (let i = 0; i < pad; i++) out.push({ kind: 'nop' });
  }
  return out;
});

const packetArb: fc.Arbitrary<Ipv4TcpRepr> = fc.record({
  ip: fc.record({
    dscp: fc.nat(63), ecn: fc.nat(3), identification: u16, reservedFlag: fc.boolean(), dontFragment: fc.boolean(),
    moreFragments: fc.constant(false), fragmentOffset: fc.constant(0), ttl: fc.nat(255), protocol: fc.constant<number>(IpProtocol.TCP),
    src: u32, dst: u32,
    options: fc.nat(10).map((n) => new Uint8Array(n * 4).fill(1)), // NOPs
    payloadLength: fc.constant(0), checksum: fc.constant(0),
  }),
  tcp: fc.record({
    srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.nat(0x1ff), reserved: fc.nat(7), window: u16,
    urgentPointer: u16, options: optionsArb, payload: fc.uint8Array({ maxLength: 100 }), checksum: fc.constant(0),
  }),
});

describe('wire properties', () => {
  it('parse(emit(repr)) == repr for random valid IPv4+TCP headers', () => {
    fc.assert(fc.property(packetArb, (repr) => {
      const bytes = emitIpv4Tcp(repr);
      const back = parseIpv4Tcp(bytes);
      expect({ ...back.ip, checksum: 0, payloadLength: 0 }).toEqual({ ...repr.ip, checksum: 0, payloadLength: 0 });
      expect({ ...back.tcp, checksum: 0 }).toEqual({ ...repr.tcp, checksum: 0 });
      // and emit(parse(bytes)) == bytes, byte for byte, with the parsed checksums kept
      expect(emitIpv4Tcp(back, { checksum: 'keep' })).toEqual(bytes);
    }), { numRuns: 1500 });
  });

  it('random bytes never throw anything but WireError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(4), (bytes, lt) => {
      const linkTypes = [1, 101, 113, 228, 276];
      for (const f of [
        () => parseIpv4Tcp(bytes),
        () => parseIpv4Tcp(bytes, 0, { checksum: 'ignore' }),
        () => parseTcpOptions(bytes, 0, bytes.length),
        () => decodeLinkLayer(linkTypes[lt], bytes),
      ]) {
        try { f(); } catch (e) { expect(e).toBeInstanceOf(WireError); }
      }
    }), { numRuns: 5000 });
  });

  it('mutated valid packets never throw anything but WireError', () => {
    fc.assert(fc.property(packetArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(), (repr, flips, cut) => {
      const bytes = emitIpv4Tcp(repr);
      for (const [pos, val] of flips) bytes[pos % bytes.length] = val;
      const truncated = bytes.subarray(0, cut % (bytes.length + 1));
      for (const b of [bytes, truncated]) {
        try { parseIpv4Tcp(b, 0, { checksum: 'ignore' }); } catch (e) { expect(e).toBeInstanceOf(WireError); }
      }
    }), { numRuns: 3000 });
  });
});
