// `ctsim kernel-diff`: the same packets through a real kernel (namespaces or a UML guest) and ctsim.
// Length: one command with three modes (fuzz batch, --scenario, merge) sharing its options and the
// HTML report; splitting the modes would spread one argument surface over several files.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { CaseGenerator } from '../../fuzz/generator.js';
import { FileSink, PcapWriter, readCaptureFile } from '../../pcap/index.js';
import { ensureDirectory, writeFileAtomic } from '../../output/index.js';
import { onInterrupt } from '../../lifecycle/cleanup.js';
import { ownPrefix } from '../../lifecycle/owner-pid.js';
import { cleanUpOnInterrupt } from '../process-guard.js';
import { LinkType } from '../../wire/index.js';
import { challengeAckReuseCapture } from '../../scenarios/reuse-capture.js';
import { runKernelDiff } from '../../kerneldiff/kernel-diff.js';
import { INJECT_PPS } from '../../kerneldiff/kernel-batch.js';
import type { DiffCase } from '../../kerneldiff/prepare-cases.js';
import { BATCH_REPORT_FORMAT, isComplete, mergeBatchReports, parseBatchReport, parseShard, shardIndices, subShard, toBatchReport, type BatchReport, type CaseSource, type Shard } from '../../kerneldiff/batch-report.js';
import { LabError, removeLeftovers } from '../../kerneldiff/netns-lab.js';
import { GUEST_OUT, guestPathOf, runInGuest } from '../../kerneldiff/uml/uml-guest.js';
import { UmlError, resolveUmlKernel } from '../../kerneldiff/uml/uml-kernel.js';
import { appendRecords, batchRecord, scenarioRecord } from '../../kerneldiff/verification.js';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { ScenarioDisagreement, TOLERANCE, UML_TOLERANCE, runScenarioDiff, type ScenarioComparison } from '../../kerneldiff/scenario-compare.js';
import { SCENARIO_VARIANTS, findVariant, variantSpec } from '../../kerneldiff/scenario-variants.js';
import { loadScenarioFile } from '../../scenarios/file/load.js';
import type { LoadOverrides } from '../../scenarios/file/overrides.js';
import { scenarioPath } from '../../scenarios/file/shipped.js';
import type { ScenarioSpec } from '../../scenarios/file/spec.js';
import { SEED_NAMES } from '../../scenarios/seed-knobs.js';
import { overrideOptions, overridesOf, type OverrideArgs } from './run.js';
import { formatScenarioComparison, scenarioSummaryLine } from './scenario-comparison-text.js';
import { kernelDiffReport, reportProfile } from '../../report/index.js';
import { commandLine } from '../command-line.js';
import { writeHtmlReport } from '../report-file.js';
import { packageVersion } from '../version.js';
import { UsageError } from '../errors.js';

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
  'real-set': boolean;
  captures?: string;
  uml?: string;
  jobs: number;
  shard?: string;
  report?: string;
  profile?: string;
  record?: boolean;
  'guest-timeout'?: number;
  'kernel-source'?: string;
  'uml-timing'?: boolean;
  pps?: number;
  html?: string;
}

function casesFromDir(dir: string): DiffCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
  if (files.length === 0) throw new UsageError(`--cases ${dir}: no .pcap or .pcapng files`);
  return files.map((f) => ({ name: f.replace(/\.pcap(ng)?$/, ''), packets: [...readCaptureFile(join(dir, f))].map((r) => r.data) }));
}

function caseSource(a: Args): CaseSource {
  if (a.cases) {
    let names: string[];
    try {
      names = readdirSync(a.cases);
    } catch (e) {
      throw new UsageError(`--cases ${a.cases}: not a readable folder (${(e as Error).message})`);
    }
    const count = names.filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).length;
    if (count === 0) throw new UsageError(`--cases ${a.cases}: no .pcap or .pcapng files`);
    return { kind: 'files', dir: resolve(a.cases), count };
  }
  if (a['fuzz-count'] !== undefined) {
    const n = a['fuzz-count'];
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UsageError(`--fuzz-count must be 1..1000000, got ${n}`);
    return { kind: 'fuzz', seed: a.seed, mode: a.mode, count: n, maxPackets: a['max-packets'] };
  }
  return { kind: 'reuse-capture', count: 1 };
}

/** The cases of one shard, each named as in the whole campaign. */
function shardCases(src: CaseSource, indices: readonly number[], sysctls: string[]): DiffCase[] {
  if (src.kind === 'files') {
    const all = casesFromDir(src.dir);
    return indices.map((i) => all[i]);
  }
  if (src.kind === 'reuse-capture') return indices.map(() => ({ name: 'challenge-ack-reuse', packets: challengeAckReuseCapture().map((p) => p.bytes) }));
  const g = new CaseGenerator({ kernel: '6.18', sysctls, seed: src.seed, mode: src.mode as never, maxPackets: src.maxPackets });
  return indices.map((i) => ({ name: `fuzz-${src.seed}-${i}`, packets: g.generate(i).packets.map((p) => p.bytes) }));
}

function positive(name: string, v: number | undefined, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) throw new UsageError(`--${name} must be an integer in 1..${max}, got ${v}`);
}

/**
 * The options a sub-run (another process, or ctsim inside a guest) repeats. A guest covers /tmp
 * with its own tmpfs: files it reads are named by guestPathOf.
 */
function commonArgs(a: Args, where: 'process' | 'guest'): string[] {
  const out: string[] = [];
  if (a.cases) out.push('--cases', where === 'guest' ? guestPathOf(resolve(a.cases)) : resolve(a.cases));
  if (a['fuzz-count'] !== undefined) out.push('--fuzz-count', String(a['fuzz-count']), '--seed', String(a.seed), '--mode', a.mode, '--max-packets', String(a['max-packets']));
  for (const s of a.sysctl ?? []) out.push('--sysctl', s);
  if (a.profile) out.push('--profile', a.profile);
  if (a.pps !== undefined) out.push('--pps', String(a.pps));
  out.push('--minimise', String(a.minimise));
  return out;
}

/**
 * A UML guest forwards packets several times slower than the host (every softirq is a ptrace
 * round trip), so its veths start from a lower rate.
 */
const UML_PPS = 1500;

/** Default guest deadline: boot plus a generous per-case allowance on a loaded 2-core machine. */
function guestTimeoutMs(a: Args, cases: number): number {
  return (a['guest-timeout'] ?? 180 + Math.ceil(cases * 0.5)) * 1000;
}

function relayConsole(tag: string): ((line: string) => void) | undefined {
  if (!process.env.CTSIM_UML_CONSOLE) return undefined;
  return (line) => process.stderr.write(`[${tag}] ${line}\n`);
}

/** Runs the batch (this shard of it) here: one lab in this process's namespaces. */
async function runBatchHere(a: Args, src: CaseSource, shard: Shard): Promise<BatchReport> {
  const indices = shardIndices(src.count, shard);
  const sysctls = a.sysctl ?? [];
  const cases = shardCases(src, indices, sysctls);
  const tty = process.stderr.isTTY;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const r = await runKernelDiff({
    cases, sysctls, minimise: a.minimise, profile: a.profile, pps: a.pps,
    onProgress: (done, total, rep) => { if (tty) process.stderr.write(`\rkernel-diff: ${done}/${total} cases, ${rep.packetAgreement}/${rep.packets} packets agree`); },
    // CTSIM_KD_KEEP=1 keeps each run's injection pcap and R's capture for a look by hand.
    ...(process.env.CTSIM_KD_KEEP ? {
      onKeptScratch: (k: { dir: string; tcpdumpLog: string }) => process.stderr.write(`kernel-diff: tcpdump said: ${k.tcpdumpLog}\nkernel-diff: kept ${k.dir}\n`),
    } : {}),
  });
  if (tty) process.stderr.write('\n');
  const files: string[] = [];
  if (r.minimised.length) ensureDirectory(a.out);
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
  return toBatchReport(r.report, {
    kernel: r.kernel, kernelSource: a['kernel-source'] ?? `host kernel ${release()}`, profile: r.profile.name, sysctls, source: src,
    shards: [shard], minimised: files, wallSeconds: (performance.now() - t0) / 1000, startedAt,
  }, indices);
}

/** Runs `jobs` sub-shards in parallel: ctsim in UML guests (--uml) or ctsim processes with lab namespaces of their own. */
async function runBatchFanOut(a: Args, src: CaseSource, shard: Shard, jobs: number): Promise<BatchReport> {
  const subs = Array.from({ length: jobs }, (_, j) => subShard(shard, j, jobs)).filter((s) => s.index - 1 < src.count);
  if (a.uml !== undefined) {
    const kernel = resolveUmlKernel(a.uml);
    const reports = await Promise.all(subs.map(async (s, j) => {
      const argv = ['kernel-diff', ...commonArgs(a, 'guest'), ...(a.pps === undefined ? ['--pps', String(UML_PPS)] : []), '--shard', `${s.index}/${s.count}`, '--report', `${GUEST_OUT}/report.json`, '--out', `${GUEST_OUT}/min`, '--kernel-source', kernel.provenance, '--json'];
      const run = await runInGuest({ kernel, argv, timeoutMs: guestTimeoutMs(a, Math.ceil(src.count / s.count)), tag: `kd${j}`, onConsole: relayConsole(`guest ${j}`) });
      const text = run.files.get('report.json');
      if (!text) throw new UmlError(`ctsim in the guest (${run.release}) wrote no report (exit ${run.exitCode}): ${run.stderr.trim().slice(-800)}`);
      const rep = parseBatchReport(text.toString('utf8'), `guest ${j} report`);
      // Minimised cases come back through the guest's output folder.
      const copied: string[] = [];
      for (const [name, bytes] of run.files) {
        if (!name.startsWith('min/')) continue;
        const dest = join(a.out, name.slice(4));
        writeFileAtomic(dest, bytes);
        if (dest.endsWith('.pcap')) copied.push(dest);
      }
      return { ...rep, minimised: copied };
    }));
    return mergeBatchReports(reports);
  }
  const dir = mkdtempSync(join(tmpdir(), `${ownPrefix()}kd-jobs-`));
  // The jobs are ctsim processes of their own: an interrupt stops them (each removes its labs) and the folder.
  const running = new Set<ReturnType<typeof spawn>>();
  const release = onInterrupt(() => {
    for (const c of running) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const reports = await Promise.all(subs.map((s, j) => new Promise<BatchReport>((resolveReport, reject) => {
      const file = join(dir, `report-${j}.json`);
      const child = spawn(process.execPath, [process.argv[1], 'kernel-diff', ...commonArgs(a, 'process'), '--shard', `${s.index}/${s.count}`, '--report', file, '--out', a.out, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
      running.add(child);
      child.once('exit', () => running.delete(child));
      let err = '';
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('exit', () => {
        if (!existsSync(file)) reject(new LabError(`kernel-diff job ${j + 1}/${subs.length} wrote no report: ${err.trim().slice(-800)}`));
        else resolveReport(parseBatchReport(readFileSync(file, 'utf8'), `job ${j + 1} report`));
      });
    })));
    return mergeBatchReports(reports);
  } finally {
    release();
    for (const c of running) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatBatchReport(rep: BatchReport): string[] {
  const pct = (x: number, y: number) => (y ? ((100 * x) / y).toFixed(2) : '100.00');
  const shards = isComplete(rep) ? '' : ` (shards ${rep.shards.map((s) => `${s.index}/${s.count}`).join(', ')})`;
  return [
    `kernel ${rep.kernel} (ctsim profile ${rep.profile}): ${rep.cases} cases${shards}, ${rep.packets} packets (${rep.skippedPackets} not injectable)`,
    `  kernel from: ${rep.kernelSource}`,
    `  packets agree: ${rep.packetAgreement}/${rep.packets} (${pct(rep.packetAgreement, rep.packets)} %)`,
    `  final entries agree: ${rep.entryAgreement}/${rep.entryChecks} (${pct(rep.entryAgreement, rep.entryChecks)} %); timeouts ${rep.timeoutAgreement}/${rep.timeoutChecks}${rep.expiredBeforeListing ? `; ${rep.expiredBeforeListing} expired before conntrack -L read them (not checked)` : ''}`,
    `  disagreeing cases: ${rep.disagreeingCases.length}`,
    `  wall time: ${rep.wallSeconds.toFixed(1)} s (${rep.cases ? ((rep.wallSeconds * 10000) / rep.cases).toFixed(0) : '-'} s per 10,000 cases)`,
    ...rep.packetDiffs.slice(0, 20).map((d) => `    ${d.caseName} #${d.index}: ${d.summary}: kernel ${d.kernel}, ctsim ${d.ctsim}${d.ctsimReason ? ` [${d.ctsimReason}]` : ''}`),
    ...rep.entryDiffs.slice(0, 20).map((d) => `    ${d.caseName} entry: kernel ${d.kernel}, ctsim ${d.ctsim}`),
    ...rep.minimised.map((f) => `  minimised: ${f}`),
  ];
}

function finishBatch(rep: BatchReport, a: Pick<Args, 'report' | 'json' | 'record'>): void {
  if (a.report) writeFileAtomic(a.report, `${JSON.stringify(rep, null, 2)}\n`);
  if (a.record) {
    try {
      appendRecords([batchRecord(rep)]);
    } catch (e) {
      throw new UsageError(`--record: ${(e as Error).message}`);
    }
  }
  process.stdout.write(a.json ? `${JSON.stringify(rep, null, 2)}\n` : `${formatBatchReport(rep).join('\n')}\n`);
  process.exitCode = rep.disagreeingCases.length ? 1 : 0;
}

const mergeCommand: CommandModule<object, { reports: string[]; json?: boolean; report?: string; record?: boolean }> = {
  command: 'merge <reports..>',
  describe: 'Add up the JSON reports of a sharded kernel-diff campaign (--shard I/N --report FILE on each machine); with --record, also record scenario reports',
  builder: (y) => y
    .positional('reports', { type: 'string', array: true, describe: 'report files' })
    .option('json', { type: 'boolean' })
    .option('report', { type: 'string', describe: 'write the merged report here' })
    .option('record', { type: 'boolean', describe: 'append the merged (complete) campaign to the verification records (ctsim kernels)' }).example('$0 kernel-diff merge r1.json r2.json --record', 'add up a sharded campaign and record it') as never,
  handler: (a) => {
    // Scenario reports (kernel-diff --scenario --report FILE) are recorded as they are.
    const texts = a.reports.map((f) => [f, readFileSync(f, 'utf8')] as const);
    const isScenario = ([, t]: readonly [string, string]) => t.includes('"scenarios"') && !t.includes(`"format": "${BATCH_REPORT_FORMAT}"`);
    for (const [f, t] of texts.filter(isScenario)) {
      let parsed: { scenarios?: ScenarioComparison[]; kernelSource?: string };
      try {
        parsed = JSON.parse(t) as typeof parsed;
      } catch (e) {
        throw new UsageError(`${f}: not JSON (${(e as Error).message})`);
      }
      if (!Array.isArray(parsed.scenarios) || typeof parsed.kernelSource !== 'string') throw new UsageError(`${f}: not a kernel-diff --scenario report`);
      if (a.record) appendRecords(parsed.scenarios.map((c) => scenarioRecord(c, parsed.kernelSource!)));
      for (const c of parsed.scenarios) process.stdout.write(`${f}: ${scenarioSummaryLine(c)}\n`);
    }
    const batch = texts.filter((x) => !isScenario(x));
    if (!batch.length) return;
    const reports = batch.map(([f, t]) => parseBatchReport(t, f));
    const merged = mergeBatchReports(reports, batch.map(([f]) => f));
    if (!isComplete(merged)) process.stderr.write(`kernel-diff merge: not every shard is here (have ${merged.shards.map((s) => `${s.index}/${s.count}`).join(', ')}): the figures cover part of the campaign\n`);
    finishBatch(merged, a);
  },
};

export const kernelDiffCommand: CommandModule<object, Args> = {
  command: 'kernel-diff',
  describe: 'Replay cases through a real kernel\'s conntrack (the running one in network namespaces ctsim creates and removes, or a user-mode-linux guest with --uml; root) and compare with ctsim packet by packet; with --scenario FILE, run a scenario for real (its hosts as namespaces, its rules, its programs) and compare it with ctsim\'s run of it',
  builder: (y) => overrideOptions(y)
    .command(mergeCommand)
    .option('cases', { type: 'string', describe: 'directory of case captures (raw IPv4 pcap, e.g. from ctsim fuzz)' })
    .option('fuzz-count', { type: 'number', describe: 'generate this many fuzz cases instead' })
    .option('seed', { type: 'number', default: 1 })
    .option('mode', { type: 'string', choices: ['structured', 'blind', 'mixed'], default: 'structured' })
    .option('max-packets', { type: 'number', default: 24, describe: 'packets per generated case' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting for both the kernel (per namespace) and ctsim' })
    .option('minimise', { type: 'number', default: 3, describe: 'how many disagreeing cases to minimise against the kernel' })
    .option('out', { type: 'string', default: 'pcaps/kernel-diff', describe: 'where minimised disagreements are written' })
    .option('json', { type: 'boolean' })
    .option('scenario', { type: 'string', array: true, describe: `a scenario file, a shipped scenario's name (${'half-close-leak, port-collision, kube-proxy-reset, ...'}), a seed variant (${SCENARIO_VARIANTS.map((v) => v.id).join(', ')}), "both" (the two seed incidents) or "all" (every seed variant): run it for real and compare with ctsim` })
    .option('real-set', { type: 'boolean', default: true, describe: 'apply the file\'s real.set overrides (the shortened timings of a long scenario); --no-real-set to run it as written' })
    .option('captures', { type: 'string', describe: 'with --scenario: keep the real captures and event logs in this directory' })
    .option('uml', { type: 'string', describe: 'run inside a user-mode-linux guest: Debian\'s packaged kernel (apt-get install user-mode-linux) when no value is given, or a UML kernel binary (or its folder) built by scripts/build-uml-kernel.sh' })
    .option('jobs', { type: 'number', default: 1, describe: 'run the cases in this many parallel labs (guests with --uml, else ctsim processes with namespaces of their own)' })
    .option('shard', { type: 'string', describe: 'run shard I/N of the campaign (cases i with i % N == I-1); combine the --report files with `kernel-diff merge`' })
    .option('report', { type: 'string', describe: 'also write the JSON report to this file' })
    .option('html', { type: 'string', describe: 'with --scenario: also write a self-contained HTML report (packets, conntrack events and outcome of the real kernel and ctsim side by side, differences highlighted)' })
    .option('pps', { type: 'number', describe: `injection rate in packets/s (default ${INJECT_PPS}, ${UML_PPS} in a UML guest); a run that loses packets outside conntrack is retried at half the rate` })
    .option('profile', { type: 'string', describe: 'compare with this ctsim profile (e.g. ubuntu-20.04) instead of the one for the kernel\'s uname -r' })
    .option('record', { type: 'boolean', describe: 'append the result to the verification records shown by ctsim kernels' })
    .option('guest-timeout', { type: 'number', describe: 'with --uml: kill a guest after this many seconds (default 180 + 0.5 per case)' })
    .option('uml-timing', { type: 'boolean', hidden: true, describe: 'compare scenario timings with the user-mode-linux tolerance (set by --uml for the run inside the guest)' })
    .option('kernel-source', { type: 'string', hidden: true, describe: 'where the kernel came from (set by --uml for the run inside the guest)' })
    .example([['sudo $0 kernel-diff --fuzz-count 1000', '1,000 fuzz cases through this machine\'s kernel and ctsim'], ['sudo $0 kernel-diff --scenario both --html kd.html', 'the seed incidents for real, side by side with ctsim'], ['sudo $0 kernel-diff --uml --fuzz-count 10000 --jobs 2', 'inside Debian\'s user-mode-linux kernel']]) as never,
  handler: async (a) => {
    if (a.captures && !a.scenario) throw new UsageError('--captures goes with --scenario');
    if (a.html !== undefined && !a.scenario) throw new UsageError('--html goes with --scenario (a batch campaign writes pcap + JSON for its disagreements: open those with `ctsim replay --html`)');
    // Ctrl-C / SIGTERM: the labs' namespaces, the programs in them (UML guests too) and their scratch folders go.
    cleanUpOnInterrupt();
    if (typeof process.getuid === 'function' && process.getuid() === 0) {
      const left = removeLeftovers();
      if (left.namespaces.length || left.folders.length) {
        process.stderr.write(`ctsim: removed what earlier runs that no longer exist left behind: ${[...left.namespaces, ...left.folders].join(', ')}${left.processes.length ? ` (and killed ${left.processes.length} process${left.processes.length === 1 ? '' : 'es'} still running in those namespaces)` : ''}\n`);
      }
    }
    positive('jobs', a.jobs, 64);
    positive('pps', a.pps, 100_000);
    positive('guest-timeout', a['guest-timeout'], 86_400);
    if (a.profile) resolveKernel(a.profile); // a typed error for an unknown profile, before any work
    if (a.scenario?.length) {
      if (a.cases || a['fuzz-count'] !== undefined || a.shard) throw new UsageError('--scenario runs scenario files for real; it takes no --cases, --fuzz-count or --shard');
      await scenarioMode(scenarioArgs(a.scenario), a);
      return;
    }
    if (a.set?.length || a.kernel) throw new UsageError('--set and --kernel go with --scenario');
    const src = caseSource(a);
    let shard: Shard;
    try {
      shard = a.shard ? parseShard(a.shard) : { index: 1, count: 1 };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const rep = a.uml !== undefined || a.jobs > 1 ? await runBatchFanOut(a, src, shard, a.jobs) : await runBatchHere(a, src, shard);
    finishBatch(rep, a);
  },
};

/** A scenario for a real run: the file with its real.set overrides (unless refused), then the command line's. */
export function realSpec(file: string, o: LoadOverrides, useRealSet: boolean): ScenarioSpec {
  const first = loadScenarioFile(file, o);
  if (!useRealSet || first.realSet.length === 0) return first;
  const set = first.realSet.map((x) => `${x.path}=${String(x.value)}`);
  return loadScenarioFile(file, { ...o, set: [...set, ...(o.set ?? [])] });
}

/** --scenario values (each may be a comma-separated list): "both", "all", seed variant ids, shipped names and files. */
function scenarioArgs(xs: string[]): string[] {
  // A value may be a comma-separated list (as main's kernel-diff --scenario v1,v2 takes it).
  return xs.flatMap((v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .flatMap((x) => (x === 'both' ? [...SEED_NAMES] : x === 'all' ? SCENARIO_VARIANTS.map((v) => v.id) : [x]));
}

/** The spec one --scenario value names: a seed variant (its file, real.set and knobs), or a file or shipped name with its real.set. */
function scenarioSpec(x: string, a: Args): ScenarioSpec {
  const v = findVariant(x);
  if (v) return variantSpec(v, overridesOf(a));
  return realSpec(scenarioPath(x), overridesOf(a), a['real-set']);
}

async function scenarioMode(names: string[], a: Args): Promise<void> {
  // Every spec loads (and is checked) before anything runs.
  const specs = names.map((x) => scenarioSpec(x, a));
  let results: ScenarioComparison[] = [];
  let kernelSource = a['kernel-source'] ?? `host kernel ${release()}`;
  if (a.uml !== undefined) {
    const kernel = resolveUmlKernel(a.uml);
    kernelSource = kernel.provenance;
    if (process.stderr.isTTY) process.stderr.write(`kernel-diff: booting ${kernel.provenance} to run ${names.join(', ')} for real...\n`);
    // The guest sees this machine's files: scenario files by absolute path (guestPathOf: the
    // guest's own /tmp is a tmpfs), overrides as given.
    const given = names.map((x) => (findVariant(x) || !/[/\\]|\.ya?ml$|\.json$/.test(x) ? x : guestPathOf(resolve(x))));
    const overrides = [...(a.kernel ? ['--kernel', a.kernel] : []), ...(a.sysctl ?? []).flatMap((x) => ['--sysctl', x]), ...(a.set ?? []).flatMap((x) => ['--set', x]), ...(a['real-set'] ? [] : ['--no-real-set'])];
    const argv = ['kernel-diff', '--scenario', ...given, ...overrides, '--report', `${GUEST_OUT}/scenarios.json`, '--json', '--uml-timing', '--kernel-source', kernel.provenance, ...(a.profile ? ['--profile', a.profile] : []), ...(a.captures ? ['--captures', `${GUEST_OUT}/captures`] : [])];
    const run = await runInGuest({ kernel, argv, timeoutMs: (a['guest-timeout'] ?? 300) * 1000, tag: 'sc', onConsole: relayConsole('guest') });
    const text = run.files.get('scenarios.json');
    if (!text) throw new UmlError(`ctsim in the guest (${run.release}) wrote no scenario report (exit ${run.exitCode}): ${run.stderr.trim().slice(-800)}`);
    results = (JSON.parse(text.toString('utf8')) as { scenarios: ScenarioComparison[] }).scenarios;
    if (a.captures) {
      for (const [name, bytes] of run.files) {
        if (!name.startsWith('captures/')) continue;
        writeFileAtomic(join(a.captures, name.slice('captures/'.length)), bytes);
      }
    }
  } else {
    for (const [i, spec] of specs.entries()) {
      const variant = findVariant(names[i]) ? names[i] : undefined;
      if (process.stderr.isTTY) process.stderr.write(`kernel-diff: running ${variant ?? spec.name} for real (${spec.durationNs / 1e9} s)...\n`);
      results.push(await runScenarioDiff(spec, { keepDir: a.captures, profile: a.profile, tolerance: a['uml-timing'] ? UML_TOLERANCE : TOLERANCE, variant }));
    }
  }
  const agree = results.every((r) => r.summary.agree);
  const json = `${JSON.stringify({ scenarios: results, agree, kernelSource }, null, 2)}\n`;
  if (a.report) writeFileAtomic(a.report, json);
  if (a.record) appendRecords(results.map((r) => scenarioRecord(r, kernelSource)));
  const profile = results[0]?.profile ?? '';
  if (a.html !== undefined) writeHtmlReport(a.html, kernelDiffReport(results, { command: commandLine(), version: packageVersion(), kernelSource, profile: reportProfile(profile, `ctsim ${profile}`) }));
  if (a.json) process.stdout.write(json);
  else {
    const out = results.flatMap((r, i) => [...(i ? [''] : []), ...formatScenarioComparison(r)]);
    if (results.length > 1) out.push('', ...results.map(scenarioSummaryLine));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  // main() sets the exit status from what the handler throws: a typed error makes it 1.
  const differ = results.filter((r) => !r.summary.agree).map((r) => r.variant ?? r.name);
  if (differ.length) throw new ScenarioDisagreement(`${differ.join(', ')}: the kernel (${kernelSource}) and ctsim disagree (the comparison is on standard output)`);
}
