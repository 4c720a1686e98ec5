// A received segment as the TCP layer sees it after tcp_v4_rcv() parsed it once: addresses,
// header fields and the options tcp_parse_options() extracts. Sockets read these fields only.
import { Ipv4Packet, TcpFlag, TcpOptionScan, TcpSegment, scanTcpOptions, seqAdd } from '../../wire/index.js';

/** Sequence numbers are unsigned 32-bit; mss and wscale are -1 when the option is absent. */
export interface SegIn {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  len: number;
  payload: Uint8Array;
  mss: number;
  wscale: number;
  sackOk: boolean;
  hasTs: boolean;
  tsval: number;
  tsecr: number;
}

/**
 * Parses the IPv4 packet at bytes[ipOff] (already validated by ip_rcv) into a SegIn. Throws a
 * WireError when the TCP header does not fit (the host drops the packet).
 */
export function parseSegIn(bytes: Uint8Array, ipOff: number, scan: TcpOptionScan): SegIn {
  const ip = new Ipv4Packet(bytes, ipOff);
  const seg = TcpSegment.checked(bytes, ip.payloadOffset, ip.payloadLength);
  const o = scanTcpOptions(seg.buf, seg.optionsOffset, seg.optionsLength, scan);
  return {
    src: ip.src, dst: ip.dst, sport: seg.srcPort, dport: seg.dstPort, seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window,
    len: seg.payloadLength, payload: seg.buf.subarray(seg.payloadOffset, seg.off + seg.len),
    mss: o.mss, wscale: o.wscale, sackOk: o.sackPermitted, hasTs: o.hasTimestamp, tsval: o.tsval >>> 0, tsecr: o.tsecr >>> 0,
  };
}

/** seq + len, counting SYN and FIN (TCP_SKB_CB(skb)->end_seq). */
export function segEndSeq(seg: Pick<SegIn, 'seq' | 'len' | 'flags'>): number {
  return seqAdd(seg.seq, seg.len + (seg.flags & TcpFlag.SYN ? 1 : 0) + (seg.flags & TcpFlag.FIN ? 1 : 0));
}
