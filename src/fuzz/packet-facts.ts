// What the checker needs to know about a raw packet before conntrack sees it: does it have a
// tuple (IPv4, TCP, not a fragment, at least the 8 bytes of ports), which one, and its class.
// Read from the bytes by wire's decoder, independently of the engine; never throws.
import { classifyTcp } from '../conntrack/tcp-states.js';
import { PacketView } from '../wire/index.js';

export class PacketFacts {
  /** Passes the IPv4 structure checks (replay hands it to conntrack). */
  ipv4 = false;
  /** TCP, not a fragment, >= 8 bytes of TCP: conntrack can form a tuple. */
  hasTuple = false;
  /** The TCP header is complete (flags readable). */
  hasFlags = false;
  /** Addresses as int32 (the table's representation). */
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  flags = 0;
  cls = 0;
  totalLength = 0;
  headerLength = 0;
  /** The decoded packet (valid until the next read). */
  readonly view = new PacketView();

  read(b: Uint8Array): this {
    const v = this.view.decodeIpv4(b);
    this.ipv4 = v.ipv4;
    this.hasTuple = v.hasPorts;
    this.hasFlags = v.hasTcpHeader;
    this.flags = this.cls = 0;
    if (!v.ipv4) return this;
    this.headerLength = v.ip.headerLength;
    this.totalLength = v.ip.totalLength;
    if (!v.hasPorts) return this;
    this.src = v.ip.srcI32;
    this.dst = v.ip.dstI32;
    this.sport = v.tcp.srcPort;
    this.dport = v.tcp.dstPort;
    if (v.hasTcpHeader) {
      this.flags = v.tcp.flags;
      this.cls = classifyTcp(this.flags);
    }
    return this;
  }
}
