import { describe, expect, it } from 'vitest';
import {
  EtherType, LinkType, SllPacketType, WireError, decodeLinkLayer, emitEthernet, emitSll, parseEthernet, parseSll, parseSll2,
  type EthernetRepr, type SllRepr,
} from '../../src/wire/index.js';
import { SYN } from './golden.js';

function frame(header: Uint8Array, hl: number): Uint8Array {
  const f = new Uint8Array(hl + SYN.length);
  f.set(header.subarray(0, hl));
  f.set(SYN, hl);
  return f;
}

describe('link layers', () => {
  it('Ethernet II: golden header, parse/emit inverse, IPv4 located', () => {
    const golden = Uint8Array.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    const { repr, headerLength } = parseEthernet(golden);
    expect(repr).toEqual({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: EtherType.IPV4 });
    const b = new Uint8Array(14);
    expect(emitEthernet(repr, b)).toBe(14);
    expect(b).toEqual(golden);
    expect(decodeLinkLayer(LinkType.ETHERNET, frame(golden, headerLength))).toMatchObject({ networkOffset: 14, etherType: 0x0800 });
  });

  it('Ethernet with one 802.1Q tag', () => {
    const repr: EthernetRepr = { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', vlan: { pcp: 5, dei: true, vid: 100 }, etherType: EtherType.IPV4 };
    const b = new Uint8Array(18);
    expect(emitEthernet(repr, b)).toBe(18);
    expect(Array.from(b.subarray(12))).toEqual([0x81, 0x00, 0xb0, 0x64, 0x08, 0x00]);
    expect(parseEthernet(b).repr).toEqual(repr);
    expect(decodeLinkLayer(LinkType.ETHERNET, frame(b, 18))).toMatchObject({ networkOffset: 18, etherType: 0x0800, vlan: { vid: 100 } });
  });

  it('Linux SLL v1 and v2: parse/emit inverse, direction and ifindex', () => {
    const v1: SllRepr = { version: 1, packetType: SllPacketType.OUTGOING, arphrdType: 772, addressLength: 6, address: new Uint8Array(8), protocol: 0x0800 };
    const b1 = new Uint8Array(16);
    expect(emitSll(v1, b1)).toBe(16);
    expect(parseSll(b1).repr).toEqual(v1);
    expect(decodeLinkLayer(LinkType.LINUX_SLL, frame(b1, 16))).toMatchObject({ networkOffset: 16, outgoing: true });
    const v2: SllRepr = { version: 2, protocol: 0x0800, ifindex: 3, arphrdType: 1, packetType: SllPacketType.HOST, addressLength: 6, address: Uint8Array.from([2, 0, 0, 0, 0, 1, 0, 0]) };
    const b2 = new Uint8Array(20);
    expect(emitSll(v2, b2)).toBe(20);
    expect(Array.from(b2.subarray(0, 12))).toEqual([0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6]);
    expect(parseSll2(b2).repr).toEqual(v2);
    expect(decodeLinkLayer(LinkType.LINUX_SLL2, frame(b2, 20))).toMatchObject({ networkOffset: 20, ifindex: 3, outgoing: false });
  });

  it('raw IP and IPv4 link types', () => {
    expect(decodeLinkLayer(LinkType.RAW, SYN)).toEqual({ networkOffset: 0, etherType: 0x0800 });
    expect(decodeLinkLayer(LinkType.IPV4, SYN)).toEqual({ networkOffset: 0, etherType: 0x0800 });
  });

  it('truncated headers and unknown link types are WireErrors', () => {
    expect(() => decodeLinkLayer(LinkType.ETHERNET, new Uint8Array(13))).toThrow(WireError);
    expect(() => decodeLinkLayer(LinkType.LINUX_SLL2, new Uint8Array(19))).toThrow(WireError);
    expect(() => decodeLinkLayer(LinkType.LINUX_SLL, new Uint8Array(15))).toThrow(WireError);
    expect(() => decodeLinkLayer(LinkType.RAW, new Uint8Array(0))).toThrow(WireError);
    expect(() => decodeLinkLayer(147, SYN)).toThrow(/not decoded/);
  });
});
