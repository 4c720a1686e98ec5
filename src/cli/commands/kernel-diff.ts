import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { CaseGenerator } from '../../fuzz/generator.js';
import { FileSink, PcapWriter, readCaptureFile } from '../../pcap/index.js';
import { LinkType } from '../../wire/index.js';
import { challengeAckReuseCapture } from '../../scenarios/reuse-capture.js';
import { runKernelDiff } from '../../kerneldiff/kernel-diff.js';
import type { DiffCase } from '../../kerneldiff/prepare-cases.js';
import { ScenarioDisagreement, runScenarioDiff, type RowStatus, type ScenarioComparison } from '../../kerneldiff/scenario-compare.js';
import { loadScenarioFile } from '../../scenarios/file/load.js';
import type { LoadOverrides } from '../../scenarios/file/overrides.js';
import { scenarioPath } from '../../scenarios/file/shipped.js';
import type { ScenarioSpec } from '../../scenarios/file/spec.js';
import { UsageError } from '../errors.js';
import { overrideOptions, overridesOf, type OverrideArgs } from './run.js';

interface Args extends OverrideArgs {
  cases?: string;
  'fuzz-count'?: number;
  seed: number;
  mode: string;
  'max-packets': number;
  sysctl?: string[];
  out: string;
  json?: boolean;
  minimise: number;
  scenario?: string[];
  captures?: string;
  'real-set': boolean;
}

function casesFromDir(dir: string): DiffCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
  if (files.length === 0) throw new UsageError(`--cases ${dir}: no .pcap or .pcapng files`);
  return files.map((f) => ({ name: f.replace(/\.pcap(ng)?$/, ''), packets: [...readCaptureFile(join(dir, f))].map((r) => r.data) }));
}

export const kernelDiffCommand: CommandModule<object, Args> = {
  command: 'kernel-diff',
  describe: 'Replay cases through the running kernel\'s conntrack (in network namespaces ctsim creates and removes; root) and compare with ctsim packet by packet; with --scenario FILE, run a scenario for real (its hosts as namespaces, its rules, its programs) and compare it with ctsim\'s run of it',
  builder: (y) => overrideOptions(y
    .option('cases', { type: 'string', describe: 'directory of case captures (raw IPv4 pcap, e.g. from ctsim fuzz)' })
    .option('fuzz-count', { type: 'number', describe: 'generate this many fuzz cases instead' })
    .option('seed', { type: 'number', default: 1 })
    .option('mode', { type: 'string', choices: ['structured', 'blind', 'mixed'], default: 'structured' })
    .option('max-packets', { type: 'number', default: 24, describe: 'packets per generated case' })
    .option('minimise', { type: 'number', default: 3, describe: 'how many disagreeing cases to minimise against the kernel' })
    .option('out', { type: 'string', default: 'pcaps/kernel-diff', describe: 'where minimised disagreements are written' })
    .option('json', { type: 'boolean' })
    .option('scenario', { type: 'string', array: true, describe: 'a scenario file (or a shipped scenario\'s name: half-close-leak, port-collision, kube-proxy-reset, ...; "both" = the two seed incidents) to run for real and compare with ctsim' })
    .option('real-set', { type: 'boolean', default: true, describe: 'apply the file\'s real.set overrides (the shortened timings of a long scenario); --no-real-set to run it as written' })
    .option('captures', { type: 'string', describe: 'with --scenario: keep the real captures and event logs in this directory' })) as never,
  handler: async (a) => {
    if (a.captures && !a.scenario) throw new UsageError('--captures goes with --scenario');
    if (a.scenario?.length) {
      if (a.cases || a['fuzz-count'] !== undefined) throw new UsageError('--scenario runs scenario files for real; it takes no --cases or --fuzz-count');
      const names = a.scenario.flatMap((x) => (x === 'both' ? ['half-close-leak', 'port-collision'] : [x]));
      await scenarioMode(names.map((n) => realSpec(scenarioPath(n), overridesOf(a), a['real-set'])), a);
      return;
    }
    if (a.set?.length || a.kernel) throw new UsageError('--set and --kernel go with --scenario');
    let cases: DiffCase[] = [];
    if (a.cases) cases = casesFromDir(a.cases);
    if (a['fuzz-count'] !== undefined) {
      const n = a['fuzz-count'];
      if (!Number.isInteger(n) || n < 1 || n > 64_000) throw new UsageError(`--fuzz-count must be 1..64000, got ${n}`);
      const g = new CaseGenerator({ kernel: '6.18', sysctls: a.sysctl ?? [], seed: a.seed, mode: a.mode as never, maxPackets: a['max-packets'] });
      for (let i = 0; i < n; i++) {
        const c = g.generate(i);
        cases.push({ name: `fuzz-${a.seed}-${i}`, packets: c.packets.map((p) => p.bytes) });
      }
    }
    if (!a.cases && a['fuzz-count'] === undefined) cases.push({ name: 'challenge-ack-reuse', packets: challengeAckReuseCapture().map((p) => p.bytes) });
    const tty = process.stderr.isTTY;
    const r = await runKernelDiff({
      cases, sysctls: a.sysctl ?? [], minimise: a.minimise,
      onProgress: (done, total, rep) => { if (tty) process.stderr.write(`\rkernel-diff: ${done}/${total} cases, ${rep.packetAgreement}/${rep.packets} packets agree`); },
    });
    if (tty) process.stderr.write('\n');
    const rep = r.report;
    if (r.minimised.length) mkdirSync(a.out, { recursive: true });
    const files: string[] = [];
    for (const m of r.minimised) {
      const path = join(a.out, `${m.name}.pcap`);
      const w = new PcapWriter(new FileSink(path), { linkType: LinkType.RAW });
      m.packets.forEach((p, i) => w.writePacket(BigInt(i) * 250_000n, p));
      w.close();
      writeFileSync(join(a.out, `${m.name}.json`), `${JSON.stringify({ kernel: r.kernel, profile: r.profile.name, packetDiffs: m.report.packetDiffs, entryDiffs: m.report.entryDiffs }, null, 2)}\n`);
      files.push(path);
    }
    if (a.json) {
      process.stdout.write(`${JSON.stringify({ ...rep, kernel: r.kernel, profile: r.profile.name, minimised: files }, null, 2)}\n`);
    } else {
      const pct = (x: number, y: number) => (y ? ((100 * x) / y).toFixed(2) : '100.00');
      const lines = [
        `kernel ${r.kernel} (ctsim profile ${r.profile.name}): ${rep.cases} cases, ${rep.packets} packets (${rep.skippedPackets} not injectable)`,
        `  packets agree: ${rep.packetAgreement}/${rep.packets} (${pct(rep.packetAgreement, rep.packets)} %)`,
        `  final entries agree: ${rep.entryAgreement}/${rep.entryChecks} (${pct(rep.entryAgreement, rep.entryChecks)} %)`,
        `  disagreeing cases: ${rep.disagreeingCases.length}`,
        ...rep.packetDiffs.slice(0, 20).map((d) => `    ${d.caseName} #${d.index}: ${d.summary}: kernel ${d.kernel}, ctsim ${d.ctsim}${d.ctsimReason ? ` [${d.ctsimReason}]` : ''}`),
        ...rep.entryDiffs.slice(0, 20).map((d) => `    ${d.caseName} entry: kernel ${d.kernel}, ctsim ${d.ctsim}`),
        ...files.map((f) => `  minimised: ${f}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    process.exitCode = rep.disagreeingCases.length ? 1 : 0;
  },
};

/** A scenario for a real run: the file with its real.set overrides (unless refused), then the command line's. */
export function realSpec(file: string, o: LoadOverrides, useRealSet: boolean): ScenarioSpec {
  const first = loadScenarioFile(file, o);
  if (!useRealSet || first.realSet.length === 0) return first;
  const set = first.realSet.map((x) => `${x.path}=${String(x.value)}`);
  return loadScenarioFile(file, { ...o, set: [...set, ...(o.set ?? [])] });
}

const MARK: Record<RowStatus, string> = { ok: '=', timing: '~', 'only-ctsim': '-', 'only-kernel': '+', 'after-window': '.' };

const time = (ns: number | null) => (ns === null ? '-' : (ns / 1e9).toFixed(6)).padStart(10);

/** The per-step comparison of one scenario, for a person. */
export function formatScenarioComparison(c: ScenarioComparison): string[] {
  const lines = [
    `# kernel-diff --scenario ${c.file}: kernel ${c.kernel} (ctsim profile ${c.profile}), ${c.durationSec} s`,
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
  return `summary ${c.name}: packets ${p.matched} matched of ${p.ctsim} ctsim / ${p.kernel} kernel${pe ? ` (${pe})` : ''}; conntrack events ${e.matched} matched of ${e.ctsim} / ${e.kernel}${ee ? ` (${ee})` : ''}${e.formatNotes ? `, ${e.formatNotes} format notes` : ''}; program facts ${f.matched} matched of ${f.ctsim} / ${f.kernel}${fe ? ` (${fe})` : ''}; outcome ${c.summary.outcomeAgree ? 'agrees' : 'DIFFERS'} -> ${c.summary.agree ? 'AGREE' : 'DISAGREE'}`;
}

async function scenarioMode(specs: ScenarioSpec[], a: Args): Promise<void> {
  const results: ScenarioComparison[] = [];
  for (const spec of specs) {
    if (process.stderr.isTTY) process.stderr.write(`kernel-diff: running ${spec.name} for real (${spec.durationNs / 1e9} s)...\n`);
    results.push(await runScenarioDiff(spec, { keepDir: a.captures }));
  }
  const agree = results.every((r) => r.summary.agree);
  if (a.json) process.stdout.write(`${JSON.stringify({ scenarios: results, agree }, null, 2)}\n`);
  else {
    const out = results.flatMap((r, i) => [...(i ? [''] : []), ...formatScenarioComparison(r)]);
    if (results.length > 1) out.push('', ...results.map(scenarioSummaryLine));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  // main() sets the exit status from what the handler throws: a typed error makes it 1.
  const differ = results.filter((r) => !r.summary.agree).map((r) => r.name);
  if (differ.length) throw new ScenarioDisagreement(`${differ.join(', ')}: the running kernel and ctsim disagree (the comparison is on standard output)`);
}
