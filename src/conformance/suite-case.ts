// A conformance case: a short raw-IPv4 capture on a virtual clock (a FuzzCase's packets), where
// it came from, and whether the suite's NAT rule applies to it. Cases are inputs only: what a
// conntrack should make of them is computed per kernel profile (expect.ts).
import { PROXY_ADDR, PROXY_PORT, isClientAddr, isServerAddr, type FuzzCase, type FuzzPacket } from '../fuzz/index.js';
import { IpProtocol, ipv4Endpoints, withIpv4Endpoints } from '../wire/index.js';

export type CaseOrigin = 'fuzz' | 'regression' | 'seed';

export interface SuiteCase {
  /** Unique in a suite; letters, digits, '.', '_', '-' (the pcap is cases/<id>.pcap). */
  id: string;
  origin: CaseOrigin;
  description: string;
  /**
   * The NAT rule applies: every new connection from 198.18.0.0/16 to 198.19.0.0/16 is redirected
   * (DNAT) to 198.19.255.254:15001, and the server's packets come from that address and port (as
   * the sidecar sends them): Istio's `-j REDIRECT` seen by a router-style conntrack.
   */
  nat: boolean;
  packets: FuzzPacket[];
}

export const CASE_ID_RE = /^[A-Za-z0-9._-]+$/;

/** The case in the fuzzer's shape (for its minimiser and replay helpers). */
export function asFuzzCase(c: SuiteCase, kernel: string, sysctls: readonly string[]): FuzzCase {
  return { kernel, sysctls: sysctls.slice(), seed: 0, index: 0, mode: 'structured', packets: c.packets, tags: [c.id] };
}

/**
 * The NAT variant of a case: each TCP packet from a server (198.19.0.0/16) to a client
 * (198.18.0.0/16) is sent by the sidecar instead (source 198.19.255.254:15001, checksums patched
 * incrementally so a wrong one stays wrong). Packets too short to carry ports are kept as they are.
 */
export function redirectVariant(c: SuiteCase): SuiteCase {
  const packets = c.packets.map((p) => {
    const e = ipv4Endpoints(p.bytes);
    if (!e || e.protocol !== IpProtocol.TCP || e.sport < 0 || !isServerAddr(e.src) || !isClientAddr(e.dst)) return p;
    return { timeNs: p.timeNs, bytes: withIpv4Endpoints(p.bytes, { src: PROXY_ADDR, dst: e.dst, sport: PROXY_PORT }) };
  });
  return { ...c, id: `${c.id}-nat`, nat: true, packets, description: `${c.description} (NAT variant: server packets sent by the sidecar)` };
}
