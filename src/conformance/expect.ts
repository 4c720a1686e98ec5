// What the named Linux profile does with a case, packet by packet: the replayer's rows (the same
// as `ctsim replay <case>.pcap --kernel K --json`) turned into verdict lines, with the NAT rule of
// NAT cases applied the way the kernel's nat hooks apply it around conntrack.
import { PROXY_ADDR, PROXY_PORT, isClientAddr, isServerAddr } from '../fuzz/index.js';
import { caseRecords } from '../fuzz/replay-records.js';
import type { CaptureRecord } from '../pcap/index.js';
import { Replayer, type ReplayNat, type ReplayRow } from '../replay/replay.js';
import { formatIpv4Address, ipv4Endpoints } from '../wire/index.js';
import { asFuzzCase, type SuiteCase } from './suite-case.js';
import { lineOfRow, type NatResult, type VerdictLine } from './verdict-line.js';

export interface Profile {
  kernel: string;
  sysctls: readonly string[];
}

export interface ExpectedCase {
  lines: VerdictLine[];
  rows: ReplayRow[];
}

/** The suite's NAT rule as replay NAT: REDIRECT client -> server connections to the sidecar. */
function redirect(out: { last: NatResult | null }): ReplayNat {
  return {
    bind(ct, v) {
      if (v.dir !== 0) return;
      const t = ct.tuple(v.entry, 0);
      if (isClientAddr(t.src >>> 0) && isServerAddr(t.dst >>> 0)) ct.bindNat(v.entry, 'dnat', PROXY_ADDR, PROXY_PORT);
    },
    rewrite(ct, v, data, off) {
      const e0 = ipv4Endpoints(data, off);
      if (!e0) return;
      const copy = data.slice(off);
      const dir = v.dir as 0 | 1;
      ct.natManip(copy, 0, v.entry, dir, 'dst');
      ct.natManip(copy, 0, v.entry, dir, 'src');
      const e = ipv4Endpoints(copy)!;
      out.last = { src: formatIpv4Address(e.src), sport: e.sport, dst: formatIpv4Address(e.dst), dport: e.dport };
    },
  };
}

/**
 * Replays `records` (a case's pcap, or its in-memory records) under the profile. With `explain`,
 * rows carry the --explain story of every verdict that has one.
 */
export function expectRecords(c: Pick<SuiteCase, 'id' | 'nat'>, records: Iterable<CaptureRecord>, p: Profile, explain = false): ExpectedCase {
  const natOut = { last: null as NatResult | null };
  const r = new Replayer({ kernel: p.kernel, sysctls: p.sysctls, hook: 'prerouting', ipRcv: true, explain, nat: c.nat ? redirect(natOut) : undefined });
  const lines: VerdictLine[] = [];
  const rows: ReplayRow[] = [];
  for (const rec of records) {
    natOut.last = null;
    const row = r.push(rec);
    rows.push(row);
    const attached = row.dir !== null && row.outcome !== 'DROP';
    lines.push(lineOfRow(c.id, row, c.nat ? (attached ? natOut.last : null) : undefined));
  }
  return { lines, rows };
}

/** The expected lines of a case held in memory (the same records its pcap gives back). */
export function expectCase(c: SuiteCase, p: Profile, explain = false): ExpectedCase {
  return expectRecords(c, caseRecords(asFuzzCase(c, p.kernel, p.sysctls)), p, explain);
}
