// A packet while a case is being generated: still a SegmentSpec (so structured mutations can
// change seq, flags, options...) plus byte-level edits applied after encoding (corruptions,
// malformed option lengths). `encodeDrafts` turns the list into the case's FuzzPackets.
import {
  IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, TCP_FIELD, TcpSegment, encodeSegment, tcpOptionLength, type SegmentSpec, type TcpOption,
} from '../wire/index.js';
import type { FuzzPacket } from './case.js';

/** A byte-level change to an encoded packet; returns the new bytes (may be a new array). */
export type RawEdit = (bytes: Uint8Array) => Uint8Array;

export interface DraftPacket {
  timeNs: number;
  spec: SegmentSpec;
  /** Which conversation of the case it belongs to (-1: injected noise). */
  flow: number;
  fromClient: boolean;
  /** The receiver's window in bytes when this was sent: the scale for window-bound offsets. */
  peerWindow: number;
  edits: RawEdit[];
}

/** Pads an option list with NOPs to a multiple of 4 bytes and drops options beyond 40 bytes. */
export function fitOptions(opts: readonly TcpOption[]): TcpOption[] {
  const out: TcpOption[] = [];
  let n = 0;
  for (const o of opts) {
    const l = tcpOptionLength(o);
    if (n + l > 40) break;
    out.push(o);
    n += l;
  }
  while (n % 4 !== 0) {
    out.push({ kind: 'nop' });
    n++;
  }
  return out;
}


/** Recomputes the IPv4 header checksum and, when the TCP segment is there, the TCP checksum. */
export function fixChecksums(b: Uint8Array): Uint8Array {
  const ip = new Ipv4Packet(b);
  if (b.length < IPV4_MIN_HEADER_LEN || ip.version !== 4) return b;
  const hl = ip.headerLength;
  if (hl < IPV4_MIN_HEADER_LEN || hl > b.length) return b;
  ip.fillChecksum();
  fixTcpChecksum(b);
  return b;
}

/** Recomputes only the TCP checksum (IPv4 total length decides the segment length). */
export function fixTcpChecksum(b: Uint8Array): Uint8Array {
  if (b.length < IPV4_MIN_HEADER_LEN) return b;
  const ip = new Ipv4Packet(b);
  const hl = ip.headerLength;
  const total = ip.totalLength;
  if (ip.protocol !== IpProtocol.TCP || hl < IPV4_MIN_HEADER_LEN || total > b.length || total - hl < TCP_FIELD.CHECKSUM + 2) return b;
  new TcpSegment(b, hl, total - hl).fillChecksum(ip.src, ip.dst);
  return b;
}

export function encodeDraft(d: DraftPacket): Uint8Array {
  let bytes = encodeSegment({ ...d.spec, options: fitOptions(d.spec.options ?? []) });
  for (const edit of d.edits) bytes = edit(bytes);
  return bytes;
}

/** Encodes a time-ordered draft list; virtual time is shifted so the first packet is at 0. */
export function encodeDrafts(drafts: readonly DraftPacket[]): FuzzPacket[] {
  const t0 = drafts.length ? drafts[0].timeNs : 0;
  let last = 0;
  return drafts.map((d) => {
    last = Math.max(last, Math.round(d.timeNs - t0));
    return { timeNs: last, bytes: encodeDraft(d) };
  });
}
