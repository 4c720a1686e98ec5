// Finds the IPv4 header inside a captured frame of any link type ctsim reads, and says what the
// link layer told us (interface index, direction) so replay can report it. One decoder: the
// reusable LinkLayerView (allocation-free for every link type but a VLAN-tagged frame), and
// decodeLinkLayer() for callers that want a plain object.
import { ETHERNET_HEADER_LEN, ETHERTYPE_OFFSET, EtherType, VLAN_TAG_LEN, type VlanTag } from './ethernet.js';
import { readU16, readU32 } from './bytes.js';
import { LinkType, isKnownLinkType, linkTypeName } from './link-type.js';
import { Arphrd, SLL2_FIELD, SLL2_HEADER_LEN, SLL_FIELD, SLL_HEADER_LEN, SllPacketType } from './linux-sll.js';
import { WireError } from './wire-error.js';

const NFLOG_HEADER_LEN = 4;
const NFULA_PAYLOAD = 9;
const AF_INET = 2;
const AF_INET6 = 10;

export interface LinkLayerInfo {
  /** Offset of the network-layer header in the frame. */
  networkOffset: number;
  /** EtherType of the network layer (0x0800 for IPv4). */
  etherType: number;
  /** SLL2 interface index, when the capture says. */
  ifindex?: number;
  /** SLL/SLL2: true when the kernel saw the packet leave (PACKET_OUTGOING). */
  outgoing?: boolean;
  /** SLL/SLL2: the capturing interface is a loopback device (ARPHRD_LOOPBACK). */
  loopback?: boolean;
  vlan?: VlanTag;
}

/** A reusable decoder: decode() re-points it at the next frame. */
export class LinkLayerView implements LinkLayerInfo {
  networkOffset = 0;
  etherType = 0;
  ifindex?: number;
  outgoing?: boolean;
  loopback?: boolean;
  vlan?: VlanTag;

  /** Decodes the link layer of `frame`; returns the problem (the fields are then meaningless) or null. */
  decode(linkType: number, frame: Uint8Array): WireError | null {
    this.ifindex = undefined;
    this.outgoing = undefined;
    this.loopback = undefined;
    this.vlan = undefined;
    const len = frame.length;
    switch (linkType) {
      case LinkType.RAW: {
        if (len < 1) return new WireError('truncated', 0, 'empty frame');
        const version = frame[0] >>> 4;
        this.networkOffset = 0;
        this.etherType = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : 0;
        return null;
      }
      case LinkType.IPV4:
        this.networkOffset = 0;
        this.etherType = EtherType.IPV4;
        return null;
      case LinkType.ETHERNET: {
        if (len < ETHERNET_HEADER_LEN) return new WireError('truncated', 0, `Ethernet header needs ${ETHERNET_HEADER_LEN} bytes, have ${len}`);
        this.networkOffset = ETHERNET_HEADER_LEN;
        this.etherType = readU16(frame, ETHERTYPE_OFFSET);
        if (this.etherType === EtherType.VLAN) {
          const hl = ETHERNET_HEADER_LEN;
          if (len < hl + VLAN_TAG_LEN) return new WireError('truncated', hl, '802.1Q tag truncated');
          const tci = readU16(frame, hl);
          this.vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
          this.etherType = readU16(frame, hl + 2);
          this.networkOffset = hl + VLAN_TAG_LEN;
        }
        return null;
      }
      case LinkType.LINUX_SLL:
        if (len < SLL_HEADER_LEN) return new WireError('truncated', 0, `SLL header needs ${SLL_HEADER_LEN} bytes, have ${len}`);
        this.networkOffset = SLL_HEADER_LEN;
        this.etherType = readU16(frame, SLL_FIELD.PROTO);
        this.outgoing = readU16(frame, SLL_FIELD.TYPE) === SllPacketType.OUTGOING;
        this.loopback = readU16(frame, SLL_FIELD.HA) === Arphrd.LOOPBACK;
        return null;
      case LinkType.LINUX_SLL2:
        if (len < SLL2_HEADER_LEN) return new WireError('truncated', 0, `SLL2 header needs ${SLL2_HEADER_LEN} bytes, have ${len}`);
        this.networkOffset = SLL2_HEADER_LEN;
        this.etherType = readU16(frame, SLL2_FIELD.PROTO);
        this.ifindex = readU32(frame, SLL2_FIELD.IFINDEX);
        this.outgoing = frame[SLL2_FIELD.TYPE] === SllPacketType.OUTGOING;
        this.loopback = readU16(frame, SLL2_FIELD.HA) === Arphrd.LOOPBACK;
        return null;
      case LinkType.NFLOG:
        return this.decodeNflog(frame);
    }
    return new WireError('unsupported-link-type', 0, isKnownLinkType(linkType)
      ? `link type ${linkType}`
      : `link type ${linkTypeName(linkType)} is not decoded (supported: RAW, IPV4, ETHERNET, LINUX_SLL, LINUX_SLL2, NFLOG)`);
  }

  /**
   * LINKTYPE_NFLOG (tcpdump.org's LINKTYPE_NFLOG.html): a 4-byte header (address family,
   * version, resource id), then TLVs whose length and type are in the capturing host's byte
   * order (little-endian here: x86 and arm64), each padded to 4 bytes; NFULA_PAYLOAD (9) holds
   * the packet from its network header.
   */
  private decodeNflog(frame: Uint8Array): WireError | null {
    const len = frame.length;
    if (len < NFLOG_HEADER_LEN) return new WireError('truncated', 0, `NFLOG header needs ${NFLOG_HEADER_LEN} bytes, have ${len}`);
    const family = frame[0];
    let off = NFLOG_HEADER_LEN;
    while (off + 4 <= len) {
      const tlvLen = frame[off] | (frame[off + 1] << 8);
      const type = frame[off + 2] | (frame[off + 3] << 8);
      if (tlvLen < 4) return new WireError('truncated', off, `NFLOG TLV length ${tlvLen} < 4`);
      if (type === NFULA_PAYLOAD) {
        this.networkOffset = off + 4;
        this.etherType = family === AF_INET ? EtherType.IPV4 : family === AF_INET6 ? EtherType.IPV6 : 0;
        return null;
      }
      off += (tlvLen + 3) & ~3;
    }
    return new WireError('truncated', off, 'NFLOG record without a payload TLV (NFULA_PAYLOAD)');
  }

  /** The decoded fields as a plain object (only those the link layer carries). */
  info(): LinkLayerInfo {
    return {
      networkOffset: this.networkOffset, etherType: this.etherType,
      ...(this.ifindex !== undefined ? { ifindex: this.ifindex } : {}),
      ...(this.outgoing !== undefined ? { outgoing: this.outgoing } : {}),
      ...(this.loopback !== undefined ? { loopback: this.loopback } : {}),
      ...(this.vlan ? { vlan: this.vlan } : {}),
    };
  }
}

/** Decodes the link layer; throws WireError for truncated headers or unknown link types. */
export function decodeLinkLayer(linkType: number, frame: Uint8Array): LinkLayerInfo {
  const view = new LinkLayerView();
  const err = view.decode(linkType, frame);
  if (err) throw err;
  return view.info();
}
