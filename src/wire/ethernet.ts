// Ethernet II framing (IEEE 802.3 with EtherType) and one IEEE 802.1Q VLAN tag, for reading
// captures taken on real interfaces. ctsim's own captures use raw IPv4.
import { struct, u16be, blob } from 'buffer-layout';
import type { HeaderLayout } from './header-layout.js';
import { readU16, writeU16 } from './bytes.js';
import { WireError } from './wire-error.js';

export const ETHERNET_LAYOUT: HeaderLayout = struct([blob(6, 'dst'), blob(6, 'src'), u16be('etherType')]);
export const ETHERNET_HEADER_LEN = ETHERNET_LAYOUT.span; // 14
/** Offset of the EtherType (or of an 802.1Q TPID) in the Ethernet header. */
export const ETHERTYPE_OFFSET = ETHERNET_LAYOUT.offsetOf('etherType') ?? 12;
/** An 802.1Q tag: TPID 0x8100 in the EtherType slot, then TCI, then the inner EtherType. */
export const VLAN_TAG_LEN = 4;

export const EtherType = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, IPV6: 0x86dd } as const;

export interface VlanTag {
  pcp: number;
  dei: boolean;
  vid: number;
}

export interface EthernetRepr {
  /** "aa:bb:cc:dd:ee:ff" */
  dst: string;
  src: string;
  vlan?: VlanTag;
  etherType: number;
}

export function formatMac(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new WireError('bad-field', 0, `not a MAC address: ${JSON.stringify(text)}`);
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function ethernetHeaderLength(repr: Pick<EthernetRepr, 'vlan'>): number {
  return ETHERNET_HEADER_LEN + (repr.vlan ? VLAN_TAG_LEN : 0);
}

/** Parses the Ethernet header (and one VLAN tag) at buf[off, off+len); returns repr and header length. */
export function parseEthernet(buf: Uint8Array, off = 0, len = buf.length - off): { repr: EthernetRepr; headerLength: number } {
  if (len < ETHERNET_HEADER_LEN) throw new WireError('truncated', off, `Ethernet header needs ${ETHERNET_HEADER_LEN} bytes, have ${len}`);
  let etherType = readU16(buf, off + ETHERTYPE_OFFSET);
  const repr: EthernetRepr = { dst: formatMac(buf, off), src: formatMac(buf, off + 6), etherType };
  let hl = ETHERNET_HEADER_LEN;
  if (etherType === EtherType.VLAN) {
    if (len < hl + VLAN_TAG_LEN) throw new WireError('truncated', off + hl, '802.1Q tag truncated');
    const tci = readU16(buf, off + hl);
    etherType = readU16(buf, off + hl + 2);
    repr.vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
    repr.etherType = etherType;
    hl += VLAN_TAG_LEN;
  }
  return { repr, headerLength: hl };
}

export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off = 0): number {
  const hl = ethernetHeaderLength(repr);
  if (off + hl > buf.length) throw new WireError('truncated', off, `need ${hl} bytes to emit the Ethernet header`);
  buf.set(parseMac(repr.dst), off);
  buf.set(parseMac(repr.src), off + 6);
  if (repr.vlan) {
    const { pcp, dei, vid } = repr.vlan;
    if (pcp > 7 || vid > 0xfff) throw new WireError('bad-field', 0, `VLAN pcp=${pcp} vid=${vid} out of range`);
    writeU16(buf, off + 12, EtherType.VLAN);
    writeU16(buf, off + 14, (pcp << 13) | (dei ? 0x1000 : 0) | vid);
    writeU16(buf, off + 16, repr.etherType);
  } else {
    writeU16(buf, off + 12, repr.etherType);
  }
  return hl;
}
