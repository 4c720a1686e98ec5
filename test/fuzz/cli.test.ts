// `ctsim fuzz` end to end (the built CLI): usage errors exit 2 with a message before any work,
// clean runs exit 0 with a summary (text or JSON), violations exit 1 and leave minimised cases
// whose JSON `ctsim replay` reproduces, --time-budget stops early, the progress line appears on a TTY.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INVARIANTS } from '../../src/fuzz/index.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-fuzz-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  cwd: string;
}

function ctsim(args: string[]): Run {
  const cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'));
  const env = { ...process.env };
  delete env.CTSIM_DEBUG;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
}

const STACK = /^\s+at |node:internal/m;

function usageError(args: string[], message: RegExp): void {
  const r = ctsim(['fuzz', ...args]);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(/^ctsim: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stdout).toBe('');
  expect(fs.readdirSync(r.cwd)).toEqual([]); // nothing ran, nothing was written
}

describe('ctsim fuzz: usage errors exit 2 with a message', () => {
  it.each([
    [['--count', '0'], /--count must be an integer in 1\.\.\d+, got 0/],
    [['--count', '-5'], /--count must be an integer/],
    [['--count', '2.5'], /--count must be an integer/],
    [['--count', 'lots'], /--count must be an integer in 1\.\.\d+, got NaN/],
    [['--seed', '-1'], /--seed must be an integer in 0\.\.4294967295/],
    [['--seed', '4294967296'], /--seed must be an integer/],
    [['--mode', 'random'], /Invalid values:[\s\S]*mode/],
    [['--time-budget', '0'], /--time-budget must be a positive number of seconds/],
    [['--time-budget', 'soon'], /--time-budget must be a positive number/],
    [['--max-packets', '0'], /--max-packets must be an integer/],
    [['--kernel', '3.10'], /ConfigError \(config\): kernel 3\.10 is outside the modelled range/],
    [['--kernel', '5.4', '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1'], /does not exist on 5\.4/],
    [['--sysctl', 'nf_conntrack_max=0'], /out of range/],
    [['--sysctl', 'bogus'], /--sysctl needs name=value/],
    [['--bogus'], /Unknown argument: bogus/],
    [['--inject-fault', 'nope'], /Invalid values/],
  ] as Array<[string[], RegExp]>)('fuzz %j', (args, message) => usageError(args, message));

  it('--help lists the options (the fault injector stays hidden)', () => {
    const r = ctsim(['fuzz', '--help']);
    expect(r.status).toBe(0);
    for (const o of ['--kernel', '--seed', '--count', '--mode', '--out', '--time-budget', '--sysctl', '--json', '--corpus', '--max-packets']) expect(r.stdout).toContain(o);
    expect(r.stdout).not.toContain('inject-fault');
    expect(ctsim(['--help']).stdout).toMatch(/^\s+ctsim fuzz\s+\S/m);
  });
});

describe('ctsim fuzz: runs', () => {
  it('a clean run exits 0 and prints the summary', () => {
    const r = ctsim(['fuzz', '--count', '60', '--seed', '3', '--kernel', '5.4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no TTY: no progress line
    expect(r.stdout).toMatch(/^# ctsim fuzz: kernel 5\.4, seed 3, mode mixed$/m);
    expect(r.stdout).toMatch(/^cases run {5}60 of 60$/m);
    expect(r.stdout).toMatch(/^packets {7}\d+$/m);
    expect(r.stdout).toMatch(/^wall time {5}[\d.]+ s: \d+ cases\/s, \d+ packets\/s$/m);
    expect(r.stdout).toMatch(/^findings {6}0 \(no invariant violated\)$/m);
    for (const k of INVARIANTS) expect(r.stdout).toMatch(new RegExp(`^  ${k} +0$`, 'm'));
    expect(r.stdout).toMatch(/^corpus {8}not written/m);
    expect(fs.existsSync(path.join(r.cwd, 'pcaps'))).toBe(false);
  });

  it('--json prints the summary as JSON; the same seed gives the same cases', () => {
    const a = ctsim(['fuzz', '--count', '40', '--seed', '9', '--json', '--mode', 'structured', '--sysctl', 'net.netfilter.nf_conntrack_max=8']);
    expect(a.status, a.stderr).toBe(0);
    const s = JSON.parse(a.stdout);
    expect(s).toMatchObject({ kernel: '6.18', seed: 9, mode: 'structured', count: 40, casesRun: 40, violations: 0, stoppedBy: 'count', sysctls: ['net.netfilter.nf_conntrack_max=8'] });
    expect(Object.keys(s.byInvariant)).toEqual([...INVARIANTS]);
    const b = JSON.parse(ctsim(['fuzz', '--count', '40', '--seed', '9', '--json', '--mode', 'structured', '--sysctl', 'net.netfilter.nf_conntrack_max=8']).stdout);
    expect(b.packets).toBe(s.packets);
  });

  it('--corpus writes every passing case as pcap + JSON', () => {
    const dir = path.join(tmp, 'corpus');
    const r = ctsim(['fuzz', '--count', '5', '--seed', '4', '--corpus', dir, '--kernel', 'sles-15-sp4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`5 cases written to ${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual([0, 1, 2, 3, 4].flatMap((n) => [`sles-15-sp4-4-${n}.json`, `sles-15-sp4-4-${n}.pcap`]).sort());
  });

  it('--time-budget stops the run early and says so', () => {
    const r = ctsim(['fuzz', '--count', '100000000', '--time-budget', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.stoppedBy).toBe('time-budget');
    expect(s.casesRun).toBeGreaterThan(0);
    expect(s.casesRun).toBeLessThan(100000000); // (how long it took is not asserted: a loaded machine)
  });

  it('a violation exits 1, says so on stderr, and leaves minimised cases that replay to their JSON', () => {
    const out = path.join(tmp, 'findings');
    const r = ctsim(['fuzz', '--count', '25', '--seed', '2', '--mode', 'structured', '--inject-fault', 'transition', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ctsim: FuzzViolations \(violation\): \d+ of 25 cases violated an invariant \(transition \d+\); minimised cases in /);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toMatch(/^findings {6}[1-9]\d*$/m);
    expect(r.stdout).toMatch(/^minimised findings in /m);
    const pcaps = fs.readdirSync(out).filter((f) => f.endsWith('.pcap'));
    expect(pcaps.length).toBeGreaterThan(0);
    for (const f of pcaps) expect(f).toMatch(/^transition-2-\d+\.pcap$/);
    const json = JSON.parse(fs.readFileSync(path.join(out, pcaps[0].replace('.pcap', '.json')), 'utf8'));
    expect(json.violation.invariant).toBe('transition');
    expect(json.packets.length).toBeLessThanOrEqual(4);
    const replay = ctsim(['replay', path.join(out, pcaps[0]), '--kernel', json.kernel, '--json']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout.split('\n').filter(Boolean).slice(0, -1)).toEqual(json.packets.map((p: unknown) => JSON.stringify(p)));
  });

  it('shows a progress line on stderr when it is a terminal', () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} fuzz --count 100000000 --time-budget 1.5 --out ${JSON.stringify(path.join(tmp, 'tty'))}`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fuzz: \d+ cases, \d+ cases\/s, 0 findings, [\d.]+ s/);
    expect(r.stdout).toMatch(/stopped by --time-budget/);
  });
});
