// A replay run (one profile, or two with --compare) as a report: every packet's verdict, its
// --explain story and bytes, a ladder of the tracked packets, the counts as the outcome.
import type { CaptureRecord } from '../pcap/index.js';
import type { ReplayRow, ReplayStep } from '../replay/index.js';
import { ladderSvg, type Lane, type LadderArrow, type LadderVerdict } from '../scenarios/ladder-svg.js';
import { explainLines } from '../replay/replay.js';
import type { ReportFact, ReportInput, ReportPacket, ReportProfile, ReportVerdict } from './report-types.js';

/** The most packets a report holds (and the ladder draws): a ticket attachment, not an archive. */
export const REPORT_MAX_PACKETS = 5000;
const LADDER_MAX_ARROWS = 400;
const LADDER_MAX_LANES = 6;

function verdictOf(r: ReplayRow): ReportVerdict {
  return { ctinfo: r.ctinfo, outcome: r.outcome, dir: r.dir, stateBefore: r.stateBefore, state: r.state, reason: r.reason, explain: explainLines(r) };
}

const LADDER_VERDICT: Record<string, LadderVerdict> = { ACCEPT: 'accept', IGNORE: 'ignore', INVALID: 'invalid', DROP: 'drop' };

/** Collects a replay's steps (up to REPORT_MAX_PACKETS) and builds the report at the end. */
export class ReplayReportBuilder {
  readonly packets: ReportPacket[] = [];
  omitted = 0;

  add(step: ReplayStep): void {
    if (step.kind === 'skip' || !step.a) return;
    if (this.packets.length >= REPORT_MAX_PACKETS) {
      this.omitted++;
      return;
    }
    this.packets.push(reportPacket(step.rec, step.a, step.b, step.differs));
  }

  build(o: { command: string; version: string; profiles: ReportProfile[]; counts: { packets: number; differ: number; firstDiffer: number | null } }): ReportInput {
    return replayReport(this.packets, { ...o, omitted: this.omitted });
  }
}

export function reportPacket(rec: CaptureRecord, a: ReplayRow, b: ReplayRow | null, differs: boolean): ReportPacket {
  return {
    n: a.n, time: a.time, where: rec.iface.name ?? '', src: a.src ? `${a.src}:${a.sport}` : '-', dst: a.dst ? `${a.dst}:${a.dport}` : '-',
    flags: a.flags, seq: a.seqRaw ?? 0, ack: a.ackRaw, len: a.len, a: verdictOf(a), b: b ? verdictOf(b) : null, differs, notes: [], bytes: rec.data,
  };
}

/** A ladder of the first tracked packets: one lane per address (in order of appearance), conntrack after the first. */
function replayLadder(packets: readonly ReportPacket[], title: string): string | null {
  const tracked = packets.filter((p) => p.a && p.a.outcome !== 'UNTRACKED' && p.a.outcome !== 'DUPLICATE').slice(0, LADDER_MAX_ARROWS);
  if (tracked.length === 0) return null;
  const hostOf = (ep: string) => ep.slice(0, ep.lastIndexOf(':'));
  const addrs: string[] = [];
  for (const p of tracked) for (const h of [hostOf(p.src), hostOf(p.dst)]) if (!addrs.includes(h)) addrs.push(h);
  const shown = addrs.slice(0, LADDER_MAX_LANES);
  const laneOf = (ep: string) => (shown.includes(hostOf(ep)) ? hostOf(ep) : 'other');
  const lanes: Lane[] = shown.map((a) => ({ id: a, title: a }));
  lanes.splice(1, 0, { id: 'ct', title: 'conntrack' });
  if (addrs.length > shown.length) lanes.push({ id: 'other', title: `${addrs.length - shown.length} more hosts` });
  const arrows: LadderArrow[] = tracked.map((p) => ({
    timeNs: Math.round(p.time * 1e9), from: laneOf(p.src), to: laneOf(p.dst), flags: p.flags, seq: p.seq, ack: p.ack, len: p.len,
    verdict: LADDER_VERDICT[p.a!.outcome] ?? 'none',
    verdictText: `#${p.n} ${p.a!.ctinfo}${p.a!.state ? ` ${p.a!.stateBefore && p.a!.stateBefore !== p.a!.state ? `${p.a!.stateBefore}->` : ''}${p.a!.state}` : ''}${p.differs && p.b ? ` | B: ${p.b.ctinfo}` : ''}`,
  }));
  return ladderSvg({ title: `${title}${tracked.length < packets.length ? ` (first ${tracked.length} tracked packets)` : ''}`, lanes, arrows, conntrackLane: 'ct', seq: 'raw' });
}

/** The report of replayed packets (from ReplayReportBuilder, or rows a library user collected). */
export function replayReport(packets: ReportPacket[], o: { command: string; version: string; profiles: ReportProfile[]; omitted?: number; counts?: { packets: number; differ: number; firstDiffer: number | null } }): ReportInput {
  const outcome: ReportFact[] = [];
  const byOutcome = new Map<string, number>();
  for (const p of packets) if (p.a) byOutcome.set(p.a.outcome, (byOutcome.get(p.a.outcome) ?? 0) + 1);
  outcome.push({ label: 'packets', value: String(o.counts?.packets ?? packets.length), tone: 'neutral' });
  for (const [k, n] of byOutcome) outcome.push({ label: k, value: String(n), tone: k === 'INVALID' || k === 'DROP' ? 'bad' : 'neutral' });
  if (o.profiles.length > 1) {
    const differ = o.counts?.differ ?? packets.filter((p) => p.differs).length;
    const first = o.counts?.firstDiffer ?? packets.find((p) => p.differs)?.n ?? null;
    outcome.push({ label: `verdicts that differ (${o.profiles[0].label} vs ${o.profiles[1].label})`, value: `${differ}${first !== null ? `, first at #${first}` : ''}`, tone: differ ? 'bad' : 'good' });
  }
  const title = o.profiles.length > 1 ? `ctsim replay: ${o.profiles[0].label} vs ${o.profiles[1].label}` : `ctsim replay: kernel ${o.profiles[0]?.label ?? ''}`;
  return { kind: 'replay', title, command: o.command, version: o.version, profiles: o.profiles, outcome, ladderSvg: replayLadder(packets, title), packets, packetsOmitted: o.omitted ?? 0, timeline: [], tables: [] };
}
