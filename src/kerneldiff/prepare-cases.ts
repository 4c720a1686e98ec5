// Puts many small cases into one injection: each case gets its own client address in
// 198.18.0.0/16 and server address in 198.19.0.0/16, so their tuples never meet in the router's
// conntrack and one run needs no flush between cases. Rewrites patch checksums incrementally
// (RFC 1624), so a deliberately wrong checksum stays exactly as wrong. TTL is set to 64 so the
// router forwards every packet conntrack saw.
import { LAB_MTU } from './netns-lab.js';
import { IPV4_FIELD, checksumUpdate16, checksumUpdate32, inPrefix, ipv4ReceiveError, ip, readU16, readU32, writeU16, writeU32 } from '../wire/index.js';

export interface DiffCase {
  name: string;
  /** Raw IPv4 packets in order. */
  packets: Uint8Array[];
}

export interface InjectedPacket {
  caseIndex: number;
  /** Index of the packet within its case. */
  index: number;
  bytes: Uint8Array;
  /** 'a' = from the client side (src in 198.18/16), 'b' = from the server side. */
  side: 'a' | 'b';
  /** Packets the lab cannot inject meaningfully (not IPv4, not between the two /16s, fragments). */
  skipped?: string;
}

const CLIENTS = ip('198.18.0.0');
const SERVERS = ip('198.19.0.0');

export function caseAddresses(i: number): { client: number; server: number } {
  // .255.252/30 belongs to the lab's own links; cases use 198.18.0.1 .. 198.18.254.254.
  const hi = Math.floor(i / 254);
  const lo = (i % 254) + 1;
  if (hi > 254) throw new RangeError('more than 64516 cases in one batch');
  return { client: (CLIENTS + hi * 256 + lo) >>> 0, server: (SERVERS + hi * 256 + lo) >>> 0 };
}

export function prepareCases(cases: DiffCase[]): InjectedPacket[] {
  const out: InjectedPacket[] = [];
  cases.forEach((c, ci) => {
    const { client, server } = caseAddresses(ci);
    c.packets.forEach((orig, pi) => {
      const b = orig.slice();
      const base: InjectedPacket = { caseIndex: ci, index: pi, bytes: b, side: 'a' };
      const bad = ipv4ReceiveError(b, 0, b.length);
      if (bad !== null) {
        out.push({ ...base, skipped: `dropped by ip_rcv before conntrack: ${bad.message}` });
        return;
      }
      if ((b[0] & 0x0f) > 5) {
        // ip_rcv_options() judges (and may drop) IP options before PREROUTING; ctsim does not model it.
        out.push({ ...base, skipped: 'IPv4 options (ip_options_compile runs before conntrack; not modelled)' });
        return;
      }
      if (b[IPV4_FIELD.PROTOCOL] !== 6) {
        // The kernel tracks other protocols with its generic/UDP/ICMP trackers; ctsim models TCP only.
        out.push({ ...base, skipped: 'not TCP (ctsim models TCP conntrack only)' });
        return;
      }
      if (b.length > LAB_MTU) {
        out.push({ ...base, skipped: `longer than the lab MTU (${LAB_MTU})` });
        return;
      }
      const flags = readU16(b, IPV4_FIELD.FLAGS_FRAGMENT);
      if (flags & 0x3fff) {
        out.push({ ...base, skipped: 'IPv4 fragment (defragmented before conntrack)' });
        return;
      }
      const src = readU32(b, IPV4_FIELD.SRC);
      const dst = readU32(b, IPV4_FIELD.DST);
      const fromClient = inPrefix(src, CLIENTS, 16) && inPrefix(dst, SERVERS, 16);
      const fromServer = inPrefix(src, SERVERS, 16) && inPrefix(dst, CLIENTS, 16);
      if (!fromClient && !fromServer) {
        out.push({ ...base, skipped: 'not between 198.18.0.0/16 and 198.19.0.0/16' });
        return;
      }
      const newSrc = fromClient ? client : server;
      const newDst = fromClient ? server : client;
      const hl = (b[0] & 0x0f) << 2;
      let ipSum = readU16(b, IPV4_FIELD.CHECKSUM);
      ipSum = checksumUpdate32(ipSum, src, newSrc);
      ipSum = checksumUpdate32(ipSum, dst, newDst);
      const ttlWord = readU16(b, IPV4_FIELD.TTL);
      const newTtlWord = (64 << 8) | b[IPV4_FIELD.PROTOCOL];
      ipSum = checksumUpdate16(ipSum, ttlWord, newTtlWord);
      writeU16(b, IPV4_FIELD.CHECKSUM, ipSum);
      b[IPV4_FIELD.TTL] = 64;
      writeU32(b, IPV4_FIELD.SRC, newSrc);
      writeU32(b, IPV4_FIELD.DST, newDst);
      const total = readU16(b, 2);
      if (b[IPV4_FIELD.PROTOCOL] === 6 && total - hl >= 18) {
        // The TCP checksum covers the pseudo-header addresses.
        let t = readU16(b, hl + 16);
        t = checksumUpdate32(t, src, newSrc);
        t = checksumUpdate32(t, dst, newDst);
        writeU16(b, hl + 16, t);
      }
      out.push({ ...base, side: fromClient ? 'a' : 'b' });
    });
  });
  return out;
}
