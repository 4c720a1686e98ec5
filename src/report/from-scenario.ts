// A scenario run as a report: the ladder v2 (sockets, conntrack entries, outcome), every packet the
// hosts sent with the pod conntrack's verdict and what happened to it, the outcome, the timeline.
import { ladderDiagram, type LadderVerdict } from '../scenarios/index.js';
import { ladderSvg } from '../scenarios/ladder-svg.js';
import { formatSnapshot, formatTimeline } from '../scenarios/timeline-text.js';
import type { ScenarioResult } from '../scenarios/scenario-types.js';
import type { ReportFact, ReportInput, ReportPacket, ReportProfile } from './report-types.js';

const OUTCOME: Record<LadderVerdict, string> = { accept: 'ACCEPT', ignore: 'IGNORE', invalid: 'INVALID', drop: 'DROP', none: 'UNTRACKED' };

export function scenarioFacts(r: ScenarioResult): ReportFact[] {
  const o = r.outcome;
  const facts: ReportFact[] = [
    { label: "app's FIN reached the sidecar", value: o.appFinReachedSidecar ? 'yes' : 'no', tone: o.appFinReachedSidecar ? 'good' : 'bad' },
    { label: 'sidecar sockets leaked', value: o.leakSeconds > 0 ? `${o.leakSeconds.toFixed(0)} s after the app closed` : 'no leak', tone: o.leakSeconds > 0 ? 'bad' : 'good' },
  ];
  if (o.connect !== null) {
    facts.push({ label: `reconnect from port ${o.port}`, value: `${o.connect}${o.connectSeconds !== null ? ` after ${o.connectSeconds.toFixed(3)} s` : ''}, ${o.synsSent} SYN(s)`, tone: o.connect === 'connected' ? 'good' : 'bad' });
  }
  facts.push({ label: 'INVALID verdicts in the pod', value: String(o.invalidPackets), tone: o.invalidPackets ? 'bad' : 'neutral' });
  facts.push({ label: 'packets dropped', value: String(o.droppedPackets), tone: o.droppedPackets ? 'bad' : 'neutral' });
  return facts;
}

export function scenarioReport(r: ScenarioResult, o: { command: string; version: string; profile: ReportProfile }): ReportInput {
  const d = ladderDiagram(r, 'raw');
  const t0 = r.packets.length ? r.packets[0].timeNs : 0;
  const packets: ReportPacket[] = r.packets.map((p, i) => {
    const arrow = d.arrows[i];
    const outcome = OUTCOME[arrow.verdict];
    return {
      n: i + 1, time: (p.timeNs - t0) / 1e9, where: `${p.host}/${p.iface}`, src: p.src, dst: p.dst, flags: p.flags, seq: p.seq,
      ack: p.flags.includes('.') ? p.ack : null, len: p.len,
      a: arrow.verdict === 'none' ? null : { ctinfo: outcome, outcome, dir: null, stateBefore: null, state: null, reason: arrow.verdictText, explain: [] },
      b: null, differs: false, notes: p.notes, bytes: p.bytes,
    };
  });
  const opts = r.options;
  return {
    kind: 'scenario', title: `ctsim scenario ${d.title}`, command: o.command, version: o.version, profiles: [o.profile],
    outcome: scenarioFacts(r), ladderSvg: ladderSvg(d), packets, packetsOmitted: 0,
    timeline: [...formatTimeline(r.timeline), '', ...r.snapshots.flatMap(formatSnapshot), '', `options: ${JSON.stringify(opts)}`],
    tables: [],
  };
}
