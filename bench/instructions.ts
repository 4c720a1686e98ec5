// `npm run bench:instructions [-- --sizes 1e4,1e5] [-- --rounds 20,60] [-- --json file]`: the full
// path's cost per packet in instructions executed, counted by valgrind's cachegrind. Unlike the
// timed benchmarks, the count does not depend on what else the machine runs (on a shared 2-core
// VM the same build's time per packet moved by 2x from one hour to the next, its instruction
// count by 0.05 %), so two builds can be compared on any machine, one change at a time.
//  - For each mode (track, trackBatch, and the ring fill alone) the driver runs twice, with R1 and
//    R2 rounds of 4,096 packets; the difference is the cost of the extra rounds in steady state
//    (set-up, start-up and JIT warm-up are in both runs and cancel). Tracking alone = mode - fill.
//  - Node runs single-threaded with fixed random and hash seeds: with V8's compiler threads or
//    random seeds, which functions get inlined varies from run to run, and so does the count.
//  - Mispredicts come from cachegrind's simple predictor model: a hint, not the CPU's number.
// Needs valgrind (Debian: apt-get install valgrind); each run takes a minute or two.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/output/atomic-file.js';
import { parseCachegrindOut, perPacket, type CachegrindCounts } from './cachegrind.js';
import { FULL_PATH_RING } from './full-path.bench.js';

const DRIVER = fileURLToPath(new URL('./instructions-driver.js', import.meta.url));
const NODE_FLAGS = ['--single-threaded', '--random-seed=7', '--hash-seed=7'];
const MODES = ['fill', 'track', 'batch'] as const;
type Mode = (typeof MODES)[number];

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const opts = { sizes: [10_000], rounds: [20, 60], json: '' };
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
    else throw new UsageError(`unknown argument ${flag}`);
  }
  if (opts.rounds.length !== 2 || opts.rounds[1] <= opts.rounds[0]) throw new UsageError('--rounds needs two counts, the second larger: R1,R2');
  return opts;
}

/** One driver run under cachegrind: its program totals. */
function countRun(dir: string, mode: Mode, entries: number, rounds: number): Promise<CachegrindCounts> {
  const out = join(dir, `${mode}-${entries}-${rounds}.cg`);
  const args = ['--tool=cachegrind', '--cache-sim=no', '--branch-sim=yes', `--cachegrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, DRIVER, mode, String(entries), String(rounds)];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const expected = mode === 'fill' ? 0 : rounds * FULL_PATH_RING;
      if (code !== 0) return reject(new Error(`valgrind ${mode} ${entries} ${rounds} exited with ${code}: ${stderr.slice(-500)}`));
      if (stdout.trim() !== `accepted ${expected}`) return reject(new Error(`driver ${mode} ${entries} ${rounds}: "${stdout.trim()}", expected "accepted ${expected}"`));
      try {
        resolve(parseCachegrindOut(readFileSync(out, 'utf8')));
      } catch (e) {
        reject(e);
      }
    });
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
  const [r1, r2] = opts.rounds;
  const extra = (r2 - r1) * FULL_PATH_RING;
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-instructions-'));
  const records = [];
  try {
    process.stdout.write(`Full path, instructions per packet (cachegrind, ${probe.stdout.trim()}; node ${process.version} ${NODE_FLAGS.join(' ')}; rounds ${r1} and ${r2} of ${FULL_PATH_RING} packets)\n`);
    process.stdout.write('entries  mode        instructions  branches  mispredicts (model)  tracking only (mode - fill)\n');
    for (const entries of opts.sizes) {
      const jobs = MODES.flatMap((mode) => [r1, r2].map((rounds) => () => countRun(dir, mode, entries, rounds)));
      process.stderr.write(`  ${entries} entries: ${jobs.length} runs under valgrind...\n`);
      const runs = await pool(jobs, Math.max(1, Math.min(cpus().length, 4)));
      const cost = new Map<Mode, CachegrindCounts>(MODES.map((m, i) => [m, perPacket(runs[2 * i], runs[2 * i + 1], extra)]));
      const fill = cost.get('fill')!;
      for (const mode of MODES) {
        const c = cost.get(mode)!;
        const only = mode === 'fill' ? '-' : (c.instructions - fill.instructions).toFixed(0);
        process.stdout.write(`${String(entries).padEnd(8)} ${mode.padEnd(10)} ${c.instructions.toFixed(0).padStart(13)} ${c.branches.toFixed(0).padStart(9)} ${c.mispredicts.toFixed(1).padStart(20)}  ${only}\n`);
        records.push({
          workload: 'full-path-instructions', mode, entries, rounds: opts.rounds, packetsPerRound: FULL_PATH_RING,
          definition: 'instructions, branches and modelled mispredicts per packet of the full path (uniform flows, in-window data and ACKs, REDIRECT), counted by cachegrind over the extra rounds of the longer run; mode fill is the harness alone',
          perPacket: c, trackingOnly: mode === 'fill' ? null : { instructions: c.instructions - fill.instructions, branches: c.branches - fill.branches, mispredicts: c.mispredicts - fill.mispredicts },
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (opts.json) {
    writeFileAtomic(opts.json, JSON.stringify({ node: process.version, nodeFlags: NODE_FLAGS, records }, null, 2) + '\n');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:instructions: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
