// A captured or emulated packet decoded once: link layer, IPv4 header and TCP header as reusable
// zero-copy views, with the structural facts every consumer asks about (is it valid IPv4, does it
// carry a conntrack tuple, is the TCP header whole). decode*() re-point the same view at the next
// packet and allocate nothing; getters read straight from the bytes (views in ipv4.ts, tcp.ts).
import { EtherType } from './ethernet.js';
import { formatIpv4Address } from './ipv4-address.js';
import { IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, checkIpv4, ipv4Problem, Ipv4Problem } from './ipv4.js';
import { LinkLayerView } from './link-layer.js';
import { TCP_MIN_HEADER_LEN, TcpFlag, TcpProblem, TcpSegment, checkTcp, tcpFlagsShort, tcpProblem } from './tcp.js';
import type { WireError } from './wire-error.js';

const EMPTY = new Uint8Array(0);
/** tcp_pkt_to_tuple() reads the two ports: 8 bytes of TCP make a tuple. */
const TUPLE_BYTES = 8;

export class PacketView {
  readonly link = new LinkLayerView();
  /** decodeFrame(): why the link layer could not be decoded (null when it was). */
  linkError: WireError | null = null;
  readonly ip = new Ipv4Packet(EMPTY);
  readonly tcp = new TcpSegment(EMPTY);
  /** Bytes available from the IPv4 header on (the capture may hold fewer than the packet had). */
  available = 0;
  /**
   * The IPv4 header is whole: version 4, IHL >= 5, the header within the bytes, total length not
   * below it. The capture may still have cut the packet short (snaplen): then `ipv4` is false,
   * but the headers that were captured can be read (tcp.len is what the IPv4 header claims).
   */
  ipv4Header = false;
  /** The IPv4 header passes checkIpv4(): ipv4Header, and the whole packet is within the bytes. */
  ipv4 = false;
  /** ... and it carries TCP, is not a fragment, and has the 8 bytes of ports: a conntrack tuple. */
  hasPorts = false;
  /** ... and the whole 20-byte TCP header lies within the IPv4 total length (flags, seq, ack readable). */
  hasTcpHeader = false;
  /** ... and the TCP data offset is valid (checkTcp()): options and payload can be read. */
  tcpValid = false;

  /** Decodes a captured frame of `linkType`: the link layer, then IPv4 when it carries IPv4. */
  decodeFrame(linkType: number, frame: Uint8Array): this {
    this.linkError = this.link.decode(linkType, frame);
    if (this.linkError === null && this.link.etherType === EtherType.IPV4) return this.decodeIpv4(frame, this.link.networkOffset);
    this.clear(frame);
    return this;
  }

  /** Decodes the IPv4 packet at buf[off, off+len). */
  decodeIpv4(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.ip.reset(buf, off);
    this.available = len;
    this.hasPorts = this.hasTcpHeader = this.tcpValid = false;
    const problem = ipv4Problem(buf, off, len);
    this.ipv4 = problem === Ipv4Problem.NONE;
    this.ipv4Header = this.ipv4 || problem === Ipv4Problem.TOTAL_BEYOND;
    if (!this.ipv4Header) {
      this.tcp.reset(buf, off, 0);
      return this;
    }
    const ip = this.ip;
    const tcpLen = ip.payloadLength;
    this.tcp.reset(buf, ip.payloadOffset, tcpLen);
    if (!this.ipv4 || ip.protocol !== IpProtocol.TCP || ip.isFragment) return this;
    this.hasPorts = tcpLen >= TUPLE_BYTES;
    this.hasTcpHeader = tcpLen >= TCP_MIN_HEADER_LEN;
    this.tcpValid = this.hasTcpHeader && tcpProblem(buf, ip.payloadOffset, tcpLen) === TcpProblem.NONE;
    return this;
  }

  private clear(buf: Uint8Array): void {
    this.ip.reset(buf, 0);
    this.tcp.reset(buf, 0, 0);
    this.available = 0;
    this.ipv4Header = this.ipv4 = this.hasPorts = this.hasTcpHeader = this.tcpValid = false;
  }

  /** Why the IPv4 header is not valid (null when it is); allocates the error. */
  ipv4Error(): WireError | null {
    return checkIpv4(this.ip.buf, this.ip.off, this.available);
  }

  /** Why the TCP header is not valid (null when it is, or when this is not unfragmented TCP). */
  tcpError(): WireError | null {
    return this.ipv4 ? checkTcp(this.tcp.buf, this.tcp.off, this.tcp.len) : null;
  }

  /** Bytes of the TCP segment the capture holds (fewer than tcp.len when snaplen cut it). */
  get capturedTcpBytes(): number {
    return this.ipv4Header ? Math.max(0, Math.min(this.tcp.len, this.available - this.ip.headerLength)) : 0;
  }

  /** One-line summary (see packetSummary). */
  summary(): string {
    return packetSummary(this.ip.buf, this.ip.off, this.available);
  }
}

const summaryIp = new Ipv4Packet(EMPTY);
const summaryTcp = new TcpSegment(EMPTY);

/**
 * One line for logs and reports, in tcpdump's words: "198.18.0.1:40000 > 198.19.0.1:80 [S.] seq 1
 * ack 2" (ack only with the ACK flag); "src > dst proto 17" for anything but a whole TCP header;
 * "(short packet)" below an IPv4 header. Reads what is there; never throws.
 */
export function packetSummary(buf: Uint8Array, off = 0, len = buf.length - off): string {
  if (len < IPV4_MIN_HEADER_LEN) return '(short packet)';
  const ip = summaryIp.reset(buf, off);
  const hl = ip.headerLength;
  const src = formatIpv4Address(ip.src);
  const dst = formatIpv4Address(ip.dst);
  if (ip.protocol !== IpProtocol.TCP || len < hl + TCP_MIN_HEADER_LEN) return `${src} > ${dst} proto ${ip.protocol}`;
  const tcp = summaryTcp.reset(buf, off + hl, len - hl);
  const flags = tcp.flags;
  return `${src}:${tcp.srcPort} > ${dst}:${tcp.dstPort} [${tcpFlagsShort(flags)}] seq ${tcp.seq}${flags & TcpFlag.ACK ? ` ack ${tcp.ack}` : ''}`;
}
