// `npm run bench:instructions [-- --sizes 1e4,1e5] [-- --rounds 60,100,140] [-- --profile 20]
// [-- --json file]`: the full path's cost per packet in instructions executed, counted by
// valgrind's cachegrind. Unlike the timed benchmarks, the count does not depend on what else the machine runs (on a shared 2-core
// VM the same build's time per packet moved by 2x from one hour to the next, its instruction
// count by 0.05 %), so two builds can be compared on any machine, one change at a time.
//  - For each mode (track, trackBatch, and the ring fill alone) the driver runs three times, with
//    R1 < R2 < R3 rounds of 4,096 packets; the difference of two runs is the cost of the extra
//    rounds (set-up and start-up are in both runs and cancel). Tracking alone = mode - fill.
//  - JIT warm-up does not always cancel: V8 may still be compiling after R1 rounds. So the cost is
//    taken over R2..R3 and compared with R1..R2; a mode whose two windows differ by more than 5 %
//    is marked "not steady" (raise the rounds).
//  - Node runs single-threaded with fixed random and hash seeds, and without address-space
//    randomisation (setarch -R): with V8's compiler threads, random seeds or random addresses,
//    which functions get inlined varies from run to run, and so does the count.
//  - Mispredicts come from cachegrind's simple predictor model: a hint, not the CPU's number.
//  - --profile N: the N functions that cost the most instructions per packet in track and batch,
//    from callgrind and node's jitdump (jit-profile.ts): where the count goes, exactly.
// Needs valgrind (Debian: apt-get install valgrind); each run takes a minute or two.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/output/atomic-file.js';
import { parseCachegrindOut, steadyCost, type CachegrindCounts, type SteadyCost } from './cachegrind.js';
import { FULL_PATH_RING } from './full-path.bench.js';
import { attribute, instructionsByAddress, parseJitdump, perPacketByFunction } from './jit-profile.js';

const DRIVER = fileURLToPath(new URL('./instructions-driver.js', import.meta.url));
const NODE_FLAGS = ['--single-threaded', '--random-seed=7', '--hash-seed=7'];

/**
 * `setarch <machine> -R`: the runs without address-space randomisation. With it, V8's heap and
 * code land at other addresses in every run and so do some of its decisions: two identical
 * trackBatch runs of 100 rounds counted 7,894 and 7,855 million instructions with it, 8,063.60 and
 * 8,063.64 million without. Empty when setarch is missing or refused (then said so).
 */
let NO_ASLR: string[] = [];

function noAslrPrefix(): string[] {
  const prefix = ['setarch', machine(), '-R'];
  const probe = spawnSync(prefix[0], [...prefix.slice(1), 'true']);
  return probe.status === 0 ? prefix : [];
}
const MODES = ['fill', 'track', 'batch'] as const;
/** Valgrind runs at a time: one per core, at most 4. */
const PARALLEL = Math.max(1, Math.min(cpus().length, 4));
type Mode = (typeof MODES)[number];

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const opts = { sizes: [10_000], rounds: [60, 100, 140], json: '', profile: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    const nums = () => value.split(',').map((s) => {
      const v = Number(s);
      if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${flag}: not a positive number: ${s}`);
      return Math.round(v);
    });
    if (flag === '--sizes') opts.sizes = nums();
    else if (flag === '--rounds') opts.rounds = nums();
    else if (flag === '--json') opts.json = value;
    else if (flag === '--profile') {
      const [top] = nums();
      opts.profile = top;
    }
    else throw new UsageError(`unknown argument ${flag}`);
  }
  const [r1, r2, r3] = opts.rounds;
  if (opts.rounds.length !== 3 || !(r1 < r2 && r2 < r3)) throw new UsageError('--rounds needs three increasing counts: R1,R2,R3');
  return { ...opts, rounds: [r1, r2, r3] as [number, number, number] };
}

/** Runs the driver under valgrind with `tool` options (in `cwd`) and checks it tracked every packet. */
function driverUnderValgrind(tool: string[], cwd: string, mode: Mode, entries: number, rounds: number, nodeFlags: string[] = []): Promise<void> {
  const argv = [...NO_ASLR, 'valgrind', ...tool, process.execPath, ...NODE_FLAGS, ...nodeFlags, DRIVER, mode, String(entries), String(rounds)];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const expected = mode === 'fill' ? 0 : rounds * FULL_PATH_RING;
      if (code !== 0) return reject(new Error(`valgrind ${mode} ${entries} ${rounds} exited with ${code}: ${stderr.slice(-500)}`));
      if (stdout.trim() !== `accepted ${expected}`) return reject(new Error(`driver ${mode} ${entries} ${rounds}: "${stdout.trim()}", expected "accepted ${expected}"`));
      resolve();
    });
  });
}

/** One driver run under cachegrind: its program totals. */
async function countRun(dir: string, mode: Mode, entries: number, rounds: number): Promise<CachegrindCounts> {
  const out = join(dir, `${mode}-${entries}-${rounds}.cg`);
  await driverUnderValgrind(['--tool=cachegrind', '--cache-sim=no', '--branch-sim=yes', `--cachegrind-out-file=${out}`], dir, mode, entries, rounds);
  return parseCachegrindOut(readFileSync(out, 'utf8'));
}

/**
 * One driver run under callgrind, node writing its jitdump (--perf-prof) into a folder of its own:
 * the instructions executed per function (jit-profile.ts).
 */
async function profileRun(dir: string, mode: Mode, entries: number, rounds: number): Promise<Map<string, number>> {
  const cwd = mkdtempSync(join(dir, `profile-${mode}-${rounds}-`));
  const out = join(cwd, 'callgrind.out');
  await driverUnderValgrind(['--tool=callgrind', '--dump-instr=yes', '--compress-pos=no', '--compress-strings=no', `--callgrind-out-file=${out}`], cwd, mode, entries, rounds, ['--perf-prof']);
  const dumps = readdirSync(cwd).filter((f) => /^jit-\d+\.dump$/.test(f));
  if (dumps.length !== 1) throw new Error(`profile ${mode} ${rounds}: expected one jitdump file from node --perf-prof, found ${dumps.length}`);
  const codes = parseJitdump(readFileSync(join(cwd, dumps[0])));
  const byFunction = attribute(codes, instructionsByAddress(readFileSync(out, 'utf8')));
  rmSync(cwd, { recursive: true, force: true }); // the jitdump and callgrind files are large
  return byFunction;
}

interface ProfileRecord {
  mode: Mode;
  entries: number;
  rounds: [number, number];
  definition: string;
  functions: Array<{ fn: string; instructions: number }>;
}

/** The track and batch modes' instructions per packet by function, over rounds R2..R3 (callgrind is slower: runs at R2 and R3 only). */
async function profileSize(dir: string, entries: number, rounds: readonly [number, number, number], top: number): Promise<ProfileRecord[]> {
  const modes = ['track', 'batch'] as const;
  const [, r2, r3] = rounds;
  process.stderr.write(`  ${entries} entries: ${2 * modes.length} profile runs under callgrind...\n`);
  const runs = await pool(modes.flatMap((mode) => [r2, r3].map((r) => () => profileRun(dir, mode, entries, r))), PARALLEL);
  return modes.map((mode, i) => {
    const functions = perPacketByFunction(runs[2 * i], runs[2 * i + 1], (r3 - r2) * FULL_PATH_RING);
    const total = functions.reduce((a, f) => a + f.instructions, 0);
    process.stdout.write(`\nInstructions per packet by function, ${mode} at ${entries} entries (callgrind, rounds ${r2}..${r3}; ${total.toFixed(0)} in all, the ring fill included):\n`);
    for (const f of functions.slice(0, top)) process.stdout.write(`${f.instructions.toFixed(1).padStart(9)}  ${f.fn}\n`);
    return {
      mode, entries, rounds: [r2, r3] as [number, number], functions,
      definition: 'instructions per packet executed in each function\'s generated code (names from node --perf-prof\'s jitdump; inlined callees count in their caller), over the extra rounds of the longer of two callgrind runs',
    };
  });
}

/** Runs the jobs with at most `parallel` at a time, results in order. */
async function pool<T>(jobs: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return results;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    process.stderr.write('bench:instructions needs valgrind (Debian: apt-get install valgrind); it was not found.\n');
    process.exitCode = 2;
    return;
  }
  NO_ASLR = noAslrPrefix();
  if (NO_ASLR.length === 0) process.stderr.write("setarch -R is not available: the runs keep address-space randomisation, and V8 compiles differently from run to run (trackBatch's count moved by up to a third).\n");
  const rounds = opts.rounds;
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-instructions-'));
  const records = [];
  const unsteady: string[] = [];
  const profiles: ProfileRecord[] = [];
  try {
    process.stdout.write(`Full path, instructions per packet (cachegrind, ${probe.stdout.trim()}; node ${process.version} ${NODE_FLAGS.join(' ')}${NO_ASLR.length > 0 ? '; no address-space randomisation' : ''}; rounds ${rounds.join(', ')} of ${FULL_PATH_RING} packets; cost over rounds ${rounds[1]}..${rounds[2]}, checked against ${rounds[0]}..${rounds[1]})\n`);
    process.stdout.write('entries  mode        instructions  branches  mispredicts (model)  tracking only (mode - fill)  drift vs earlier rounds\n');
    for (const entries of opts.sizes) {
      const jobs = MODES.flatMap((mode) => rounds.map((r) => () => countRun(dir, mode, entries, r)));
      process.stderr.write(`  ${entries} entries: ${jobs.length} runs under valgrind...\n`);
      const runs = await pool(jobs, PARALLEL);
      const cost = new Map<Mode, SteadyCost>(MODES.map((m, i) => [m, steadyCost([runs[3 * i], runs[3 * i + 1], runs[3 * i + 2]], rounds, FULL_PATH_RING)]));
      const fill = cost.get('fill')!.late;
      for (const mode of MODES) {
        const s = cost.get(mode)!;
        const c = s.late;
        const only = mode === 'fill' ? '-' : (c.instructions - fill.instructions).toFixed(0);
        const drift = `${s.drift >= 0 ? '+' : ''}${(100 * s.drift).toFixed(2)} %${s.steady ? '' : ' NOT STEADY'}`;
        if (!s.steady) unsteady.push(`${mode} at ${entries}`);
        process.stdout.write(`${String(entries).padEnd(8)} ${mode.padEnd(10)} ${c.instructions.toFixed(0).padStart(13)} ${c.branches.toFixed(0).padStart(9)} ${c.mispredicts.toFixed(1).padStart(20)}  ${only.padStart(27)}  ${drift}\n`);
        records.push({
          workload: 'full-path-instructions', mode, entries, rounds, packetsPerRound: FULL_PATH_RING,
          definition: 'instructions, branches and modelled mispredicts per packet of the full path (uniform flows, in-window data and ACKs, REDIRECT), counted by cachegrind over the extra rounds R2..R3 of the longest run; mode fill is the harness alone; steady: R1..R2 cost the same within 5 %',
          perPacket: c, earlierRounds: s.early, drift: s.drift, steady: s.steady,
          trackingOnly: mode === 'fill' ? null : { instructions: c.instructions - fill.instructions, branches: c.branches - fill.branches, mispredicts: c.mispredicts - fill.mispredicts },
        });
      }
      if (opts.profile > 0) profiles.push(...await profileSize(dir, entries, rounds, opts.profile));
    }
    if (unsteady.length > 0) {
      process.stdout.write(`Not steady (the earlier rounds cost more than 5 % more or less: V8 was still compiling; raise --rounds): ${unsteady.join(', ')}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (opts.json) {
    writeFileAtomic(opts.json, JSON.stringify({ node: process.version, nodeFlags: NODE_FLAGS, addressSpaceRandomisation: NO_ASLR.length === 0, records, ...(profiles.length > 0 ? { profiles } : {}) }, null, 2) + '\n');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:instructions: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
