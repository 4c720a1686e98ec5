// Wire-layer costs: zero-copy view reads vs building a representation, and a full checksum
// recomputation vs an RFC 1624 incremental update after a NAT-style rewrite.
import {
  Ipv4Packet, TcpFlag, TcpSegment, checksumUpdate16, checksumUpdate32, encodeSegment, ip, parseIpv4Tcp,
} from '../src/wire/index.js';
import { runSuite, type CaseResult, type SuiteOptions } from './harness.js';

export function benchWire(opts: SuiteOptions): CaseResult[] {
  const pkt = encodeSegment({
    src: ip('198.18.0.1'), dst: ip('198.18.0.2'), srcPort: 44410, dstPort: 7777, seq: 1000, ack: 2000,
    flags: TcpFlag.ACK | TcpFlag.PSH, options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: 1, tsecr: 2 }],
    payload: new Uint8Array(100),
  });
  const ipv = new Ipv4Packet(pkt);
  const seg = new TcpSegment(pkt, 20, pkt.length - 20);
  let sink = 0;
  const a = ip('198.18.0.2');
  const b = ip('127.0.0.1');
  const results = [
    ...runSuite('parse TCP segment', {
      'view (zero-copy getters)': () => {
        ipv.reset(pkt, 0);
        seg.reset(pkt, ipv.payloadOffset, ipv.payloadLength);
        sink ^= seg.srcPort ^ seg.dstPort ^ seg.seq ^ seg.ack ^ seg.flags ^ seg.window ^ ipv.src ^ ipv.dst;
      },
      'repr (parseIpv4Tcp, checksums verified)': () => {
        const r = parseIpv4Tcp(pkt);
        sink ^= r.tcp.srcPort ^ r.tcp.seq;
      },
    }, opts),
    ...runSuite('checksum after DNAT rewrite', {
      'full recomputation (IP + TCP)': () => {
        sink ^= ipv.computeChecksum() ^ seg.computeChecksum(ipv.src, ipv.dst);
      },
      'incremental RFC 1624 (IP + TCP)': () => {
        const c = checksumUpdate32(ipv.checksum, a, b);
        sink ^= c ^ checksumUpdate16(checksumUpdate32(seg.checksum, a, b), 7777, 15001);
      },
    }, opts),
  ];
  if (sink === 0x12345) process.stderr.write('');
  return results;
}
