// kernel-diff --scenario's report for a person: each packet, conntrack event, program fact and outcome
// field of one scenario side by side (ctsim, the kernel), marked by how they compare, and the summary line.
import type { RowStatus, ScenarioComparison } from '../../kerneldiff/scenario-compare.js';

const MARK: Record<RowStatus, string> = { ok: '=', timing: '~', 'only-ctsim': '-', 'only-kernel': '+', 'after-window': '.' };

const time = (ns: number | null) => (ns === null ? '-' : (ns / 1e9).toFixed(6)).padStart(10);

/** The per-step comparison of one scenario, for a person. */
export function formatScenarioComparison(c: ScenarioComparison): string[] {
  const lines = [
    `# kernel-diff --scenario ${c.variant ? `${c.variant} (${c.file})` : c.file}: kernel ${c.kernel} (ctsim profile ${c.profile}), ${c.durationSec} s`,
    `#   real run ${c.realWallSeconds.toFixed(1)} s wall, ctsim ${c.ctsimWallSeconds.toFixed(2)} s; times in s since the scenario's time 0`,
    `#   seq/ack: c<n>+x / s<n>+x = offset from the ISN of the client / server side of the n-th connection from that client endpoint`,
    `#   = agree  ~ agree, timing outside tolerance (${c.tolerance.absoluteMs} ms; gaps max(${c.tolerance.gapMinMs} ms, ${c.tolerance.gapRelative * 100} %); reported, not a disagreement)  - only in ctsim  + only in the kernel  . at the end of the run, not compared`,
    ...(c.late.length ? [`#   started after time 0 (loaded machine): ${c.late.join(', ')}`] : []),
    ...(c.tooSlow ? [`#   NOT COMPARABLE: ${c.tooSlow}`] : []),
    '',
    'packets (each as the sending namespace transmitted it):',
    `     ${'ctsim'.padStart(10)} ${'kernel'.padStart(10)}  ${'where'.padEnd(16)} packet`,
  ];
  for (const p of c.packets) {
    lines.push(`  ${MARK[p.status]}  ${time(p.ctsimNs)} ${time(p.kernelNs)}  ${p.where.padEnd(16)} ${p.packet}`);
    if (p.note) lines.push(`${' '.repeat(43)}^ ${p.note}`);
  }
  lines.push('', 'conntrack events (conntrack -E of each host whose rules track; tuples as original | reply):');
  for (const e of c.events) {
    lines.push(`  ${MARK[e.status]}  ${time(e.ctsimNs)} ${time(e.kernelNs)}  ${e.host.padEnd(8)} ${e.kernel ?? e.ctsim}`);
    if (e.kernel && e.ctsim && e.kernel !== e.ctsim) lines.push(`${' '.repeat(35)}ctsim: ${e.ctsim}`);
    if (e.note) lines.push(`${' '.repeat(35)}^ ${e.note}`);
    if (e.formatNote) lines.push(`${' '.repeat(35)}(format: ${e.formatNote})`);
  }
  lines.push('', 'program facts (socket calls and what the programs saw):');
  for (const f of c.program) {
    lines.push(`  ${MARK[f.status]}  ${time(f.ctsimNs)} ${time(f.kernelNs)}  ${f.process.padEnd(10)} ${f.fact}`);
    if (f.note) lines.push(`${' '.repeat(37)}^ ${f.note}`);
  }
  lines.push('', 'outcome:', `     ${'ctsim'.padStart(12)} ${'kernel'.padStart(12)}`);
  for (const o of c.outcome) lines.push(`  ${o.timing ? '~' : o.agree ? '=' : '!'}  ${o.ctsim.padStart(12)} ${o.kernel.padStart(12)}  ${o.field}`);
  for (const snap of c.snapshots) {
    lines.push('', `kernel snapshot ${snap.label}:`, '    ss -tanoe:', ...snap.ss.map((l) => `      ${l}`), '    conntrack -L:', ...(snap.conntrack.length ? snap.conntrack.map((l) => `      ${l}`) : ['      (no entries)']));
  }
  lines.push('', scenarioSummaryLine(c));
  return lines;
}

export function scenarioSummaryLine(c: ScenarioComparison): string {
  const p = c.summary.packets;
  const e = c.summary.events;
  const f = c.summary.program;
  const extra = (x: { timing?: number; onlyCtsim: number; onlyKernel: number }) => [x.timing && `${x.timing} timing`, x.onlyCtsim && `${x.onlyCtsim} only in ctsim`, x.onlyKernel && `${x.onlyKernel} only in the kernel`].filter(Boolean).join(', ');
  const pe = extra(p);
  const ee = extra(e);
  const fe = extra(f);
  return `summary ${c.variant ?? c.name}: packets ${p.matched} matched of ${p.ctsim} ctsim / ${p.kernel} kernel${pe ? ` (${pe})` : ''}; conntrack events ${e.matched} matched of ${e.ctsim} / ${e.kernel}${ee ? ` (${ee})` : ''}${e.formatNotes ? `, ${e.formatNotes} format notes` : ''}; program facts ${f.matched} matched of ${f.ctsim} / ${f.kernel}${fe ? ` (${fe})` : ''}; outcome ${c.summary.outcomeAgree ? 'agrees' : 'DIFFERS'} -> ${c.summary.agree ? 'AGREE' : 'DISAGREE'}`;
}

