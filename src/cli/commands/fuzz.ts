// `ctsim fuzz`: structure-aware and blind fuzzing of the conntrack engine with invariants
// checked on every packet; failing cases are minimised and saved as pcap + JSON.
import type { CommandModule } from 'yargs';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { FAULTS, FUZZ_MODES, FuzzMergeError, FuzzViolations, INVARIANTS, mergeFuzzSummaries, parseShard, runFuzz, runFuzzParallel, shardsCover, type FaultName, type FuzzMode, type FuzzOptions, type FuzzProgress, type FuzzSummary } from '../../fuzz/index.js';
import { NEWEST_NAME } from '../../conntrack/kernel-profile.js';
import { UsageError } from '../errors.js';

interface FuzzArgs {
  kernel?: string;
  seed: number;
  count: number;
  mode: string;
  out: string;
  'time-budget'?: number;
  sysctl?: string[];
  json?: boolean;
  corpus?: string;
  'max-packets': number;
  'max-payload': number;
  minimise: boolean;
  'inject-fault'?: string;
  jobs: number;
  shard?: string;
  report?: string;
}

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer in ${lo}..${hi}, got ${v}`);
  return v;
}

function formatProgress(p: FuzzProgress): string {
  return `fuzz: ${p.cases} cases, ${p.casesPerSec.toFixed(0)} cases/s, ${p.findings} finding${p.findings === 1 ? '' : 's'}, ${p.elapsedSec.toFixed(1)} s`;
}

export function formatSummary(s: FuzzSummary): string {
  const whole = !s.shards || shardsCover(s.shards, { index: 1, count: 1 });
  const lines = [
    `# ctsim fuzz: kernel ${s.kernel}, seed ${s.seed}, mode ${s.mode}${s.sysctls.length ? `, ${s.sysctls.join(' ')}` : ''}${whole ? '' : `, shards ${s.shards.map((x) => `${x.index}/${x.count}`).join(', ')}`}`,
    `cases run     ${s.casesRun} of ${s.count}${s.stoppedBy === 'time-budget' ? ' (stopped by --time-budget)' : ''}`,
    `packets       ${s.packets}`,
    `wall time     ${s.elapsedSec.toFixed(1)} s: ${s.casesPerSec.toFixed(0)} cases/s, ${s.packetsPerSec.toFixed(0)} packets/s`,
    `typed errors  ${s.typedErrors}`,
    `findings      ${s.violations}${s.violations ? '' : ' (no invariant violated)'}`,
    ...INVARIANTS.map((k) => `  ${k.padEnd(13)} ${s.byInvariant[k]}`),
    `corpus        ${s.corpusDir ? `${s.corpusWritten} cases written to ${s.corpusDir}` : 'not written (--corpus DIR)'}`,
  ];
  const saved = s.findings.filter((f) => f.files);
  if (saved.length) {
    lines.push(`minimised findings in ${s.outDir}:`);
    for (const f of saved) {
      lines.push(`  ${f.invariant} case ${f.caseIndex}, packet ${f.packet}: ${f.message}`, `    -> ${f.files!.pcap} (${f.packetsBefore} -> ${f.packetsAfter} packets, ${f.minimiserRuns} minimiser runs)`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const fuzzCommand: CommandModule<object, FuzzArgs> = {
  command: 'fuzz',
  describe: 'Fuzz conntrack with generated TCP conversations (structured) and byte mutations (blind), checking invariants on every packet; failing cases are minimised into --out as pcap + JSON',
  builder: (y) => y
    .option('kernel', { type: 'string', describe: 'kernel release or vendor profile (e.g. 5.4, sles-15-sp4, 6.18); default: newest' })
    .option('seed', { type: 'number', default: 1, describe: 'run seed: case n of seed s is always the same case' })
    .option('count', { type: 'number', default: 1000, describe: 'number of cases' })
    .option('mode', { type: 'string', choices: FUZZ_MODES as string[], default: 'mixed', describe: 'structured conversations + mutations, blind byte mutation, or both (per case)' })
    .option('out', { type: 'string', default: 'pcaps/fuzz-findings', describe: 'where minimised failing cases go (<invariant>-<seed>-<n>.pcap/.json)' })
    .option('time-budget', { type: 'number', describe: 'stop after this many seconds' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting as name=value (repeatable)' })
    .option('json', { type: 'boolean', describe: 'print the summary as JSON' })
    .option('corpus', { type: 'string', describe: 'also write every passing case to this folder (pcap + JSON)' })
    .option('max-packets', { type: 'number', default: 64, describe: 'packets per case at most' })
    .option('max-payload', { type: 'number', default: 1460, describe: 'TCP payload bytes per packet at most' })
    .option('minimise', { type: 'boolean', default: true, describe: 'minimise failing cases before saving them (--no-minimise to skip)' })
    .option('jobs', { type: 'number', default: 1, describe: 'worker threads sharing the cases' })
    .option('shard', { type: 'string', describe: 'run shard I/N of the campaign (cases n with n % N == I-1); combine the --report files with `ctsim fuzz merge`' })
    .option('report', { type: 'string', describe: 'also write the JSON summary to this file' })
    .command(fuzzMergeCommand)
    .option('inject-fault', { type: 'string', choices: FAULTS as unknown as string[], hidden: true, describe: 'break the engine on purpose (tests the fuzzer)' })
    .example('$0 fuzz --kernel 6.18 --seed 1 --count 100000', '100,000 cases, invariants on every packet')
    .example('$0 fuzz --mode blind --time-budget 60 --out /tmp/findings', 'a minute of blind mutation') as never,
  handler: async (a) => {
    const seed = intIn('seed', a.seed, 0, 0xffffffff);
    const jobs = intIn('jobs', a.jobs, 1, 64);
    let shard;
    try {
      shard = a.shard ? parseShard(a.shard) : undefined;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const count = intIn('count', a.count, 1, 1_000_000_000);
    const maxPackets = intIn('max-packets', a['max-packets'], 1, 4096);
    const maxPayload = intIn('max-payload', a['max-payload'], 1, 8960);
    const budget = a['time-budget'];
    if (budget !== undefined && (typeof budget !== 'number' || !Number.isFinite(budget) || budget <= 0)) throw new UsageError(`--time-budget must be a positive number of seconds, got ${budget}`);
    if (!a.out) throw new UsageError('--out needs a folder');
    const tty = process.stderr.isTTY === true;
    const opts: FuzzOptions = {
      kernel: a.kernel ?? NEWEST_NAME, sysctls: a.sysctl ?? [], seed, count, mode: a.mode as FuzzMode, outDir: a.out, timeBudgetSec: budget,
      corpusDir: a.corpus, maxPackets, maxPayload, minimise: a.minimise, fault: a['inject-fault'] as FaultName | undefined, shard,
      onProgress: tty ? (p) => process.stderr.write(`\r\x1b[K${formatProgress(p)}`) : undefined,
    };
    const summary = jobs > 1 ? await runFuzzParallel(opts, jobs) : runFuzz(opts);
    if (tty) process.stderr.write('\r\x1b[K');
    finishFuzz(summary, a);
  },
};

function finishFuzz(summary: FuzzSummary, a: { json?: boolean; report?: string }): void {
  if (a.report) {
    const tmp = `${a.report}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(summary, null, 2)}\n`);
    renameSync(tmp, a.report);
  }
  process.stdout.write(a.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
  {
    if (summary.violations > 0) {
      const by = INVARIANTS.filter((k) => summary.byInvariant[k]).map((k) => `${k} ${summary.byInvariant[k]}`).join(', ');
      throw new FuzzViolations(`${summary.violations} of ${summary.casesRun} cases violated an invariant (${by}); minimised cases in ${summary.outDir}`);
    }
  }
}

const fuzzMergeCommand: CommandModule<object, { summaries: string[]; json?: boolean; report?: string }> = {
  command: 'merge <summaries..>',
  describe: 'Add up the JSON summaries of a sharded fuzz campaign (--shard I/N --report FILE on each machine)',
  builder: (y) => y
    .positional('summaries', { type: 'string', array: true, describe: 'summary files' })
    .option('json', { type: 'boolean' })
    .option('report', { type: 'string', describe: 'write the merged summary here' })
    .example('$0 fuzz merge s1.json s2.json', 'add up a sharded campaign') as never,
  handler: (a) => {
    const parsed = a.summaries.map((f) => {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        throw new FuzzMergeError(`${f}: cannot read (${(e as Error).message})`);
      }
      try {
        return JSON.parse(text) as FuzzSummary;
      } catch (e) {
        throw new FuzzMergeError(`${f}: not JSON (${(e as Error).message})`);
      }
    });
    const merged = mergeFuzzSummaries(parsed, a.summaries);
    if (!shardsCover(merged.shards, { index: 1, count: 1 })) process.stderr.write(`fuzz merge: not every shard is here (have ${merged.shards.map((s) => `${s.index}/${s.count}`).join(', ')})\n`);
    finishFuzz(merged, a);
  },
};
