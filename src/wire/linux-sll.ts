// Linux "cooked" capture headers, what `tcpdump -i any` writes: SLL v1 (LINKTYPE_LINUX_SLL, 16
// bytes) and SLL2 (LINKTYPE_LINUX_SLL2, 20 bytes, adds the interface index). Layouts follow
// tcpdump.org's linktypes/LINKTYPE_LINUX_SLL.html and LINKTYPE_LINUX_SLL2.html.
import { struct, u8, u16be, u32be, blob } from 'buffer-layout';
import type { HeaderLayout } from './header-layout.js';
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { WireError } from './wire-error.js';

export const SLL_LAYOUT: HeaderLayout = struct([u16be('packetType'), u16be('arphrdType'), u16be('addressLength'), blob(8, 'address'), u16be('protocol')]);
export const SLL2_LAYOUT: HeaderLayout = struct([u16be('protocol'), u16be('reserved'), u32be('ifindex'), u16be('arphrdType'), u8('packetType'), u8('addressLength'), blob(8, 'address')]);
export const SLL_HEADER_LEN = SLL_LAYOUT.span; // 16
export const SLL2_HEADER_LEN = SLL2_LAYOUT.span; // 20

function at(layout: HeaderLayout, field: string): number {
  const o = layout.offsetOf(field);
  if (o === undefined) throw new Error(`layout has no field ${field}`);
  return o;
}
/** Field offsets of the SLL v1 header. */
export const SLL_FIELD = { TYPE: at(SLL_LAYOUT, 'packetType'), HA: at(SLL_LAYOUT, 'arphrdType'), ALEN: at(SLL_LAYOUT, 'addressLength'), ADDR: at(SLL_LAYOUT, 'address'), PROTO: at(SLL_LAYOUT, 'protocol') };
/** Field offsets of the SLL2 header. */
export const SLL2_FIELD = { PROTO: at(SLL2_LAYOUT, 'protocol'), RESERVED: at(SLL2_LAYOUT, 'reserved'), IFINDEX: at(SLL2_LAYOUT, 'ifindex'), HA: at(SLL2_LAYOUT, 'arphrdType'), TYPE: at(SLL2_LAYOUT, 'packetType'), ALEN: at(SLL2_LAYOUT, 'addressLength'), ADDR: at(SLL2_LAYOUT, 'address') };

/** sll_pkttype values (linux/if_packet.h PACKET_*). */
export const SllPacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

/** ARPHRD_* device types (linux/if_arp.h) of the capturing interface, as SLL headers carry them. */
export const Arphrd = { ETHER: 1, LOOPBACK: 772, NONE: 0xfffe } as const;

export interface SllRepr {
  version: 1 | 2;
  packetType: number;
  arphrdType: number;
  /** Link-layer address bytes (addressLength of them are meaningful, at most 8 are stored). */
  address: Uint8Array;
  addressLength: number;
  /** EtherType of the payload (0x0800 for IPv4). */
  protocol: number;
  /** SLL2 only. */
  ifindex?: number;
}

export function parseSll(buf: Uint8Array, off = 0, len = buf.length - off): { repr: SllRepr; headerLength: number } {
  if (len < SLL_HEADER_LEN) throw new WireError('truncated', off, `SLL header needs ${SLL_HEADER_LEN} bytes, have ${len}`);
  return {
    repr: {
      version: 1,
      packetType: readU16(buf, off + SLL_FIELD.TYPE),
      arphrdType: readU16(buf, off + SLL_FIELD.HA),
      addressLength: readU16(buf, off + SLL_FIELD.ALEN),
      address: buf.slice(off + SLL_FIELD.ADDR, off + SLL_FIELD.ADDR + 8),
      protocol: readU16(buf, off + SLL_FIELD.PROTO),
    },
    headerLength: SLL_HEADER_LEN,
  };
}

export function parseSll2(buf: Uint8Array, off = 0, len = buf.length - off): { repr: SllRepr; headerLength: number } {
  if (len < SLL2_HEADER_LEN) throw new WireError('truncated', off, `SLL2 header needs ${SLL2_HEADER_LEN} bytes, have ${len}`);
  return {
    repr: {
      version: 2,
      protocol: readU16(buf, off + SLL2_FIELD.PROTO),
      ifindex: readU32(buf, off + SLL2_FIELD.IFINDEX),
      arphrdType: readU16(buf, off + SLL2_FIELD.HA),
      packetType: buf[off + SLL2_FIELD.TYPE],
      addressLength: buf[off + SLL2_FIELD.ALEN],
      address: buf.slice(off + SLL2_FIELD.ADDR, off + SLL2_FIELD.ADDR + 8),
    },
    headerLength: SLL2_HEADER_LEN,
  };
}

/** Writes an SLL v1 or v2 header (by repr.version); returns its length. */
export function emitSll(repr: SllRepr, buf: Uint8Array, off = 0): number {
  const hl = repr.version === 1 ? SLL_HEADER_LEN : SLL2_HEADER_LEN;
  if (off + hl > buf.length) throw new WireError('truncated', off, `need ${hl} bytes to emit the SLL header`);
  if (repr.address.length > 8) throw new WireError('bad-field', 0, 'SLL address longer than 8 bytes');
  buf.fill(0, off, off + hl);
  if (repr.version === 1) {
    writeU16(buf, off + SLL_FIELD.TYPE, repr.packetType);
    writeU16(buf, off + SLL_FIELD.HA, repr.arphrdType);
    writeU16(buf, off + SLL_FIELD.ALEN, repr.addressLength);
    buf.set(repr.address, off + SLL_FIELD.ADDR);
    writeU16(buf, off + SLL_FIELD.PROTO, repr.protocol);
  } else {
    writeU16(buf, off + SLL2_FIELD.PROTO, repr.protocol);
    writeU32(buf, off + SLL2_FIELD.IFINDEX, repr.ifindex ?? 0);
    writeU16(buf, off + SLL2_FIELD.HA, repr.arphrdType);
    buf[off + SLL2_FIELD.TYPE] = repr.packetType;
    buf[off + SLL2_FIELD.ALEN] = repr.addressLength;
    buf.set(repr.address, off + SLL2_FIELD.ADDR);
  }
  return hl;
}
