// `kernel-diff --scenario` as a report: a seed incident run in a real kernel's namespaces and in
// ctsim, side by side: packets, conntrack events and the outcome, every difference highlighted.
import type { ScenarioComparison } from '../kerneldiff/scenario-compare.js';
import type { ReportFact, ReportInput, ReportProfile, ReportTable } from './report-types.js';

const ms = (ns: number | null) => (ns === null ? '-' : (ns / 1e6).toFixed(1));
const tone = (status: string): 'bad' | 'warn' | 'neutral' => (status === 'ok' || status === 'after-window' ? 'neutral' : status === 'timing' ? 'warn' : 'bad');

export function kernelDiffReport(comparisons: readonly ScenarioComparison[], o: { command: string; version: string; kernelSource: string; profile: ReportProfile }): ReportInput {
  const outcome: ReportFact[] = [];
  const tables: ReportTable[] = [];
  for (const c of comparisons) {
    const s = c.summary;
    outcome.push({ label: `${c.name}: ctsim and the kernel`, value: s.agree ? 'agree' : 'DISAGREE', tone: s.agree ? 'good' : 'bad' });
    for (const f of c.outcome) outcome.push({ label: `${c.name}: ${f.field}`, value: f.agree ? f.kernel : `kernel ${f.kernel} / ctsim ${f.ctsim}`, tone: f.agree ? 'neutral' : 'bad' });
    outcome.push({ label: `${c.name}: packets matched`, value: `${s.packets.matched} of ${s.packets.kernel} (kernel) / ${s.packets.ctsim} (ctsim)`, tone: s.packets.onlyCtsim + s.packets.onlyKernel ? 'bad' : 'neutral' });
    tables.push({
      id: `${c.name}-packets`, title: `${c.name}: packets, real ${c.kernel} vs ctsim ${c.profile}`,
      head: ['where', 'packet', 'kernel (ms)', 'ctsim (ms)', 'status', 'note'],
      rows: c.packets.map((p) => ({ cells: [p.where, p.packet, ms(p.kernelNs), ms(p.ctsimNs), p.status, p.note ?? ''], tone: tone(p.status) })),
    });
    tables.push({
      id: `${c.name}-events`, title: `${c.name}: conntrack events`,
      head: ['entry', 'kernel', 'ctsim', 'kernel (ms)', 'ctsim (ms)', 'status', 'note'],
      rows: c.events.map((e) => ({ cells: [e.entry, e.kernel ?? '-', e.ctsim ?? '-', ms(e.kernelNs), ms(e.ctsimNs), e.status, [e.note, e.formatNote].filter(Boolean).join('; ')], tone: tone(e.status) })),
    });
  }
  const kernel = comparisons[0]?.kernel ?? '?';
  return {
    kind: 'kernel-diff', title: `ctsim kernel-diff: ${comparisons.map((c) => c.name).join(', ')} on real ${kernel} vs ctsim`, command: o.command, version: o.version,
    profiles: [o.profile, { label: `real ${kernel}`, status: 'real', evidence: o.kernelSource }], outcome, ladderSvg: null, packets: [], packetsOmitted: 0, timeline: [], tables,
  };
}
