// Byte-level corruptions of an encoded IPv4/TCP packet: bad checksums, IHL and data-offset
// errors, truncation, malformed option lengths, IP options, fragments, trailing bytes. Each
// factory draws its parameters from the case's PRNG when the case is generated and returns a
// RawEdit, so encoding stays a pure function of the draft. Addresses (bytes 12..19) are never
// touched: a case stays inside 198.18.0.0/16 <-> 198.19.0.0/16.
import { Ipv4Packet, TCP_FIELD, TCP_MIN_HEADER_LEN, TcpFlag, TcpOptionKind, TcpSegment } from '../wire/index.js';
import { fixChecksums, fixTcpChecksum, type RawEdit } from './draft.js';
import type { FuzzRng } from './rng.js';

export const CORRUPTIONS = [
  'tcp-checksum', 'ip-checksum', 'ihl-small', 'ihl-large', 'ip-options', 'doff-small', 'doff-large', 'truncate',
  'total-length', 'trailing-bytes', 'version', 'protocol', 'fragment', 'option-length', 'reserved-bits', 'urgent',
] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

/** The IPv4 header length the (maybe corrupted) IHL claims. */
function hl(b: Uint8Array): number {
  return new Ipv4Packet(b).headerLength;
}

/** The TCP header after the IPv4 header the IHL claims (its fields only read where the bytes are). */
function tcpAt(b: Uint8Array): TcpSegment {
  const h = hl(b);
  return new TcpSegment(b, h, Math.max(0, b.length - h));
}

/** IPv4 option 7, record route (RFC 791 §3.1). */
const IPOPT_RR = 7;
/** A record-route option's pointer starts at its first address slot. */
const IPOPT_RR_FIRST_SLOT = 4;
const IPOPT_NOP = 1;

/** The factory for one corruption kind; the returned edit copies before it changes anything. */
export function corruption(kind: Corruption, rng: FuzzRng): RawEdit {
  switch (kind) {
    case 'tcp-checksum': {
      const bit = 1 << rng.int(0, 15);
      return (b) => {
        if (hl(b) + TCP_FIELD.CHECKSUM + 2 > b.length) return b;
        const c = b.slice();
        tcpAt(c).checksum ^= bit;
        return c;
      };
    }
    case 'ip-checksum': {
      const bit = 1 << rng.int(0, 15);
      return (b) => {
        const c = b.slice();
        new Ipv4Packet(c).checksum ^= bit;
        return c;
      };
    }
    case 'ihl-small': {
      const ihl = rng.int(0, 4);
      return (b) => {
        const c = b.slice();
        new Ipv4Packet(c).ihl = ihl;
        return c;
      };
    }
    case 'ihl-large': {
      const ihl = rng.int(6, 15);
      const fix = rng.chance(0.5);
      return (b) => {
        const c = b.slice();
        new Ipv4Packet(c).ihl = ihl;
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
        opt.fill(IPOPT_NOP);
        if (rr) {
          // Record route with empty address slots, then EOL (zeros) to the end of the options.
          const len = Math.min(39, extra - 1 - ((extra - 1 - 3) % 4));
          opt.set([IPOPT_RR, len, IPOPT_RR_FIRST_SLOT]);
          opt.fill(0, 3);
        }
        c.set(b.subarray(h), h + extra);
        const ip = new Ipv4Packet(c);
        ip.headerLength = h + extra;
        ip.totalLength = new Ipv4Packet(b).totalLength + extra;
        return fixChecksums(c);
      };
    }
    case 'doff-small':
    case 'doff-large': {
      const doff = kind === 'doff-small' ? rng.int(0, 4) : rng.int(6, 15);
      const fix = rng.chance(0.7);
      return (b) => {
        if (hl(b) + TCP_FIELD.OFFSET >= b.length) return b;
        const c = b.slice();
        tcpAt(c).dataOffset = doff;
        return fix ? fixTcpChecksum(c) : c;
      };
    }
    case 'truncate': {
      const frac = rng.u32() / 0x100000000;
      const keepTotal = rng.chance(0.4);
      return (b) => {
        const n = Math.max(1, Math.floor(b.length * frac));
        const c = b.slice(0, n);
        if (!keepTotal && n >= 4) new Ipv4Packet(c).totalLength = n;
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
        new Ipv4Packet(c).totalLength = Math.max(0, Math.min(0xffff, total));
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
        new Ipv4Packet(c).version = version;
        return c;
      };
    }
    case 'protocol': {
      const proto = rng.pick([0, 1, 17, 41, 132, 255]);
      return (b) => {
        const c = b.slice();
        new Ipv4Packet(c).protocol = proto;
        return fixChecksums(c);
      };
    }
    case 'fragment': {
      const word = rng.pick([0x2000, 0x2000 | rng.int(1, 0x1fff), rng.int(1, 0x1fff), 0x8000 | 0x4000]);
      return (b) => {
        const c = b.slice();
        new Ipv4Packet(c).flagsFragment = word;
        return fixChecksums(c);
      };
    }
    case 'option-length': {
      const which = rng.int(0, 7);
      const len = rng.pick([0, 1, 2, 3, 11, 39, 40, 255]);
      return (b) => {
        const h = hl(b);
        if (h + TCP_MIN_HEADER_LEN > b.length) return b;
        const end = Math.min(b.length, h + tcpAt(b).headerLength);
        // Walk to the which-th non-NOP option and overwrite its length byte. The option area is
        // walked as it is, malformed lengths included: wire's parsers refuse exactly such bytes.
        let i = h + TCP_MIN_HEADER_LEN;
        let seen = 0;
        while (i < end - 1) {
          const kind = b[i];
          if (kind === TcpOptionKind.EOL) break;
          if (kind === TcpOptionKind.NOP) { i++; continue; }
          // raw-bytes: reads the length byte of a possibly malformed option, which wire's parsers refuse
          if (seen === which || i + b[i + 1] >= end) break;
          seen++;
          // raw-bytes: steps over a possibly malformed option by its own length byte
          i += Math.max(2, b[i + 1]);
        }
        if (i >= end - 1) return b;
        const c = b.slice();
        if (c[i] === TcpOptionKind.NOP || c[i] === TcpOptionKind.EOL) c[i] = TcpOptionKind.MSS;
        // raw-bytes: writes the deliberately wrong option length (wire's encoder computes lengths itself)
        c[i + 1] = len;
        return fixTcpChecksum(c);
      };
    }
    case 'reserved-bits': {
      const bits = rng.int(1, 7);
      return (b) => {
        if (hl(b) + TCP_FIELD.OFFSET >= b.length) return b;
        const c = b.slice();
        tcpAt(c).reserved = bits;
        return fixTcpChecksum(c);
      };
    }
    case 'urgent': {
      const ptr = rng.pick([0, 1, 0xffff, rng.int(0, 0xffff)]);
      return (b) => {
        if (hl(b) + TCP_MIN_HEADER_LEN > b.length) return b;
        const c = b.slice();
        const tcp = tcpAt(c);
        tcp.flags |= TcpFlag.URG;
        tcp.urgentPointer = ptr;
        return fixTcpChecksum(c);
      };
    }
  }
}
