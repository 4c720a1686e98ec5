// Finds the IPv4 header inside a captured frame of any link type ctsim reads, and says what the
// link layer told us (interface index, direction) so replay can report it. One decoder: the
// reusable LinkLayerView (allocation-free for every link type but a VLAN-tagged frame), and
// decodeLinkLayer() for callers that want a plain object.
import { ETHERNET_HEADER_LEN, ETHERTYPE_OFFSET, EtherType, VLAN_TAG_LEN, type VlanTag } from './ethernet.js';
import { readU16, readU32 } from './bytes.js';
import { LinkType, isKnownLinkType, linkTypeName } from './link-type.js';
import { SLL2_FIELD, SLL2_HEADER_LEN, SLL_FIELD, SLL_HEADER_LEN, SllPacketType } from './linux-sll.js';
import { WireError } from './wire-error.js';

export interface LinkLayerInfo {
  /** Offset of the network-layer header in the frame. */
  networkOffset: number;
  /** EtherType of the network layer (0x0800 for IPv4). */
  etherType: number;
  /** SLL2 interface index, when the capture says. */
  ifindex?: number;
  /** SLL/SLL2: true when the kernel saw the packet leave (PACKET_OUTGOING). */
  outgoing?: boolean;
  vlan?: VlanTag;
}

/** A reusable decoder: decode() re-points it at the next frame. */
export class LinkLayerView implements LinkLayerInfo {
  networkOffset = 0;
  etherType = 0;
  ifindex?: number;
  outgoing?: boolean;
  vlan?: VlanTag;

  /** Decodes the link layer of `frame`; returns the problem (the fields are then meaningless) or null. */
  decode(linkType: number, frame: Uint8Array): WireError | null {
    this.ifindex = undefined;
    this.outgoing = undefined;
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
        return null;
      case LinkType.LINUX_SLL2:
        if (len < SLL2_HEADER_LEN) return new WireError('truncated', 0, `SLL2 header needs ${SLL2_HEADER_LEN} bytes, have ${len}`);
        this.networkOffset = SLL2_HEADER_LEN;
        this.etherType = readU16(frame, SLL2_FIELD.PROTO);
        this.ifindex = readU32(frame, SLL2_FIELD.IFINDEX);
        this.outgoing = frame[SLL2_FIELD.TYPE] === SllPacketType.OUTGOING;
        return null;
    }
    return new WireError('unsupported-link-type', 0, isKnownLinkType(linkType)
      ? `link type ${linkType}`
      : `link type ${linkTypeName(linkType)} is not decoded (supported: RAW, IPV4, ETHERNET, LINUX_SLL, LINUX_SLL2)`);
  }

  /** The decoded fields as a plain object (only those the link layer carries). */
  info(): LinkLayerInfo {
    return {
      networkOffset: this.networkOffset, etherType: this.etherType,
      ...(this.ifindex !== undefined ? { ifindex: this.ifindex } : {}),
      ...(this.outgoing !== undefined ? { outgoing: this.outgoing } : {}),
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
