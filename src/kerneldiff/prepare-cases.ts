// Puts many small cases into one injection: each case gets its own client address in
// 198.18.0.0/16 and server address in 198.19.0.0/16, so their tuples never meet in the router's
// conntrack and one run needs no flush between cases. Rewrites patch checksums incrementally
// (RFC 1624), so a deliberately wrong checksum stays exactly as wrong. TTL is set to 64 so the
// router forwards every packet conntrack saw.
import { LAB_MTU } from './netns-lab.js';
import { IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, inPrefix, ipv4ReceiveError, ip, rewriteTtl, rewriteTuple } from '../wire/index.js';

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
      const hdr = new Ipv4Packet(b);
      if (hdr.headerLength > IPV4_MIN_HEADER_LEN) {
        // ip_rcv_options() judges (and may drop) IP options before PREROUTING; ctsim does not model it.
        out.push({ ...base, skipped: 'IPv4 options (ip_options_compile runs before conntrack; not modelled)' });
        return;
      }
      if (hdr.protocol !== IpProtocol.TCP) {
        // The kernel tracks other protocols with its generic/UDP/ICMP trackers; ctsim models TCP only.
        out.push({ ...base, skipped: 'not TCP (ctsim models TCP conntrack only)' });
        return;
      }
      if (b.length > LAB_MTU) {
        out.push({ ...base, skipped: `longer than the lab MTU (${LAB_MTU})` });
        return;
      }
      if (hdr.isFragment) {
        out.push({ ...base, skipped: 'IPv4 fragment (defragmented before conntrack)' });
        return;
      }
      const src = hdr.src;
      const dst = hdr.dst;
      const fromClient = inPrefix(src, CLIENTS, 16) && inPrefix(dst, SERVERS, 16);
      const fromServer = inPrefix(src, SERVERS, 16) && inPrefix(dst, CLIENTS, 16);
      if (!fromClient && !fromServer) {
        out.push({ ...base, skipped: 'not between 198.18.0.0/16 and 198.19.0.0/16' });
        return;
      }
      // The TCP checksum covers the pseudo-header addresses: both checksums are patched.
      rewriteTuple(b, 0, { src: fromClient ? client : server, dst: fromClient ? server : client });
      rewriteTtl(b, 0, 64);
      out.push({ ...base, side: fromClient ? 'a' : 'b' });
    });
  });
  return out;
}
