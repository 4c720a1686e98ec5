// The decode-once packet view (link layer + IPv4 + TCP), the view setters that build a packet
// field by field, the allocation-free structure checks, and the one-line packet summary.
import { describe, expect, it } from 'vitest';
import {
  EtherType, IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, Ipv4Problem, LinkLayerView, LinkType, PacketView, SllPacketType, TcpFlag,
  TcpProblem, TcpSegment, WireError, checkIpv4, emitSll, ip, ipv4Problem, packetSummary, tcpProblem,
} from '../../src/wire/index.js';
import { DATA, SYN } from './golden.js';

function withSll2(packet: Uint8Array, ifindex: number, outgoing: boolean): Uint8Array {
  const f = new Uint8Array(20 + packet.length);
  emitSll({ version: 2, protocol: EtherType.IPV4, ifindex, arphrdType: 1, packetType: outgoing ? SllPacketType.OUTGOING : SllPacketType.HOST, addressLength: 6, address: new Uint8Array(8) }, f);
  f.set(packet, 20);
  return f;
}

describe('PacketView', () => {
  it('decodes the golden SYN once: IPv4 and TCP views, every structural fact true', () => {
    const v = new PacketView().decodeIpv4(SYN);
    expect([v.ipv4Header, v.ipv4, v.hasPorts, v.hasTcpHeader, v.tcpValid]).toEqual([true, true, true, true, true]);
    expect([v.ip.src, v.ip.dst, v.ip.protocol, v.ip.totalLength]).toEqual([ip('198.18.0.1'), ip('198.18.0.2'), IpProtocol.TCP, 60]);
    expect([v.tcp.srcPort, v.tcp.dstPort, v.tcp.seq, v.tcp.flags, v.tcp.payloadLength]).toEqual([44410, 7777, 0x12345678, TcpFlag.SYN, 0]);
    expect(v.ipv4Error()).toBeNull();
    expect(v.tcpError()).toBeNull();
  });

  it('reads a captured frame through its link layer (SLL2: interface index and direction)', () => {
    const v = new PacketView().decodeFrame(LinkType.LINUX_SLL2, withSll2(DATA, 3, true));
    expect(v.linkError).toBeNull();
    expect([v.link.networkOffset, v.link.etherType, v.link.ifindex, v.link.outgoing]).toEqual([20, EtherType.IPV4, 3, true]);
    expect([v.ipv4, v.tcp.srcPort, v.tcp.seq, v.tcp.payloadLength]).toEqual([true, 7777, 0xfffffffe, 5]);
  });

  it('says why a frame or a packet cannot be read, and re-points cleanly at the next one', () => {
    const v = new PacketView();
    v.decodeFrame(LinkType.LINUX_SLL2, new Uint8Array(19));
    expect(v.linkError).toBeInstanceOf(WireError);
    expect(v.linkError!.message).toBe('truncated at byte 0: SLL2 header needs 20 bytes, have 19');
    expect([v.ipv4Header, v.ipv4, v.hasPorts]).toEqual([false, false, false]);
    v.decodeFrame(LinkType.RAW, SYN);
    expect([v.linkError, v.ipv4, v.tcp.srcPort]).toEqual([null, true, 44410]);
    const bad = SYN.slice();
    new Ipv4Packet(bad).ihl = 4;
    v.decodeIpv4(bad);
    expect([v.ipv4Header, v.ipv4, v.hasPorts]).toEqual([false, false, false]);
    expect(v.ipv4Error()!.message).toBe('bad-ihl at byte 0: IHL 4 is below 5');
  });

  it('a capture cut by snaplen keeps its headers readable, but is not a whole packet', () => {
    const v = new PacketView().decodeIpv4(SYN.subarray(0, 40));
    expect([v.ipv4Header, v.ipv4, v.hasPorts]).toEqual([true, false, false]);
    expect([v.capturedTcpBytes, v.tcp.len, v.tcp.seq, v.tcp.flags]).toEqual([20, 40, 0x12345678, TcpFlag.SYN]);
    expect(v.ipv4Error()!.kind).toBe('truncated');
  });

  it('a conntrack tuple needs unfragmented TCP with 8 bytes of ports; a whole header needs 20', () => {
    const v = new PacketView();
    const ports = SYN.slice(0, 28);
    new Ipv4Packet(ports).totalLength = 28;
    v.decodeIpv4(ports);
    expect([v.ipv4, v.hasPorts, v.hasTcpHeader, v.tcpValid]).toEqual([true, true, false, false]);
    const frag = SYN.slice();
    new Ipv4Packet(frag).flagsFragment = 0x2000; // MF
    v.decodeIpv4(frag);
    expect([v.ipv4, v.hasPorts, v.hasTcpHeader]).toEqual([true, false, false]);
    const doff = SYN.slice();
    new TcpSegment(doff, 20).dataOffset = 15; // 60 bytes: beyond the 40-byte segment
    v.decodeIpv4(doff);
    expect([v.hasTcpHeader, v.tcpValid]).toEqual([true, false]);
    expect(v.tcpError()!.kind).toBe('bad-data-offset');
  });
});

describe('LinkLayerView', () => {
  it('decodes an 802.1Q-tagged Ethernet frame in place, and its info() is decodeLinkLayer\'s object', () => {
    const f = new Uint8Array(18 + SYN.length);
    f.set([0x81, 0x00, 0xb0, 0x64, 0x08, 0x00], 12);
    f.set(SYN, 18);
    const l = new LinkLayerView();
    expect(l.decode(LinkType.ETHERNET, f)).toBeNull();
    expect(l.info()).toEqual({ networkOffset: 18, etherType: EtherType.IPV4, vlan: { pcp: 5, dei: true, vid: 100 } });
    expect(l.decode(LinkType.RAW, SYN)).toBeNull();
    expect(l.info()).toEqual({ networkOffset: 0, etherType: EtherType.IPV4 });
    expect(l.decode(147, SYN)!.message).toMatch(/LINKTYPE\(147\) is not decoded/);
  });
});

describe('view setters build the golden packets field by field', () => {
  it('IPv4 + TCP of the golden SYN', () => {
    const b = new Uint8Array(SYN.length);
    const h = new Ipv4Packet(b);
    h.version = 4;
    h.headerLength = IPV4_MIN_HEADER_LEN;
    h.totalLength = 60;
    h.identification = 0x1c46;
    h.flagsFragment = 0x4000;
    h.ttl = 64;
    h.protocol = IpProtocol.TCP;
    h.src = ip('198.18.0.1');
    h.dst = ip('198.18.0.2');
    h.fillChecksum();
    const t = new TcpSegment(b, 20, 40);
    t.srcPort = 44410;
    t.dstPort = 7777;
    t.seq = 0x12345678;
    t.ack = 0;
    t.dataOffset = 10;
    t.flags = TcpFlag.SYN;
    t.window = 64240;
    t.urgentPointer = 0;
    b.set(SYN.subarray(40), 40); // the options
    t.fillChecksum(h.src, h.dst);
    expect(b).toEqual(SYN);
  });

  it('DSCP/ECN, the AE flag and the reserved bits of the golden data segment', () => {
    const b = DATA.slice();
    const h = new Ipv4Packet(b);
    h.dscp = 5;
    h.ecn = 1;
    expect([h.dscp, h.ecn]).toEqual([5, 1]);
    h.dscp = 0;
    h.ecn = 2;
    const t = new TcpSegment(b, 20, 25);
    t.reserved = 7;
    expect([t.reserved, t.dataOffset, t.flags & TcpFlag.AE]).toEqual([7, 5, TcpFlag.AE]);
    t.reserved = 0;
    t.flags = TcpFlag.CWR | TcpFlag.ECE | TcpFlag.ACK | TcpFlag.PSH;
    expect(t.flags & TcpFlag.AE).toBe(0);
    t.flags |= TcpFlag.AE;
    expect(b).toEqual(DATA);
    expect([t.seqI32, t.ackI32, h.srcI32]).toEqual([-2, 0x12345679, ip('198.18.0.2') | 0]);
  });
});

describe('allocation-free structure checks agree with the WireError ones', () => {
  it('ipv4Problem / checkIpv4 and tcpProblem / checkTcp', () => {
    const cases: Array<[(b: Uint8Array) => Uint8Array, number]> = [
      [(b) => b, Ipv4Problem.NONE],
      [(b) => b.subarray(0, 19), Ipv4Problem.TRUNCATED],
      [(b) => { new Ipv4Packet(b).version = 6; return b; }, Ipv4Problem.BAD_VERSION],
      [(b) => { new Ipv4Packet(b).ihl = 3; return b; }, Ipv4Problem.BAD_IHL],
      [(b) => { new Ipv4Packet(b).ihl = 15; return b.subarray(0, 40); }, Ipv4Problem.IHL_BEYOND],
      [(b) => { new Ipv4Packet(b).totalLength = 19; return b; }, Ipv4Problem.TOTAL_BELOW_HEADER],
      [(b) => { new Ipv4Packet(b).totalLength = 61; return b; }, Ipv4Problem.TOTAL_BEYOND],
    ];
    for (const [edit, problem] of cases) {
      const b = edit(SYN.slice());
      expect(ipv4Problem(b, 0, b.length)).toBe(problem);
      expect(checkIpv4(b, 0, b.length) === null).toBe(problem === Ipv4Problem.NONE);
    }
    expect(tcpProblem(SYN, 20, 40)).toBe(TcpProblem.NONE);
    expect(tcpProblem(SYN, 20, 19)).toBe(TcpProblem.TRUNCATED);
    const small = SYN.slice();
    new TcpSegment(small, 20).dataOffset = 4;
    expect(tcpProblem(small, 20, 40)).toBe(TcpProblem.DATA_OFFSET_SMALL);
  });
});

describe('packetSummary', () => {
  it('one line in tcpdump\'s words; ack only with the ACK flag', () => {
    expect(packetSummary(SYN)).toBe('198.18.0.1:44410 > 198.18.0.2:7777 [S] seq 305419896');
    expect(packetSummary(DATA)).toBe('198.18.0.2:7777 > 198.18.0.1:44410 [PEWN.] seq 4294967294 ack 305419897');
    expect(new PacketView().decodeIpv4(SYN).summary()).toBe(packetSummary(SYN));
  });

  it('what is not a whole TCP header gets addresses and protocol, less than an IPv4 header gets nothing', () => {
    const udp = SYN.slice();
    new Ipv4Packet(udp).protocol = IpProtocol.UDP;
    expect(packetSummary(udp)).toBe('198.18.0.1 > 198.18.0.2 proto 17');
    expect(packetSummary(SYN.subarray(0, 30))).toBe('198.18.0.1 > 198.18.0.2 proto 6');
    expect(packetSummary(SYN.subarray(0, 19))).toBe('(short packet)');
  });
});
