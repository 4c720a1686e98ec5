// Building the segments a Linux endpoint sends: option layout as tcp_options_write() orders it
// (MSS; SACK_PERM and TIMESTAMP packed together; NOP + WSCALE), advertised windows, and resets
// as tcp_v4_send_reset() builds them (RFC 9293 §3.10.7.1).
import { TcpFlag, encodeSegment, type TcpOption } from '../../wire/index.js';
import { segEndSeq } from './tcp-segment-in.js';

export interface SegmentOut {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options: TcpOption[];
  payload?: Uint8Array;
}

export function synOptions(mss: number, sack: boolean, ts: { val: number; ecr: number } | null, wscale: number | null): TcpOption[] {
  const o: TcpOption[] = [{ kind: 'mss', value: mss }];
  if (sack && ts) o.push({ kind: 'sack-permitted' }, { kind: 'timestamp', tsval: ts.val >>> 0, tsecr: ts.ecr >>> 0 });
  else if (ts) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: ts.val >>> 0, tsecr: ts.ecr >>> 0 });
  else if (sack) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' });
  if (wscale !== null) o.push({ kind: 'nop' }, { kind: 'wscale', shift: wscale });
  return o;
}

export function tsOptions(ts: { val: number; ecr: number } | null): TcpOption[] {
  return ts ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: ts.val >>> 0, tsecr: ts.ecr >>> 0 }] : [];
}

export function encodeOut(s: SegmentOut, ipId: number): Uint8Array {
  return encodeSegment({
    src: s.src, dst: s.dst, srcPort: s.sport, dstPort: s.dport, seq: s.seq >>> 0, ack: s.ack >>> 0, flags: s.flags,
    window: s.window, options: s.options, payload: s.payload, identification: ipId, dontFragment: true, ttl: 64,
  });
}

/**
 * tcp_v4_send_reset(): the reset answering segment `seg` that found no (acceptable) socket. With
 * an ACK in the offending segment: RST, seq = its ack, no ACK flag. Without: RST+ACK, seq 0, ack =
 * seq + len (+1 for SYN and FIN). Sent from a per-netns control socket (IP ID 0, no options).
 */
export function resetFor(seg: { src: number; dst: number; sport: number; dport: number; seq: number; ack: number; flags: number; len: number }): SegmentOut {
  const base = { src: seg.dst, dst: seg.src, sport: seg.dport, dport: seg.sport, window: 0, options: [] as TcpOption[] };
  if (seg.flags & TcpFlag.ACK) return { ...base, seq: seg.ack, ack: 0, flags: TcpFlag.RST };
  return { ...base, seq: 0, ack: segEndSeq(seg), flags: TcpFlag.RST | TcpFlag.ACK };
}
