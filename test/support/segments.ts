// Hand-built segments for conntrack tests: a client C:cport <-> server S:sport conversation.
import { TcpFlag, encodeSegment, ip, type TcpOption } from '../../src/wire/index.js';

export const C = ip('198.18.0.1');
export const S = ip('198.18.0.2');
export const CPORT = 44410;
export const SPORT = 8080;
export const { SYN, ACK, FIN, RST, PSH } = TcpFlag;

export const SYN_OPTS: TcpOption[] = [
  { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: 1, tsecr: 0 },
  { kind: 'nop' }, { kind: 'wscale', shift: 7 },
];

export interface SegArgs {
  seq: number;
  ack?: number;
  flags: number;
  win?: number;
  len?: number;
  options?: TcpOption[];
}

/** Client -> server (ORIGINAL direction). */
export function c2s(a: SegArgs): Uint8Array {
  return encodeSegment({ src: C, dst: S, srcPort: CPORT, dstPort: SPORT, seq: a.seq >>> 0, ack: (a.ack ?? 0) >>> 0, flags: a.flags, window: a.win ?? 502, options: a.options, payload: new Uint8Array(a.len ?? 0) });
}

/** Server -> client (REPLY direction). */
export function s2c(a: SegArgs): Uint8Array {
  return encodeSegment({ src: S, dst: C, srcPort: SPORT, dstPort: CPORT, seq: a.seq >>> 0, ack: (a.ack ?? 0) >>> 0, flags: a.flags, window: a.win ?? 509, options: a.options, payload: new Uint8Array(a.len ?? 0) });
}

export const SEC = 1e9;
