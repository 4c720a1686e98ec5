// A fuzz case: a short capture (raw IPv4 packets on a virtual clock) plus where it came from.
// Everything about a case follows from (run seed, case index): `caseSeed` derives the case's own
// PRNG seed, so case 7 of seed 42 can be regenerated alone, in any order, on any machine.
import { inPrefix, ip } from '../wire/index.js';

export type FuzzMode = 'structured' | 'blind' | 'mixed';
export const FUZZ_MODES: readonly FuzzMode[] = ['structured', 'blind', 'mixed'];

export interface FuzzPacket {
  /** Virtual time of the packet in ns (the first packet is at 0, times never decrease). */
  timeNs: number;
  /** The IPv4 packet as it is written to the pcap (LINKTYPE_RAW): possibly corrupt. */
  bytes: Uint8Array;
}

export interface FuzzCase {
  kernel: string;
  sysctls: readonly string[];
  /** Run seed and case index: together they name the case. */
  seed: number;
  index: number;
  /** How it was made: 'structured' (a conversation plus mutations) or 'blind' (byte mutation). */
  mode: 'structured' | 'blind';
  packets: FuzzPacket[];
  /** What the generator did, for people reading a finding (not part of the case's identity). */
  tags: string[];
}

/** Clients live in 198.18.0.0/16, servers in 198.19.0.0/16 (RFC 2544 benchmarking space). */
export const CLIENT_NET = ip('198.18.0.0');
export const SERVER_NET = ip('198.19.0.0');
/** The REDIRECT target of the NAT check: a sidecar on the pod's address, outside every server's range. */
export const PROXY_ADDR = ip('198.19.255.254');
export const PROXY_PORT = 15001;

export function isClientAddr(a: number): boolean {
  return inPrefix(a, CLIENT_NET, 16);
}

export function isServerAddr(a: number): boolean {
  return inPrefix(a, SERVER_NET, 16) && !inPrefix(a, PROXY_ADDR, 24);
}

/** pcap timestamps: virtual time 0 is 2026-01-01T00:00:00Z (a fixed epoch: byte-identical files). */
export const CASE_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;

/** The case's PRNG seed: a 32-bit mix of run seed and index (splitmix-style finaliser). */
export function caseSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A copy with packets replaced (the minimiser's unit of change). */
export function withPackets(c: FuzzCase, packets: FuzzPacket[]): FuzzCase {
  return { ...c, packets };
}
