// `npm run bench:instructions`: its reading of cachegrind's output file, the per-packet difference
// of runs with its check that the JIT had settled, the driver's own check that every packet was
// tracked, and the runner's clear refusal of bad arguments and of a machine without valgrind. The valgrind runs themselves
// take minutes and are not part of the tests (no speed is asserted anywhere in npm test).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CachegrindOutputError, parseCachegrindOut, perPacket, steadyCost } from '../../bench/cachegrind.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const run = (script: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [path.join(ROOT, 'dist/bench', script), ...args], { encoding: 'utf8', timeout: 120_000, env });

// The head of a real cachegrind output file (valgrind 3.19, --branch-sim=yes), cut after a few cost lines.
const OUT = [
  'desc: I1 cache:         32768 B, 64 B, 8-way associative',
  'cmd: node --single-threaded dist/bench/instructions-driver.js track 10000 60',
  'events: Ir Bc Bcm Bi Bim',
  'fl=./csu/../csu/libc-start.c',
  'fn=__libc_start_main@@GLIBC_2.34',
  '242 11 0 0 0 0',
  'summary: 14551628081 2480248146 101857433 56315138 30425154',
  '',
].join('\n');

describe('bench:instructions', () => {
  it('reads the program totals from the events and summary lines', () => {
    expect(parseCachegrindOut(OUT)).toEqual({ instructions: 14551628081, branches: 2480248146 + 56315138, mispredicts: 101857433 + 30425154 });
  });

  it('refuses an output without branch events, without a summary, or with a summary that does not match', () => {
    expect(() => parseCachegrindOut(OUT.replace('events: Ir Bc Bcm Bi Bim', 'events: Ir').replace(/summary: .*/, 'summary: 5'))).toThrow(/lacks event Bc/);
    expect(() => parseCachegrindOut(OUT.replace(/summary: .*\n/, ''))).toThrow(CachegrindOutputError);
    expect(() => parseCachegrindOut(OUT.replace(/summary: .*/, 'summary: 1 2 3'))).toThrow(/does not match/);
  });

  it('costs the extra packets of the longer run', () => {
    const short = { instructions: 1000, branches: 100, mispredicts: 10 };
    const long = { instructions: 9000, branches: 900, mispredicts: 50 };
    expect(perPacket(short, long, 400)).toEqual({ instructions: 20, branches: 2, mispredicts: 0.1 });
    expect(() => perPacket(short, long, 0)).toThrow(RangeError);
  });

  it('takes the cost over the last rounds and flags a mode whose earlier rounds cost otherwise (the JIT still at work)', () => {
    const c = (instructions: number) => ({ instructions, branches: instructions / 10, mispredicts: 0 });
    // 4 packets per round; rounds 10, 20, 30: 100 per packet from 20 to 30.
    const steady = steadyCost([c(1000), c(5000), c(9000)], [10, 20, 30], 4);
    expect(steady).toEqual({ early: c(100), late: c(100), drift: 0, steady: true });
    // Warm-up work between rounds 10 and 20: the early window costs 150, the late one 100.
    const warming = steadyCost([c(1000), c(7000), c(11000)], [10, 20, 30], 4);
    expect(warming.late).toEqual(c(100));
    expect(warming.early).toEqual(c(150));
    expect(warming.steady).toBe(false);
    expect(warming.drift).toBeCloseTo(-1 / 3, 10);
    // Within 5 %: steady (a garbage collection in one window); beyond: not.
    expect(steadyCost([c(1000), c(5160), c(9160)], [10, 20, 30], 4).steady).toBe(true);
    expect(steadyCost([c(1000), c(5240), c(9240)], [10, 20, 30], 4).steady).toBe(false);
    expect(() => steadyCost([c(1), c(2), c(3)], [10, 30, 20], 4)).toThrow(RangeError);
  });

  it('the driver tracks every packet it fills (the runner checks the count it prints)', () => {
    const r = run('instructions-driver.js', ['batch', '2000', '2']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('accepted 8192');
    expect(run('instructions-driver.js', ['fill', '2000', '1']).stdout.trim()).toBe('accepted 0');
    const bad = run('instructions-driver.js', ['lookup', '2000', '1']);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/usage: instructions-driver.js track\|batch\|fill/)]);
  });

  it('refuses bad arguments and says what it needs when valgrind is missing (exit 2)', () => {
    for (const rounds of ['60,20,100', '20,60', '20,60,60']) {
      const bad = run('instructions.js', ['--rounds', rounds]);
      expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/--rounds needs three increasing counts/)]);
    }
    expect(run('instructions.js', ['--sizes']).stderr).toMatch(/--sizes needs a value/);
    const badProfile = run('instructions.js', ['--profile', 'many']);
    expect([badProfile.status, badProfile.stderr]).toEqual([2, expect.stringMatching(/--profile: not a positive number: many/)]);
    const noValgrind = run('instructions.js', [], { ...process.env, PATH: '/nonexistent' });
    expect([noValgrind.status, noValgrind.stderr]).toEqual([2, expect.stringMatching(/needs valgrind \(Debian: apt-get install valgrind\)/)]);
  });
});
