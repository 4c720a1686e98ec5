// What the checker needs to know about a raw packet before conntrack sees it: does it have a
// tuple (IPv4, TCP, not a fragment, at least the 8 bytes of ports), which one, and its class.
// Read directly from the bytes, independently of the engine; never throws.
import { classifyTcp } from '../conntrack/tcp-states.js';
import { IPV4_FIELD, IpProtocol, TCP_FIELD, checkIpv4, readI32, readU16 } from '../wire/index.js';

export class PacketFacts {
  /** Passes the IPv4 structure checks (replay hands it to conntrack). */
  ipv4 = false;
  /** TCP, not a fragment, >= 8 bytes of TCP: conntrack can form a tuple. */
  hasTuple = false;
  /** The TCP header is complete (flags readable). */
  hasFlags = false;
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  flags = 0;
  cls = 0;
  totalLength = 0;
  headerLength = 0;

  read(b: Uint8Array): this {
    this.ipv4 = this.hasTuple = this.hasFlags = false;
    this.flags = this.cls = 0;
    if (b.length < 1 || b[0] >>> 4 !== 4 || checkIpv4(b, 0, b.length) !== null) return this;
    this.ipv4 = true;
    this.headerLength = (b[0] & 0x0f) * 4;
    this.totalLength = readU16(b, IPV4_FIELD.TOTAL_LENGTH);
    const fragment = (readU16(b, IPV4_FIELD.FLAGS_FRAGMENT) & 0x3fff) !== 0;
    if (b[IPV4_FIELD.PROTOCOL] !== IpProtocol.TCP || fragment) return this;
    const tcpLen = this.totalLength - this.headerLength;
    if (tcpLen < 8) return this;
    const t = this.headerLength;
    this.hasTuple = true;
    this.src = readI32(b, IPV4_FIELD.SRC);
    this.dst = readI32(b, IPV4_FIELD.DST);
    this.sport = readU16(b, t + TCP_FIELD.SRC_PORT);
    this.dport = readU16(b, t + TCP_FIELD.DST_PORT);
    if (tcpLen >= 20) {
      this.hasFlags = true;
      this.flags = b[t + TCP_FIELD.FLAGS] | ((b[t + TCP_FIELD.OFFSET] & 1) << 8);
      this.cls = classifyTcp(this.flags);
    }
    return this;
  }
}
