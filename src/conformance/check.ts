// `ctsim conformance check`: another implementation's verdicts against the suite's expected
// ones. Every packet is compared on the fields both sides give (verdict, dir, state, timeout,
// nat) and counted under its behaviour category (categorise.ts). Within a case, later packets
// often differ only because an earlier one did; so each disagreeing case is reduced to its first
// differing packet, and cases whose first difference looks the same (category, field, both
// values, the packet's class in the kernel's state table: SYN, SYNACK, FIN, ACK, RST, NONE)
// form one finding. Each finding shows Linux's --explain story for that
// packet and the shortest case showing it: the shortest prefix among its cases, or, with a peer
// that can run cases (minimiseFindings), a ddmin-minimised case.
import { TCP_CLASS_NAMES, TCP_STATE_NAMES, classifyTcp } from '../conntrack/tcp-states.js';
import { minimise } from '../fuzz/index.js';
import { explanationLines, tableCellText } from '../replay/explain.js';
import { formatPacketText, formatVerdictText } from '../replay/replay.js';
import { ipv4Endpoints, tcpFlagsShort } from '../wire/index.js';
import { CATEGORIES, categoriseCase, type Category } from './categorise.js';
import { expectCase, type Profile } from './expect.js';
import type { Peer } from './peer.js';
import { loadCase, type Suite, type VerdictTable } from './read-suite.js';
import { asFuzzCase, type SuiteCase } from './suite-case.js';
import { COMPARED_FIELDS, natText, sameNat, type ComparedField, type VerdictLine } from './verdict-line.js';

export interface Tally {
  packets: number;
  agree: number;
}

export interface PacketDiff {
  case: string;
  n: number;
  category: Category | 'nat';
  field: ComparedField;
  expected: VerdictLine;
  actual: VerdictLine;
}

export interface Finding {
  /** category | field | linux value | other value | packet class */
  signature: string;
  category: Category | 'nat';
  field: ComparedField;
  linux: string;
  other: string;
  /** The packet's class (get_conntrack_index(): SYN, SYNACK, FIN, ACK, RST, NONE; '-' without a TCP header). */
  packetClass: string;
  /** The example packet's flags. */
  flags: string;
  /** Cases whose first difference is this one. */
  cases: string[];
  /** The case with the shortest prefix showing it, and that packet. */
  example: { case: string; n: number };
  /** Linux's side of the example packet: verdict row and --explain lines. */
  story: string[];
  /** Set by minimiseFindings: the ddmin-shrunk case. */
  minimised?: { case: SuiteCase; n: number; runs: number; from: number; story: string[] };
}

export interface CheckReport {
  suite: string;
  profile: Profile;
  implementation: string;
  cases: number;
  packets: number;
  /** Packets agreeing on every field both sides give. */
  agree: number;
  byCategory: Record<Category, Tally>;
  /** Packets of NAT cases where both sides gave a NAT result and agreed on the verdict. */
  nat: Tally;
  byField: Record<ComparedField, Tally>;
  casesDiffering: number;
  findings: Finding[];
}

function fieldValue(l: VerdictLine, f: ComparedField): string {
  const v = l[f];
  if (f === 'nat') return natText(v as VerdictLine['nat']);
  return v === null ? 'null' : String(v);
}

/** Fields both lines give that differ, in COMPARED_FIELDS order. */
export function differingFields(e: VerdictLine, a: VerdictLine): ComparedField[] {
  const out: ComparedField[] = [];
  for (const f of COMPARED_FIELDS) {
    if (a[f] === undefined || e[f] === undefined) continue;
    const same = f === 'nat' ? sameNat(e.nat ?? null, a.nat ?? null) : e[f] === a[f];
    if (!same) out.push(f);
  }
  return out;
}

function packetFlags(c: SuiteCase, n: number): string {
  const e = ipv4Endpoints(c.packets[n - 1].bytes);
  return e && e.tcpFlags >= 0 ? tcpFlagsShort(e.tcpFlags) : '-';
}

/** The packet's row in the kernel's state table (TCP_SYN_SET ...), the grouping key of findings. */
export function packetClassOf(c: SuiteCase, n: number): string {
  const e = ipv4Endpoints(c.packets[n - 1].bytes);
  return e && e.tcpFlags >= 0 ? TCP_CLASS_NAMES[classifyTcp(e.tcpFlags)] : '-';
}

/** The Linux side of one packet in words: the row, the verdict, and why (--explain). */
function storyOf(c: SuiteCase, n: number, p: Profile): string[] {
  const { rows } = expectCase({ ...c, packets: c.packets.slice(0, n) }, p, true);
  const row = rows[n - 1];
  const lines = [formatPacketText(row).trim(), `linux: ${formatVerdictText(row)}${c.nat ? `; NAT ${natText(expectCase({ ...c, packets: c.packets.slice(0, n) }, p).lines[n - 1].nat)}` : ''}`];
  if (row.why) return [...lines, ...explanationLines(row.why)];
  const e = ipv4Endpoints(c.packets[n - 1].bytes);
  const before = row.stateBefore === null ? -1 : TCP_STATE_NAMES.indexOf(row.stateBefore as (typeof TCP_STATE_NAMES)[number]);
  const after = row.state === null ? -1 : TCP_STATE_NAMES.indexOf(row.state as (typeof TCP_STATE_NAMES)[number]);
  if (e && e.tcpFlags >= 0 && before >= 0 && after >= 0 && row.dir) {
    lines.push(`why: state table: ${tableCellText(row.dir === 'original' ? 0 : 1, classifyTcp(e.tcpFlags), before, after)}; the window check passed`);
  }
  return lines;
}

/** The other implementation's line in words. */
export function otherSide(a: VerdictLine): string {
  const parts = [`other: ${a.verdict}`];
  if (a.dir) parts.push(a.dir);
  if (a.state) parts.push(a.state);
  if (a.nat !== undefined) parts.push(`NAT ${natText(a.nat)}`);
  if (a.detail && typeof a.detail.ct_state === 'string') parts.push(`(ct_state ${a.detail.ct_state})`);
  return parts.join(' ');
}

/** The first packet of a case where the two sides differ, or null. */
export function firstDiff(c: SuiteCase, exp: readonly VerdictLine[], act: readonly VerdictLine[], cats: readonly Category[]): PacketDiff | null {
  for (let i = 0; i < exp.length; i++) {
    const fields = differingFields(exp[i], act[i]);
    if (!fields.length) continue;
    const field = fields[0];
    return { case: c.id, n: i + 1, field, category: field === 'nat' ? 'nat' : cats[i], expected: exp[i], actual: act[i] };
  }
  return null;
}

export function signatureOf(d: PacketDiff, packetClass: string): { signature: string; linux: string; other: string } {
  // Timeouts differ by value all over: group them by the entry state instead.
  const linux = d.field === 'timeout' ? `${d.expected.state}: ${fieldValue(d.expected, 'timeout')}s` : fieldValue(d.expected, d.field);
  const other = d.field === 'timeout' ? `${fieldValue(d.actual, 'timeout')}s` : fieldValue(d.actual, d.field);
  let sigOther = d.field === 'timeout' ? '*' : other;
  let sigLinux = d.field === 'timeout' ? String(d.expected.state) : linux;
  if (d.field === 'nat') {
    // Addresses are the case's own: group by what differs.
    const e = d.expected.nat ?? null;
    const a = d.actual.nat ?? null;
    sigLinux = e ? 'rewritten' : 'none';
    sigOther = a ? (e ? `differs in ${(['src', 'sport', 'dst', 'dport'] as const).filter((k) => e[k] !== a[k]).join('+')}` : 'rewritten') : 'none';
  }
  return { signature: `${d.category}|${d.field}|${sigLinux}|${sigOther}|${packetClass}`, linux, other };
}

function emptyTallies(): Record<Category, Tally> {
  return Object.fromEntries(CATEGORIES.map((c) => [c, { packets: 0, agree: 0 }])) as Record<Category, Tally>;
}

export function checkVerdicts(s: Suite, expected: VerdictTable, actual: VerdictTable, implementation: string): CheckReport {
  const p: Profile = { kernel: s.manifest.profile.kernel, sysctls: s.manifest.profile.sysctls };
  const byCategory = emptyTallies();
  const byField = Object.fromEntries(COMPARED_FIELDS.map((f) => [f, { packets: 0, agree: 0 }])) as Record<ComparedField, Tally>;
  const nat: Tally = { packets: 0, agree: 0 };
  const findings = new Map<string, Finding>();
  const shortest = new Map<string, { c: SuiteCase; n: number; d: PacketDiff }>();
  let packets = 0;
  let agree = 0;
  let casesDiffering = 0;
  for (const mc of s.manifest.cases) {
    const c = loadCase(s, mc.id);
    const exp = expected.get(mc.id)!;
    const act = actual.get(mc.id)!;
    const { rows } = expectCase(c, p, true);
    const cats = categoriseCase(c.packets, rows);
    for (let i = 0; i < exp.length; i++) {
      packets++;
      const fields = differingFields(exp[i], act[i]);
      for (const f of COMPARED_FIELDS) {
        if (exp[i][f] === undefined || act[i][f] === undefined) continue;
        byField[f].packets++;
        if (!fields.includes(f)) byField[f].agree++;
      }
      const behaviour = fields.filter((f) => f !== 'nat');
      byCategory[cats[i]].packets++;
      if (!behaviour.length) byCategory[cats[i]].agree++;
      if (exp[i].nat !== undefined && act[i].nat !== undefined && !fields.includes('verdict') && !fields.includes('dir')) {
        nat.packets++;
        if (!fields.includes('nat')) nat.agree++;
      }
      if (!fields.length) agree++;
    }
    const d = firstDiff(c, exp, act, cats);
    if (!d) continue;
    casesDiffering++;
    const flags = packetFlags(c, d.n);
    const packetClass = packetClassOf(c, d.n);
    const sig = signatureOf(d, packetClass);
    let f = findings.get(sig.signature);
    if (!f) {
      f = { signature: sig.signature, category: d.category, field: d.field, linux: sig.linux, other: sig.other, packetClass, flags, cases: [], example: { case: c.id, n: d.n }, story: [] };
      findings.set(sig.signature, f);
    }
    f.cases.push(c.id);
    const best = shortest.get(sig.signature);
    if (!best || d.n < best.n) {
      shortest.set(sig.signature, { c, n: d.n, d });
      Object.assign(f, { linux: sig.linux, other: sig.other, flags });
    }
  }
  for (const f of findings.values()) {
    const best = shortest.get(f.signature)!;
    f.example = { case: best.c.id, n: best.n };
    f.story = [...storyOf(best.c, best.n, p), otherSide(best.d.actual)];
  }
  const list = [...findings.values()].sort((a, b) => b.cases.length - a.cases.length || a.signature.localeCompare(b.signature));
  return { suite: s.dir, profile: p, implementation, cases: s.manifest.cases.length, packets, agree, byCategory, nat, byField, casesDiffering, findings: list };
}

/**
 * Shrinks the example of each finding (at most `limit`) with the fuzzer's ddmin minimiser, the
 * peer running every candidate: a candidate keeps the finding when its first difference has the
 * same signature.
 */
export async function minimiseFindings(r: CheckReport, s: Suite, peer: Peer, opts: { limit?: number; maxRuns?: number } = {}): Promise<void> {
  const p = r.profile;
  for (const f of r.findings.slice(0, opts.limit ?? 10)) {
    const full = loadCase(s, f.example.case);
    const start: SuiteCase = { ...full, packets: full.packets.slice(0, f.example.n) };
    // The minimiser is synchronous: collect the peer's answers for a candidate, then judge it.
    const judge = async (c: SuiteCase): Promise<PacketDiff | null> => {
      const [act] = await peer.run([c]);
      const { lines, rows } = expectCase(c, p, false);
      return firstDiff(c, lines, act, categoriseCase(c.packets, rows));
    };
    const keeps = async (c: SuiteCase) => {
      const d = await judge(c);
      return d !== null && signatureOf(d, packetClassOf(c, d.n)).signature === f.signature;
    };
    if (!(await keeps(start))) continue;
    const best = await minimiseAsync(start, keeps, opts.maxRuns ?? 150, p);
    const d = (await judge(best.case))!;
    f.minimised = { case: { ...best.case, id: `${f.example.case}-min` }, n: d.n, runs: best.runs, from: start.packets.length, story: [...storyOf(best.case, d.n, p), otherSide(d.actual)] };
  }
}

/**
 * ddmin through the fuzzer's minimiser with an asynchronous predicate: the minimiser asks
 * synchronously, so each round replays its questions, answering from what the peer said so far
 * and stopping at the first unknown candidate, which is then run and remembered.
 */
async function minimiseAsync(start: SuiteCase, keeps: (c: SuiteCase) => Promise<boolean>, maxRuns: number, p: Profile): Promise<{ case: SuiteCase; runs: number }> {
  const known = new Map<string, boolean>();
  const keyOf = (c: SuiteCase) => c.packets.map((x) => `${x.timeNs}:${Buffer.from(x.bytes).toString('base64')}`).join(',');
  class Unknown extends Error {
    constructor(readonly c: SuiteCase) {
      super('unknown candidate');
    }
  }
  let runs = 0;
  let best = start;
  for (;;) {
    try {
      const res = minimise(asFuzzCase(start, p.kernel, p.sysctls), (fc) => {
        const c: SuiteCase = { ...start, packets: fc.packets };
        const k = keyOf(c);
        const v = known.get(k);
        if (v === undefined) throw new Unknown(c);
        return v;
      }, { maxRuns });
      return { case: { ...start, packets: res.case.packets }, runs };
    } catch (e) {
      if (!(e instanceof Unknown)) throw e;
      if (runs >= maxRuns) return { case: best, runs };
      runs++;
      const ok = await keeps(e.c);
      known.set(keyOf(e.c), ok);
      if (ok && e.c.packets.length <= best.packets.length) best = e.c;
    }
  }
}
