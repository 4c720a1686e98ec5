// Finds the IPv4 header inside a captured frame of any link type ctsim reads, and says what the
// link layer told us (interface index, direction) so replay can report it.
import { EtherType, parseEthernet, type VlanTag } from './ethernet.js';
import { LinkType, isKnownLinkType, linkTypeName } from './link-type.js';
import { SllPacketType, parseSll, parseSll2 } from './linux-sll.js';
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

/** Decodes the link layer; throws WireError for truncated headers or unknown link types. */
export function decodeLinkLayer(linkType: number, frame: Uint8Array): LinkLayerInfo {
  if (!isKnownLinkType(linkType)) {
    throw new WireError('unsupported-link-type', 0, `link type ${linkTypeName(linkType)} is not decoded (supported: RAW, IPV4, ETHERNET, LINUX_SLL, LINUX_SLL2)`);
  }
  switch (linkType) {
    case LinkType.RAW: {
      if (frame.length < 1) throw new WireError('truncated', 0, 'empty frame');
      const version = frame[0] >>> 4;
      return { networkOffset: 0, etherType: version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : 0 };
    }
    case LinkType.IPV4:
      return { networkOffset: 0, etherType: EtherType.IPV4 };
    case LinkType.ETHERNET: {
      const { repr, headerLength } = parseEthernet(frame);
      return { networkOffset: headerLength, etherType: repr.etherType, ...(repr.vlan ? { vlan: repr.vlan } : {}) };
    }
    case LinkType.LINUX_SLL: {
      const { repr, headerLength } = parseSll(frame);
      return { networkOffset: headerLength, etherType: repr.protocol, outgoing: repr.packetType === SllPacketType.OUTGOING };
    }
    case LinkType.LINUX_SLL2: {
      const { repr, headerLength } = parseSll2(frame);
      return { networkOffset: headerLength, etherType: repr.protocol, ifindex: repr.ifindex ?? 0, outgoing: repr.packetType === SllPacketType.OUTGOING };
    }
  }
  throw new WireError('unsupported-link-type', 0, `link type ${linkType}`);
}
