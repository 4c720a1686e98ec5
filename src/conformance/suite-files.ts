// The suite on disk (format ctsim-conformance/1):
//   <dir>/suite.json            manifest: format, profile (kernel + sysctls), NAT rule, cases in order
//   <dir>/expected.jsonl        one verdict line per packet of every case, in manifest order
//   <dir>/verdict.schema.json   JSON Schema (draft-07) of a verdict line
//   <dir>/cases/<id>.pcap       classic pcap, LINKTYPE_RAW (IPv4), nanosecond timestamps
//   <dir>/README.md             how to run it without ctsim
import { createHash } from 'node:crypto';
import { PROXY_ADDR, PROXY_PORT } from '../fuzz/index.js';
import { formatIpv4Address } from '../wire/index.js';
import type { CaseOrigin } from './suite-case.js';
import { SUITE_FORMAT } from './verdict-line.js';

export const MANIFEST = 'suite.json';
export const EXPECTED = 'expected.jsonl';
export const SCHEMA = 'verdict.schema.json';
export const CASES_DIR = 'cases';
export const README = 'README.md';

export interface ManifestCase {
  id: string;
  origin: CaseOrigin;
  nat: boolean;
  packets: number;
  /** sha256 of the case's pcap file. */
  sha256: string;
  description: string;
}

export interface Manifest {
  format: typeof SUITE_FORMAT;
  generator: string;
  profile: { kernel: string; sysctls: string[] };
  /** Packets are tracked as a router (PREROUTING) sees them: TCP checksums are verified. */
  hook: 'prerouting';
  nat: { rule: string; from: string; to: string; redirectTo: { addr: string; port: number } };
  fuzz: { seed: number; count: number; mode: string } | null;
  cases: ManifestCase[];
  packets: number;
}

export const NAT_RULE = {
  rule: 'DNAT (REDIRECT) every new connection whose first packet goes from 198.18.0.0/16 to 198.19.0.0/16',
  from: '198.18.0.0/16',
  to: '198.19.0.0/16',
  redirectTo: { addr: formatIpv4Address(PROXY_ADDR), port: PROXY_PORT },
};

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
