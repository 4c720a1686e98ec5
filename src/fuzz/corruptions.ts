// Byte-level corruptions of an encoded IPv4/TCP packet: bad checksums, IHL and data-offset
// errors, truncation, malformed option lengths, IP options, fragments, trailing bytes. Each
// factory draws its parameters from the case's PRNG when the case is generated and returns a
// RawEdit, so encoding stays a pure function of the draft. Addresses (bytes 12..19) are never
// touched: a case stays inside 198.18.0.0/16 <-> 198.19.0.0/16.
import { IPV4_FIELD, TCP_FIELD, readU16, writeU16 } from '../wire/index.js';
import { fixChecksums, fixTcpChecksum, type RawEdit } from './draft.js';
import type { FuzzRng } from './rng.js';

export const CORRUPTIONS = [
  'tcp-checksum', 'ip-checksum', 'ihl-small', 'ihl-large', 'ip-options', 'doff-small', 'doff-large', 'truncate',
  'total-length', 'trailing-bytes', 'version', 'protocol', 'fragment', 'option-length', 'reserved-bits', 'urgent',
] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

function hl(b: Uint8Array): number {
  return (b[0] & 0x0f) * 4;
}

/** The factory for one corruption kind; the returned edit copies before it changes anything. */
export function corruption(kind: Corruption, rng: FuzzRng): RawEdit {
  switch (kind) {
    case 'tcp-checksum': {
      const bit = 1 << rng.int(0, 15);
      return (b) => {
        const o = hl(b) + TCP_FIELD.CHECKSUM;
        if (o + 2 > b.length) return b;
        const c = b.slice();
        writeU16(c, o, readU16(c, o) ^ bit);
        return c;
      };
    }
    case 'ip-checksum': {
      const bit = 1 << rng.int(0, 15);
      return (b) => {
        const c = b.slice();
        writeU16(c, IPV4_FIELD.CHECKSUM, readU16(c, IPV4_FIELD.CHECKSUM) ^ bit);
        return c;
      };
    }
    case 'ihl-small': {
      const ihl = rng.int(0, 4);
      return (b) => {
        const c = b.slice();
        c[0] = (c[0] & 0xf0) | ihl;
        return c;
      };
    }
    case 'ihl-large': {
      const ihl = rng.int(6, 15);
      const fix = rng.chance(0.5);
      return (b) => {
        const c = b.slice();
        c[0] = (c[0] & 0xf0) | ihl;
        return fix ? fixChecksums(c) : c;
      };
    }
    case 'ip-options': {
      // Real IP options (NOPs, or a record-route with room for addresses): a valid packet with IHL > 5.
      const words = rng.int(1, 10);
      const rr = rng.chance(0.5) && words >= 2;
      return (b) => {
        const h = hl(b);
        const extra = words * 4;
        if (h + extra > 60) return b;
        const c = new Uint8Array(b.length + extra);
        c.set(b.subarray(0, h));
        const opt = c.subarray(h, h + extra);
        opt.fill(1); // NOP
        if (rr) {
          opt[0] = 7; // record route
          opt[1] = Math.min(39, extra - 1 - ((extra - 1 - 3) % 4));
          opt[2] = 4;
          opt.fill(0, 3, opt[1]);
          opt.fill(0, opt[1]); // EOL after it
        }
        c.set(b.subarray(h), h + extra);
        c[0] = (c[0] & 0xf0) | ((h + extra) >> 2);
        writeU16(c, IPV4_FIELD.TOTAL_LENGTH, readU16(b, IPV4_FIELD.TOTAL_LENGTH) + extra);
        return fixChecksums(c);
      };
    }
    case 'doff-small':
    case 'doff-large': {
      const doff = kind === 'doff-small' ? rng.int(0, 4) : rng.int(6, 15);
      const fix = rng.chance(0.7);
      return (b) => {
        const o = hl(b) + TCP_FIELD.OFFSET;
        if (o >= b.length) return b;
        const c = b.slice();
        c[o] = (c[o] & 0x0f) | (doff << 4);
        return fix ? fixTcpChecksum(c) : c;
      };
    }
    case 'truncate': {
      const frac = rng.u32() / 0x100000000;
      const keepTotal = rng.chance(0.4);
      return (b) => {
        const n = Math.max(1, Math.floor(b.length * frac));
        const c = b.slice(0, n);
        if (!keepTotal && n >= 4) writeU16(c, IPV4_FIELD.TOTAL_LENGTH, n);
        return keepTotal ? c : fixChecksums(c);
      };
    }
    case 'total-length': {
      // Below the IP header, inside the TCP header, anything, or beyond the captured bytes.
      const mode = rng.int(0, 3);
      const delta = rng.int(1, 19);
      const v = rng.int(0, 0xffff);
      return (b) => {
        const c = b.slice();
        const h = hl(c);
        const total = mode === 0 ? h - delta : mode === 1 ? h + delta : mode === 2 ? v : b.length + delta;
        writeU16(c, IPV4_FIELD.TOTAL_LENGTH, Math.max(0, Math.min(0xffff, total)));
        return fixChecksums(c);
      };
    }
    case 'trailing-bytes': {
      const n = rng.int(1, 40);
      const fill = rng.int(0, 255);
      return (b) => {
        const c = new Uint8Array(b.length + n);
        c.set(b);
        c.fill(fill, b.length);
        return c; // IPv4 total length unchanged: link-layer padding
      };
    }
    case 'version': {
      const version = rng.pick([0, 5, 6, 15]);
      return (b) => {
        const c = b.slice();
        c[0] = (version << 4) | (c[0] & 0x0f);
        return c;
      };
    }
    case 'protocol': {
      const proto = rng.pick([0, 1, 17, 41, 132, 255]);
      return (b) => {
        const c = b.slice();
        c[IPV4_FIELD.PROTOCOL] = proto;
        return fixChecksums(c);
      };
    }
    case 'fragment': {
      const word = rng.pick([0x2000, 0x2000 | rng.int(1, 0x1fff), rng.int(1, 0x1fff), 0x8000 | 0x4000]);
      return (b) => {
        const c = b.slice();
        writeU16(c, IPV4_FIELD.FLAGS_FRAGMENT, word);
        return fixChecksums(c);
      };
    }
    case 'option-length': {
      const which = rng.int(0, 7);
      const len = rng.pick([0, 1, 2, 3, 11, 39, 40, 255]);
      return (b) => {
        const h = hl(b);
        if (h + 20 > b.length) return b;
        const doff = (b[h + TCP_FIELD.OFFSET] >>> 4) * 4;
        const end = Math.min(b.length, h + doff);
        // Walk to the which-th non-NOP option and overwrite its length byte.
        let i = h + 20;
        let seen = 0;
        while (i < end - 1) {
          const kind = b[i];
          if (kind === 0) break;
          if (kind === 1) { i++; continue; }
          if (seen === which || i + b[i + 1] >= end) break;
          seen++;
          i += Math.max(2, b[i + 1]);
        }
        if (i >= end - 1) return b;
        const c = b.slice();
        if (c[i] === 1 || c[i] === 0) c[i] = 2;
        c[i + 1] = len;
        return fixTcpChecksum(c);
      };
    }
    case 'reserved-bits': {
      const bits = rng.int(1, 7);
      return (b) => {
        const o = hl(b) + TCP_FIELD.OFFSET;
        if (o >= b.length) return b;
        const c = b.slice();
        c[o] = (c[o] & 0xf1) | (bits << 1);
        return fixTcpChecksum(c);
      };
    }
    case 'urgent': {
      const ptr = rng.pick([0, 1, 0xffff, rng.int(0, 0xffff)]);
      return (b) => {
        const h = hl(b);
        if (h + 20 > b.length) return b;
        const c = b.slice();
        c[h + TCP_FIELD.FLAGS] |= 0x20;
        writeU16(c, h + TCP_FIELD.URGENT, ptr);
        return fixTcpChecksum(c);
      };
    }
  }
}
