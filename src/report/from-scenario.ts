// A scenario run (any scenario file through the engine) as a report: the ladder v2 (sockets,
// conntrack entries, program outcomes), every packet the hosts sent with conntrack's verdict and
// what happened to it, the outcome, the timeline. Seed incidents add their own outcome facts.
import type { ExecutedScenario } from '../scenarios/engine/execute.js';
import { runLadderDiagram, verdictOf } from '../scenarios/engine/ladder.js';
import { outcomeLines } from '../scenarios/engine/report.js';
import { ladderSvg, type LadderVerdict } from '../scenarios/ladder-svg.js';
import type { ScenarioOutcome } from '../scenarios/scenario-types.js';
import { seedTitle, type SeedRun } from '../scenarios/seed-run.js';
import { formatSnapshot, formatTimeline } from '../scenarios/timeline-text.js';
import type { ReportFact, ReportInput, ReportPacket, ReportProfile } from './report-types.js';

const OUTCOME: Record<LadderVerdict, string> = { accept: 'ACCEPT', ignore: 'IGNORE', invalid: 'INVALID', drop: 'DROP', none: 'UNTRACKED' };

/** The seed incidents' outcome as report facts (FIN reached, leak, reconnect, INVALID, drops). */
export function scenarioFacts(o: ScenarioOutcome): ReportFact[] {
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

/** The file's expectations as facts (held, failed, not observable). */
function expectationFacts(x: ExecutedScenario): ReportFact[] {
  return x.results.map((r) => ({ label: `expect ${r.text}`, value: `${r.pass === null ? 'n/a' : r.pass ? 'ok' : 'FAIL'}: ${r.actual}`, tone: r.pass === null ? 'neutral' : r.pass ? 'good' : 'bad' }));
}

/** Any run: its generic outcome lines and expectations as facts. */
export function runReport(x: ExecutedScenario, title: string, o: { command: string; version: string; profile: ReportProfile; facts?: ReportFact[] }): ReportInput {
  const run = x.run;
  const d = runLadderDiagram(run, title, 'raw');
  const t0 = run.packets.length ? run.packets[0].timeNs : 0;
  const packets: ReportPacket[] = run.packets.map((p, i) => {
    const v = verdictOf(p.notes);
    const outcome = OUTCOME[v.verdict];
    return {
      n: i + 1, time: (p.timeNs - t0) / 1e9, where: `${p.host}/${p.iface}`, src: p.src, dst: p.dst, flags: p.flags, seq: p.seq,
      ack: p.flags.includes('.') ? p.ack : null, len: p.len,
      a: v.verdict === 'none' ? null : { ctinfo: outcome, outcome, dir: null, stateBefore: null, state: null, reason: v.text, explain: [] },
      b: null, differs: false, notes: p.notes, bytes: p.bytes ?? new Uint8Array(0),
    };
  });
  const facts = o.facts ?? outcomeLines(run, x.outcome, []).slice(1).map((l) => ({ label: 'outcome', value: l.trim(), tone: 'neutral' as const }));
  return {
    kind: 'scenario', title: `ctsim scenario ${d.title}`, command: o.command, version: o.version, profiles: [o.profile],
    outcome: [...facts, ...expectationFacts(x)], ladderSvg: ladderSvg(d), packets, packetsOmitted: 0,
    timeline: [...formatTimeline(run.timeline), '', ...run.snapshots.flatMap(formatSnapshot), '', `file: ${run.spec.file}`],
    tables: [],
  };
}

/** A seed incident's run: its own outcome facts on top of the run's report. */
export function seedReport(r: SeedRun, o: { command: string; version: string; profile: ReportProfile }): ReportInput {
  return runReport(r.executed, seedTitle(r), { ...o, facts: scenarioFacts(r.outcome) });
}
