// kernel-diff leaves nothing behind: on SIGINT/SIGTERM the CLI removes its namespaces, kills the
// tcpdump it started in them and removes its scratch folder; after a SIGKILL (nothing can run)
// the next run removes the dead run's namespaces, the programs still inside them and its scratch
// folders, and never touches what a live process owns. Root and the lab's programs needed
// (skipped with the reason otherwise).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { listOurNamespaces, removeLeftovers } from '../../src/kerneldiff/netns-lab.js';
import { labUnavailable, skipTest } from '../support/prerequisites.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const unavailable = labUnavailable(['ip', 'iptables', 'conntrack', 'tcpdump', 'tcpreplay', 'tcpreplay-edit', 'tcpprep']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Running (a zombie waiting for its new parent to reap it counts as gone). */
const alive = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
};
const namespacesOf = (pid: number) => listOurNamespaces().filter((n) => n.startsWith(`ctsim-${pid}-`));
const foldersOf = (pid: number) => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`ctsim-${pid}-`));
const pidsIn = (ns: string) => spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
const command = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** Starts a long kernel-diff run and waits until tcpdump runs in its router namespace (the batch is under way); returns tcpdump's pid. */
async function startRun(): Promise<{ child: ChildProcess; tcpdump: number[]; exited: Promise<[number | null, NodeJS.Signals | null]>; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'kernel-diff', '--fuzz-count', '4000', '--minimise', '0'], { cwd: os.tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  const router = `ctsim-${child.pid}-kd-r`;
  for (let i = 0; i < 600; i++) {
    if (listOurNamespaces().includes(router)) {
      // (iptables, conntrack -F and the like come and go there too while the batch is set up)
      const pids = pidsIn(router).filter((p) => command(p) === 'tcpdump');
      if (pids.length) return { child, tcpdump: pids, exited, stderr: () => stderr };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`kernel-diff never started tcpdump in ${router}: ${stderr}`);
}

describe('kernel-diff cleanup (root)', () => {
  beforeEach(() => {
    if (unavailable) skipTest(unavailable);
  });

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s: exit %d; namespaces, the tcpdump in them and the scratch folder are gone', async (signal, status) => {
    const run = await startRun();
    const pid = run.child.pid!;
    expect(foldersOf(pid).length).toBeGreaterThan(0); // the batch's scratch folder exists while it runs
    expect(run.tcpdump.every(alive)).toBe(true);
    run.child.kill(signal);
    const [code] = await run.exited;
    expect(code, run.stderr()).toBe(status);
    expect(namespacesOf(pid)).toEqual([]);
    for (let i = 0; i < 50 && run.tcpdump.some(alive); i++) await sleep(100); // SIGKILL is delivered asynchronously
    expect(run.tcpdump.filter(alive)).toEqual([]);
    expect(foldersOf(pid)).toEqual([]);
  }, 120_000);

  it('after a SIGKILL, the next run removes the dead run\'s namespaces, the programs inside them and its scratch folders', async () => {
    const run = await startRun();
    const pid = run.child.pid!;
    run.child.kill('SIGKILL');
    await run.exited;
    // What a SIGKILL leaves: nothing of ctsim could run.
    expect(namespacesOf(pid).length).toBe(2);
    expect(run.tcpdump.every(alive)).toBe(true);
    expect(foldersOf(pid).length).toBeGreaterThan(0);
    const left = removeLeftovers();
    expect(left.namespaces.sort()).toEqual([`ctsim-${pid}-kd-e`, `ctsim-${pid}-kd-r`]);
    // tcpdump, and whatever command was running in the namespace when the run was killed (a
    // tcpdump may also have ended on its own meanwhile, its parent gone: then it is not listed)
    expect(run.tcpdump.filter((p) => !left.processes.includes(p) && alive(p))).toEqual([]);
    expect(left.folders.map((f) => path.basename(f))).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^ctsim-${pid}-kd-batch-`))]));
    expect(namespacesOf(pid)).toEqual([]);
    for (let i = 0; i < 50 && run.tcpdump.some(alive); i++) await sleep(100);
    expect(run.tcpdump.filter(alive)).toEqual([]);
    expect(foldersOf(pid)).toEqual([]);
  }, 120_000);

  it('the CLI removes dead runs\' leftovers when it starts, and says what it removed', async () => {
    const run = await startRun();
    const pid = run.child.pid!;
    run.child.kill('SIGKILL');
    await run.exited;
    const cases = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-cleanup-cases-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'test/kerneldiff/cases/rst-after-ignored-synack.pcap'), path.join(cases, 'one.pcap'));
      const r = spawnSync(process.execPath, [CLI, 'kernel-diff', '--cases', cases, '--minimise', '0'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const note = r.stderr.split('\n').find((l) => l.startsWith('ctsim: removed what earlier runs that no longer exist left behind: '));
      for (const name of [`ctsim-${pid}-kd-e`, `ctsim-${pid}-kd-r`, `ctsim-${pid}-kd-batch-`]) expect(note).toContain(name);
      // The killed-process clause appears only when the dead run's tcpdump outlived it; on a loaded
      // machine it may already have exited (the test above checks the killing itself).
      expect(note).toMatch(/left behind: [^(]*( \(and killed \d+ process(es)? still running in those namespaces\))?$/);
    } finally {
      fs.rmSync(cases, { recursive: true, force: true });
    }
    expect(namespacesOf(pid)).toEqual([]);
    expect(foldersOf(pid)).toEqual([]);
    expect(run.tcpdump.filter(alive)).toEqual([]);
  }, 180_000);

  it('never touches what a live process owns, nor names ctsim did not create', async () => {
    const owner = spawn('sleep', ['60']);
    const live = `ctsim-${owner.pid}-test-live`;
    const foreign = `ctsim-test-foreign-${process.pid}`;
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), `ctsim-${owner.pid}-test-`));
    try {
      for (const ns of [live, foreign]) spawnSync('ip', ['netns', 'add', ns]);
      removeLeftovers();
      expect(listOurNamespaces()).toEqual(expect.arrayContaining([live, foreign]));
      expect(fs.existsSync(folder)).toBe(true);
      const gone = new Promise((resolve) => owner.once('exit', resolve)); // reaped: not even a zombie
      owner.kill('SIGKILL');
      await gone;
      const left = removeLeftovers();
      expect(left.namespaces).toContain(live);
      expect(left.namespaces).not.toContain(foreign);
      expect(listOurNamespaces()).not.toContain(live);
      expect(listOurNamespaces()).toContain(foreign);
      expect(fs.existsSync(folder)).toBe(false);
    } finally {
      owner.kill('SIGKILL');
      for (const ns of [live, foreign]) spawnSync('ip', ['netns', 'del', ns]);
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
