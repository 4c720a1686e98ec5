import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { CaseGenerator } from '../../fuzz/generator.js';
import { FileSink, PcapWriter, readCaptureFile } from '../../pcap/index.js';
import { ensureDirectory, writeFileAtomic } from '../../output/index.js';
import { cleanUpOnInterrupt } from '../process-guard.js';
import { LinkType } from '../../wire/index.js';
import { challengeAckReuseCapture } from '../../scenarios/reuse-capture.js';
import { runKernelDiff } from '../../kerneldiff/kernel-diff.js';
import { removeLeftovers } from '../../kerneldiff/netns-lab.js';
import type { DiffCase } from '../../kerneldiff/prepare-cases.js';
import { ScenarioDisagreement, runScenarioDiff, type RowStatus, type ScenarioComparison } from '../../kerneldiff/scenario-compare.js';
import { SCENARIO_NAMES, type ScenarioName } from '../../scenarios/scenario-types.js';
import { UsageError } from '../errors.js';

interface Args {
  cases?: string;
  'fuzz-count'?: number;
  seed: number;
  mode: string;
  'max-packets': number;
  sysctl?: string[];
  out: string;
  json?: boolean;
  minimise: number;
  scenario?: string;
  captures?: string;
}

function casesFromDir(dir: string): DiffCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
  if (files.length === 0) throw new UsageError(`--cases ${dir}: no .pcap or .pcapng files`);
  return files.map((f) => ({ name: f.replace(/\.pcap(ng)?$/, ''), packets: [...readCaptureFile(join(dir, f))].map((r) => r.data) }));
}

export const kernelDiffCommand: CommandModule<object, Args> = {
  command: 'kernel-diff',
  describe: 'Replay cases through the running kernel\'s conntrack (in network namespaces ctsim creates and removes; root) and compare with ctsim packet by packet; with --scenario, run a seed incident for real and compare it with ctsim\'s simulation',
  builder: (y) => y
    .option('cases', { type: 'string', describe: 'directory of case captures (raw IPv4 pcap, e.g. from ctsim fuzz)' })
    .option('fuzz-count', { type: 'number', describe: 'generate this many fuzz cases instead' })
    .option('seed', { type: 'number', default: 1 })
    .option('mode', { type: 'string', choices: ['structured', 'blind', 'mixed'], default: 'structured' })
    .option('max-packets', { type: 'number', default: 24, describe: 'packets per generated case' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting for both the kernel (per namespace) and ctsim' })
    .option('minimise', { type: 'number', default: 3, describe: 'how many disagreeing cases to minimise against the kernel' })
    .option('out', { type: 'string', default: 'pcaps/kernel-diff', describe: 'where minimised disagreements are written' })
    .option('json', { type: 'boolean' })
    .option('scenario', { type: 'string', choices: [...SCENARIO_NAMES, 'both'], describe: 'run a seed incident for real (pod + upstream namespaces, Istio rules, a python sidecar) and compare it with ctsim\'s simulation' })
    .option('captures', { type: 'string', describe: 'with --scenario: keep the real captures and event logs in this directory' }) as never,
  handler: async (a) => {
    if (a.captures && !a.scenario) throw new UsageError('--captures goes with --scenario');
    // Ctrl-C / SIGTERM: the labs' namespaces, the programs in them and their scratch folders go.
    cleanUpOnInterrupt();
    if (typeof process.getuid === 'function' && process.getuid() === 0) {
      const left = removeLeftovers();
      if (left.namespaces.length || left.folders.length) {
        process.stderr.write(`ctsim: removed what earlier runs that no longer exist left behind: ${[...left.namespaces, ...left.folders].join(', ')}${left.processes.length ? ` (and killed ${left.processes.length} process${left.processes.length === 1 ? '' : 'es'} still running in those namespaces)` : ''}\n`);
      }
    }
    if (a.scenario) {
      if (a.cases || a['fuzz-count'] !== undefined) throw new UsageError('--scenario runs the seed incidents for real; it takes no --cases or --fuzz-count');
      await scenarioMode(a.scenario === 'both' ? [...SCENARIO_NAMES] : [a.scenario as ScenarioName], a);
      return;
    }
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
    if (r.minimised.length) ensureDirectory(a.out);
    const files: string[] = [];
    for (const m of r.minimised) {
      const path = join(a.out, `${m.name}.pcap`);
      const w = new PcapWriter(new FileSink(path), { linkType: LinkType.RAW });
      try {
        m.packets.forEach((p, i) => w.writePacket(BigInt(i) * 250_000n, p));
        w.close();
      } catch (e) {
        w.abort();
        throw e;
      }
      writeFileAtomic(join(a.out, `${m.name}.json`), `${JSON.stringify({ kernel: r.kernel, profile: r.profile.name, packetDiffs: m.report.packetDiffs, entryDiffs: m.report.entryDiffs }, null, 2)}\n`);
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

const MARK: Record<RowStatus, string> = { ok: '=', timing: '~', 'only-ctsim': '-', 'only-kernel': '+', 'after-window': '.' };

const time = (ns: number | null) => (ns === null ? '-' : (ns / 1e9).toFixed(6)).padStart(10);

/** The per-step comparison of one scenario, for a person. */
export function formatScenarioComparison(c: ScenarioComparison): string[] {
  const t = c.timings;
  const lines = [
    `# kernel-diff --scenario ${c.name}: kernel ${c.kernel} (ctsim profile ${c.profile})`,
    `#   pod sysctls ${c.sysctls.join(' ')}; app closes at ${t.appCloseAtSec} s${c.name === 'port-collision' ? `, reconnects from the same port at ${t.reconnectAtSec} s` : ''}; sidecar idle timeout ${t.idleTimeoutSec} s; compared over the first ${t.windowSec} s`,
    `#   real run ${c.realWallSeconds.toFixed(1)} s wall, ctsim ${c.ctsimWallSeconds.toFixed(2)} s; times in s since the app's first SYN`,
    `#   seq/ack: c<n>+x / s<n>+x = offset from the ISN of the client / server side of the n-th connection from that client port`,
    `#   = agree  ~ timing outside tolerance, reported and not a disagreement (${c.tolerance.absoluteMs} ms; gaps max(${c.tolerance.gapMinMs} ms, ${c.tolerance.gapRelative * 100} %))  - only in ctsim  + only in the kernel  . kernel, after the compared window`,
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
  const extra = (x: { timing: number; onlyCtsim: number; onlyKernel: number }) => [x.timing && `${x.timing} timing`, x.onlyCtsim && `${x.onlyCtsim} only in ctsim`, x.onlyKernel && `${x.onlyKernel} only in the kernel`].filter(Boolean).join(', ');
  const pe = extra(p);
  const ee = extra(e);
  const t = c.summary.timing;
  const timing = t.packets + t.events + t.outcome ? `timing outside the tolerance: ${t.packets} packets, ${t.events} events, ${t.outcome} outcome times (reported, not judged)` : 'timing within the tolerance';
  return `summary ${c.name}: packets ${p.matched} matched of ${p.ctsim} ctsim / ${p.kernel} kernel${pe ? ` (${pe})` : ''}; conntrack events ${e.matched} matched of ${e.ctsim} / ${e.kernel}${ee ? ` (${ee})` : ''}${e.formatNotes ? `, ${e.formatNotes} format notes` : ''}; outcome ${c.summary.outcomeAgree ? 'agrees' : 'DIFFERS'}; ${timing}, largest deviation ${t.maxDeviationMs.toFixed(1)} ms -> ${c.summary.agree ? 'AGREE' : 'DISAGREE'}`;
}

async function scenarioMode(names: ScenarioName[], a: Args): Promise<void> {
  const results: ScenarioComparison[] = [];
  for (const n of names) {
    if (process.stderr.isTTY) process.stderr.write(`kernel-diff: running ${n} for real (a few seconds)...\n`);
    results.push(await runScenarioDiff(n, { keepDir: a.captures }));
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
