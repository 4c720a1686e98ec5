// Hand-built captures for the replay tests: one conversation that fails each of the four
// tcp_in_window checks and the state table, and a `tcpdump -i any` (SLL2) capture of a router
// that DNATs a forwarded connection, answers one of its own and talks to itself over lo.
import { FileSink, MemorySink, PcapWriter, PcapngWriter } from '../../src/pcap/index.js';
import { LinkType, SllPacketType, TcpFlag, emitSll, encodeSegment, ip, type SegmentSpec } from '../../src/wire/index.js';

export const T0 = 1_700_000_000_000_000_000n;
const { SYN, ACK, PSH, FIN } = TcpFlag;

export const C = ip('10.0.0.2');
export const S = ip('10.0.1.5');

/**
 * Handshake without window scaling (client ISN 1000 win 1000, server ISN 5000 win 2000), after
 * which conntrack holds: original td_end 1001, td_maxend 3001, td_maxwin 1000; reply td_end 5001,
 * td_maxend 6001, td_maxwin 2000. Then one packet per failure:
 *   #4 check I   (seq 10000 beyond td_maxend 3001)
 *   #5 check III (ack 9000 beyond the server's td_end 5001)
 *   #6 check II  (old data: end 1001-9990 below td_end - receiver td_maxwin)
 *   #7 check IV  (ack 5001-100000 below td_end - MAXACKWINDOW)
 *   #8 table     (a SYN/ACK from the client in ESTABLISHED: sIV)
 *   #9 tcp_new   (a FIN on an unknown connection: sIV in sNO)
 *   #10 RST      (seq 900 below the server's td_maxack 1001: "invalid rst")
 */
export function windowChecksCapture(): Uint8Array[] {
  const c = (seq: number, ack: number, flags: number, len = 0, extra: Partial<SegmentSpec> = {}) =>
    encodeSegment({ src: C, dst: S, srcPort: 40000, dstPort: 80, seq: seq >>> 0, ack: ack >>> 0, flags, window: 1000, payload: new Uint8Array(len), ...extra });
  const s = (seq: number, ack: number, flags: number) => encodeSegment({ src: S, dst: C, srcPort: 80, dstPort: 40000, seq, ack, flags, window: 2000 });
  return [
    c(1000, 0, SYN),
    s(5000, 1001, SYN | ACK),
    c(1001, 5001, ACK),
    c(10000, 5001, ACK | PSH, 10),
    c(1001, 9000, ACK),
    c(1001 - 10000, 5001, ACK | PSH, 10),
    c(1001, 5001 - 100000, ACK),
    c(1001, 5001, SYN | ACK),
    encodeSegment({ src: C, dst: S, srcPort: 40001, dstPort: 80, seq: 7, ack: 9, flags: FIN | ACK }),
    c(900, 0, TcpFlag.RST),
  ];
}

export function writeRawPcapng(path: string, packets: Uint8Array[], stepNs = 1_000_000n): void {
  const w = new PcapngWriter(new FileSink(path), { application: 'ctsim test' });
  const i = w.addInterface({ linkType: LinkType.RAW, name: 'host/eth0' });
  packets.forEach((p, k) => w.writePacket({ interfaceId: i, timestampNs: T0 + BigInt(k) * stepNs, data: p }));
  w.close();
}

// The router of the SLL2 capture: eth0 (ifindex 2) towards the client, eth1 (ifindex 3)
// towards the pod, lo (ifindex 1). DNAT 10.96.0.10:80 -> 10.244.1.5:8080.
export const CLIENT = ip('10.0.0.2');
export const ROUTER = ip('10.0.0.1');
export const VIP = ip('10.96.0.10');
export const POD = ip('10.244.1.5');
export const LOOP = ip('127.0.0.1');

interface Frame { tNs: bigint; ifindex: number; outgoing: boolean; pkt: Uint8Array; what: string }

/**
 * What `tcpdump -i any -w` writes on that router (LINKTYPE_LINUX_SLL2, classic pcap). A forwarded
 * packet appears twice: in on its input interface (pre-NAT, TTL 64), 30 µs later out on the other
 * (post-NAT, TTL 63, same IP ID); the router's own connection once; the lo connection twice
 * (sent, then received, same interface).
 */
export function routerFrames(): Frame[] {
  const frames: Frame[] = [];
  let t = T0;
  let id = 100;
  const fwd = (what: string, fromClient: boolean, seq: number, ack: number, flags: number, len = 0) => {
    const ident = id++;
    const pre: SegmentSpec = fromClient
      ? { src: CLIENT, dst: VIP, srcPort: 40000, dstPort: 80, seq, ack, flags, identification: ident, payload: new Uint8Array(len) }
      : { src: POD, dst: CLIENT, srcPort: 8080, dstPort: 40000, seq, ack, flags, identification: ident, payload: new Uint8Array(len) };
    const post: SegmentSpec = fromClient
      ? { ...pre, dst: POD, dstPort: 8080, ttl: 63 }
      : { ...pre, src: VIP, srcPort: 80, ttl: 63 };
    frames.push({ tNs: t, ifindex: fromClient ? 2 : 3, outgoing: false, pkt: encodeSegment(pre), what: `${what} in` });
    frames.push({ tNs: t + 30_000n, ifindex: fromClient ? 3 : 2, outgoing: true, pkt: encodeSegment(post), what: `${what} out` });
    t += 1_000_000n;
  };
  const local = (what: string, out: boolean, seq: number, ack: number, flags: number) => {
    const spec: SegmentSpec = out
      ? { src: ROUTER, dst: CLIENT, srcPort: 5555, dstPort: 22, seq, ack, flags, identification: id++ }
      : { src: CLIENT, dst: ROUTER, srcPort: 22, dstPort: 5555, seq, ack, flags, identification: id++ };
    frames.push({ tNs: t, ifindex: 2, outgoing: out, pkt: encodeSegment(spec), what });
    t += 1_000_000n;
  };
  const loop = (what: string, fromClient: boolean, seq: number, ack: number, flags: number) => {
    const spec: SegmentSpec = fromClient
      ? { src: LOOP, dst: LOOP, srcPort: 41000, dstPort: 6379, seq, ack, flags, identification: id++ }
      : { src: LOOP, dst: LOOP, srcPort: 6379, dstPort: 41000, seq, ack, flags, identification: id++ };
    const pkt = encodeSegment(spec);
    frames.push({ tNs: t, ifindex: 1, outgoing: true, pkt, what: `${what} sent` });
    frames.push({ tNs: t + 5_000n, ifindex: 1, outgoing: false, pkt, what: `${what} received` });
    t += 1_000_000n;
  };
  fwd('SYN', true, 1000, 0, SYN);
  fwd('SYN/ACK', false, 7000, 1001, SYN | ACK);
  fwd('ACK', true, 1001, 7001, ACK);
  fwd('request', true, 1001, 7001, ACK | PSH, 100);
  fwd('response', false, 7001, 1101, ACK | PSH, 300);
  local('router SYN', true, 300, 0, SYN);
  local('router SYN/ACK', false, 900, 301, SYN | ACK);
  loop('lo SYN', true, 50, 0, SYN);
  loop('lo SYN/ACK', false, 80, 51, SYN | ACK);
  fwd('ACK of response', true, 1101, 7301, ACK);
  fwd('FIN', true, 1101, 7301, FIN | ACK);
  fwd('FIN/ACK', false, 7301, 1102, FIN | ACK);
  fwd('last ACK', true, 1102, 7302, ACK);
  return frames;
}

export function sll2Capture(frames: Frame[] = routerFrames()): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.LINUX_SLL2 });
  for (const f of frames) {
    const frame = new Uint8Array(20 + f.pkt.length);
    emitSll({ version: 2, protocol: 0x0800, ifindex: f.ifindex, arphrdType: f.ifindex === 1 ? 772 : 1, packetType: f.outgoing ? SllPacketType.OUTGOING : SllPacketType.HOST, addressLength: 6, address: new Uint8Array(8) }, frame);
    frame.set(f.pkt, 20);
    w.writePacket(f.tNs, frame);
  }
  w.close();
  return sink.bytes();
}

export { writeSyntheticCapture, type SyntheticOptions } from '../../bench/synthetic-capture.js';
