// The blind mode: byte mutation of an encoded case, knowing nothing about TCP. Bit flips,
// interesting byte values, inserted/deleted/overwritten runs, truncation, splices between
// packets, duplicated and swapped packets, perturbed timing. Most mutated packets then get their
// lengths and checksums repaired (otherwise nearly everything dies at the checksum check and the
// deeper code never sees them). The address bytes 12..19 are never touched, so every packet
// stays between 198.18.0.0/16 and 198.19.0.0/16.
import { IPV4_FIELD, Ipv4Packet } from '../wire/index.js';
import type { FuzzPacket } from './case.js';
import { fixChecksums } from './draft.js';
import type { FuzzRng } from './rng.js';

const INTERESTING = [0x00, 0x01, 0x02, 0x04, 0x05, 0x0f, 0x10, 0x11, 0x12, 0x14, 0x3f, 0x40, 0x45, 0x46, 0x4f, 0x50, 0x7f, 0x80, 0xf0, 0xff];
const ADDR_FIRST = IPV4_FIELD.SRC;
const ADDR_LAST = IPV4_FIELD.DST + 3;
const MAX_BYTES = 1600;

function protectedByte(i: number): boolean {
  return i >= ADDR_FIRST && i <= ADDR_LAST;
}

/** A position outside the address bytes (or -1 when the packet has none). */
function position(rng: FuzzRng, len: number): number {
  if (len === 0) return -1;
  for (let k = 0; k < 8; k++) {
    // Favour the headers: that is where the parsers and the tracker make decisions.
    const i = rng.chance(0.8) ? rng.int(0, Math.min(len, 60) - 1) : rng.int(0, len - 1);
    if (!protectedByte(i)) return i;
  }
  return -1;
}

export const BLIND_OPS = ['bitflip', 'interesting', 'random', 'insert', 'delete', 'truncate', 'extend', 'splice', 'duplicate', 'swap', 'time'] as const;
export type BlindOp = (typeof BLIND_OPS)[number];

/** Applies `rounds` byte mutations to a copy of the packets; returns them and the tags. */
export function blindMutate(rng: FuzzRng, input: readonly FuzzPacket[], rounds: number): { packets: FuzzPacket[]; tags: string[] } {
  const packets: FuzzPacket[] = input.map((p) => ({ timeNs: p.timeNs, bytes: p.bytes.slice() }));
  const tags: string[] = [];
  if (packets.length === 0) return { packets, tags };
  for (let r = 0; r < rounds; r++) {
    const op = rng.pick(BLIND_OPS);
    const k = rng.int(0, packets.length - 1);
    const p = packets[k];
    let b = p.bytes;
    switch (op) {
      case 'bitflip': {
        const i = position(rng, b.length);
        // raw-bytes: blind mutation knows nothing about TCP on purpose: it flips any bit of any header byte
        if (i >= 0) b[i] ^= 1 << rng.int(0, 7);
        break;
      }
      case 'interesting': {
        const i = position(rng, b.length);
        if (i >= 0) b[i] = rng.pick(INTERESTING);
        break;
      }
      case 'random': {
        const n = rng.int(1, 4);
        for (let j = 0; j < n; j++) {
          const i = position(rng, b.length);
          if (i >= 0) b[i] = rng.int(0, 255);
        }
        break;
      }
      case 'insert': {
        const i = Math.max(ADDR_LAST + 1, rng.int(0, b.length));
        if (i > b.length || b.length >= MAX_BYTES) break;
        const n = rng.int(1, 16);
        const c = new Uint8Array(b.length + n);
        c.set(b.subarray(0, i));
        for (let j = 0; j < n; j++) c[i + j] = rng.pick(INTERESTING);
        c.set(b.subarray(i), i + n);
        b = c;
        break;
      }
      case 'delete': {
        if (b.length <= ADDR_LAST + 2) break;
        const i = rng.int(ADDR_LAST + 1, b.length - 1);
        const n = Math.min(rng.int(1, 16), b.length - i);
        const c = new Uint8Array(b.length - n);
        c.set(b.subarray(0, i));
        c.set(b.subarray(i + n), i);
        b = c;
        break;
      }
      case 'truncate': {
        // Never inside the addresses: a packet either has both or neither.
        const n = rng.int(1, b.length);
        b = b.slice(0, n > ADDR_FIRST && n <= ADDR_LAST ? ADDR_FIRST : n);
        break;
      }
      case 'extend': {
        const n = rng.int(1, 64);
        if (b.length + n > MAX_BYTES || b.length <= ADDR_LAST) break;
        const c = new Uint8Array(b.length + n);
        c.set(b);
        for (let j = b.length; j < c.length; j++) c[j] = rng.int(0, 255);
        b = c;
        break;
      }
      case 'splice': {
        // Overwrite a run (past the addresses) with bytes from another packet of the case.
        const src = packets[rng.int(0, packets.length - 1)].bytes;
        if (src.length <= ADDR_LAST + 1 || b.length <= ADDR_LAST + 1) break;
        const from = rng.int(ADDR_LAST + 1, src.length - 1);
        const to = rng.int(ADDR_LAST + 1, b.length - 1);
        const n = Math.min(rng.int(1, 24), src.length - from, b.length - to);
        b.set(src.subarray(from, from + n), to);
        break;
      }
      case 'duplicate': {
        if (packets.length >= 256) break;
        packets.splice(k + 1, 0, { timeNs: p.timeNs, bytes: b.slice() });
        break;
      }
      case 'swap': {
        const j = rng.int(0, packets.length - 1);
        const t = packets[j].bytes;
        packets[j].bytes = b;
        b = t;
        break;
      }
      case 'time': {
        // Stretch or squash one gap; later packets move with it (time never runs backwards).
        const delta = rng.pick([-1e9, 1, 1e9, 10e9, 60e9, 121e9, 301e9]);
        const prev = k > 0 ? packets[k - 1].timeNs : 0;
        const shift = Math.max(prev - p.timeNs, delta);
        for (let j = k; j < packets.length; j++) packets[j].timeNs += shift;
        break;
      }
    }
    if (op !== 'time' && op !== 'duplicate' && b.length >= 20 && rng.chance(0.6)) {
      // Repair lengths and checksums so the packet gets past the first checks.
      if (rng.chance(0.7)) new Ipv4Packet(b).totalLength = b.length;
      b = fixChecksums(b);
    }
    packets[k].bytes = b;
    tags.push(`${op}@${k}`);
  }
  if (packets.length && packets[0].timeNs !== 0) {
    const t0 = packets[0].timeNs;
    for (const p of packets) p.timeNs -= t0;
  }
  return { packets, tags };
}
