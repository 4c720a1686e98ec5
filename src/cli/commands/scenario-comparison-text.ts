// kernel-diff --scenario's report for a person: each packet, conntrack event and outcome field of
// one scenario side by side (ctsim, the kernel), marked by how they compare, and the summary line.
import type { RowStatus, ScenarioComparison } from '../../kerneldiff/scenario-compare.js';
import { findVariant } from '../../kerneldiff/scenario-variants.js';

const MARK: Record<RowStatus, string> = { ok: '=', timing: '~', 'only-ctsim': '-', 'only-kernel': '+', 'after-window': '.' };

const time = (ns: number | null) => (ns === null ? '-' : (ns / 1e9).toFixed(6)).padStart(10);

/** The per-step comparison of one scenario, for a person. */
export function formatScenarioComparison(c: ScenarioComparison): string[] {
  const t = c.timings;
  const lines = [
    `# kernel-diff --scenario ${c.variant}${c.variant !== c.name ? ` (${c.name})` : ''}: kernel ${c.kernel} (ctsim profile ${c.profile})`,
    `#   ${findVariant(c.variant)?.description ?? ''}`,
    `#   pod sysctls ${c.sysctls.join(' ')}; app closes at ${t.appCloseAtSec} s${c.name === 'port-collision' ? `, reconnects from the same port at ${t.reconnectAtSec} s (${t.reconnectAttempts} tries ${t.reconnectIntervalSec} s apart while bind/connect fail at once)` : ''}; sidecar idle timeout ${t.idleTimeoutSec} s; compared over the first ${t.windowSec} s`,
    `#   real run ${c.realWallSeconds.toFixed(1)} s wall, ctsim ${c.ctsimWallSeconds.toFixed(2)} s; times in s since the app's first SYN`,
    `#   seq/ack: c<n>+x / s<n>+x = offset from the ISN of the client / server side of the n-th connection from that client port`,
    `#   = agree  ~ timing outside tolerance, reported and not a disagreement (${c.tolerance.absoluteMs} ms; gaps max(${c.tolerance.gapMinMs} ms, ${c.tolerance.gapRelative * 100} %, the timer wheel's granule))  - only in ctsim  + only in the kernel  . kernel, after the compared window`,
    '',
    'packets (each as the sending namespace transmitted it):',
    `     ${'ctsim'.padStart(10)} ${'kernel'.padStart(10)}  ${'where'.padEnd(14)} packet`,
  ];
  for (const p of c.packets) {
    lines.push(`  ${MARK[p.status]}  ${time(p.ctsimNs)} ${time(p.kernelNs)}  ${p.where.padEnd(14)} ${p.packet}`);
    if (p.note) lines.push(`${' '.repeat(41)}^ ${p.note}`);
  }
  lines.push('', 'conntrack events in the pod (conntrack -E; tuples as original | reply):');
  for (const e of c.events) {
    lines.push(`  ${MARK[e.status]}  ${time(e.ctsimNs)} ${time(e.kernelNs)}  ${e.kernel ?? e.ctsim}`);
    if (e.kernel && e.ctsim && e.kernel !== e.ctsim) lines.push(`${' '.repeat(26)}ctsim: ${e.ctsim}`);
    if (e.note) lines.push(`${' '.repeat(26)}^ ${e.note}`);
    if (e.formatNote) lines.push(`${' '.repeat(26)}(format: ${e.formatNote})`);
  }
  lines.push('', 'outcome:', `     ${'ctsim'.padStart(10)} ${'kernel'.padStart(10)}`);
  for (const o of c.outcome) lines.push(`  ${o.agree ? '=' : o.timing ? '~' : '!'}  ${o.ctsim.padStart(10)} ${o.kernel.padStart(10)}  ${o.field}`);
  for (const snap of c.snapshots) {
    lines.push('', `kernel snapshot ${snap.label}:`, '    ss -tanoe (pod):', ...snap.ss.map((l) => `      ${l}`), '    conntrack -L (pod):', ...(snap.conntrack.length ? snap.conntrack.map((l) => `      ${l}`) : ['      (no entries)']));
  }
  lines.push('', scenarioSummaryLine(c));
  return lines;
}

export function scenarioSummaryLine(c: ScenarioComparison): string {
  const p = c.summary.packets;
  const e = c.summary.events;
  const extra = (x: { onlyCtsim: number; onlyKernel: number }) => [x.onlyCtsim && `${x.onlyCtsim} only in ctsim`, x.onlyKernel && `${x.onlyKernel} only in the kernel`].filter(Boolean).join(', ');
  const pe = extra(p);
  const ee = extra(e);
  const t = c.summary.timing;
  const timing = t.packets + t.events + t.outcome ? `timing outside the tolerance: ${t.packets} packets, ${t.events} events, ${t.outcome} outcome times (reported, not judged)` : 'timing within the tolerance';
  return `summary ${c.variant}: packets ${p.matched} matched of ${p.ctsim} ctsim / ${p.kernel} kernel${pe ? ` (${pe})` : ''}; conntrack events ${e.matched} matched of ${e.ctsim} / ${e.kernel}${ee ? ` (${ee})` : ''}${e.formatNotes ? `, ${e.formatNotes} format notes` : ''}; outcome ${c.summary.outcomeAgree ? 'agrees' : 'DIFFERS'}; ${timing}, largest gap difference ${t.maxGapDiffMs.toFixed(1)} ms, largest deviation ${t.maxDeviationMs.toFixed(1)} ms -> ${c.summary.agree ? 'AGREE' : 'DISAGREE'}`;
}
