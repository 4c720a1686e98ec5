// Open vSwitch's userspace conntrack as a conformance peer, for real: ctsim starts its own
// ovsdb-server and ovs-vswitchd (dummy datapath) in a temporary folder, runs the seed cases and
// 240 fuzz cases through it, checks the adapter's readings and the report, minimises a finding
// with OVS as the oracle, and leaves nothing behind, also on errors and Ctrl-C. Needs Open
// vSwitch (`npm test` installs Debian's openvswitch-switch as root, see scripts/ensure-ovs.sh);
// without it these tests are skipped with the reason printed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkVerdicts, firstDiff, minimiseFindings, signatureOf } from '../../src/conformance/check.js';
import { categoriseCase } from '../../src/conformance/categorise.js';
import { PeerError } from '../../src/conformance/errors.js';
import { expectCase } from '../../src/conformance/expect.js';
import { exportSuite, fuzzCases } from '../../src/conformance/export.js';
import { OvsLab, findOvs, reapStaleLabs } from '../../src/conformance/ovs/ovs-lab.js';
import { OvsPeer } from '../../src/conformance/ovs/ovs-peer.js';
import { loadCase, loadSuite, readExpected, verdictValidator } from '../../src/conformance/read-suite.js';
import { seedCases } from '../../src/conformance/seed-cases.js';
import type { SuiteCase } from '../../src/conformance/suite-case.js';
import type { VerdictLine } from '../../src/conformance/verdict-line.js';
import { ovsFlows } from '../../src/conformance/ovs/ovs-flows.js';
// Labs this test runs go on Ctrl-C or at the worker's exit, as in the CLI (the library owns no signals).
import { cleanUpOnInterrupt } from '../../src/cli/process-guard.js';

cleanUpOnInterrupt();

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tools = findOvs();
const missing = typeof tools === 'string' ? tools : null;
if (missing) console.warn(`SKIPPED: Open vSwitch conformance tests: ${missing} (npm test installs it when run as root with apt-get)`);
const P = { kernel: '6.18', sysctls: [] as string[] };

/** Running: it exists and is not a zombie waiting for its (new) parent to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pids: number[], ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function ourLabDirs(pid: number): string[] {
  return fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`ctsim-ovs-${pid}-`));
}

describe('findOvs', () => {
  it('says what to install when the programs are not there', () => {
    const r = findOvs(['/nonexistent']);
    expect(typeof r).toBe('string');
    expect(r).toMatch(/apt-get install openvswitch-switch/);
  });

  it('reaps a folder left by a process that was killed outright, and the daemons started for it', async () => {
    // A pid that is surely gone: a process that has exited.
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ctsim-ovs-${deadPid}-`));
    // A stand-in daemon whose command line names the folder, as ovs-vswitchd's does.
    const daemon = spawn('sh', ['-c', 'sleep 60', dir], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'ovs-vswitchd.pid'), `${daemon.pid}\n`);
    const exited = new Promise((r) => daemon.on('exit', r));
    expect(reapStaleLabs()).toBeGreaterThanOrEqual(1);
    await exited;
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('OvsLab.start fails with a PeerError when OVS is missing, leaving no folder', async () => {
    await expect(OvsLab.start({ flows: ovsFlows(), tools: findOvs(['/nonexistent']) })).rejects.toThrow(PeerError);
    expect(ourLabDirs(process.pid)).toEqual([]);
  });
});

describe.skipIf(missing !== null)('Open vSwitch userspace conntrack (real ovs-vswitchd, dummy datapath)', () => {
  let peer: OvsPeer;
  const cases: SuiteCase[] = [...seedCases(), ...fuzzCases(P, { seed: 21, count: 220, mode: 'mixed', natEvery: 11, maxPackets: 24 })];
  let results: VerdictLine[][];

  beforeAll(async () => {
    peer = await OvsPeer.start();
    results = await peer.run(cases);
  }, 240_000);

  afterAll(async () => {
    await peer?.close();
  });

  it('runs at least 200 cases: one schema-valid line per packet, in order', () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const validate = verdictValidator();
    cases.forEach((c, i) => {
      expect(results[i].length).toBe(c.packets.length);
      results[i].forEach((l, k) => {
        expect(l).toMatchObject({ case: c.id, n: k + 1 });
        expect(validate(l)).toBe(true);
        expect(l.nat !== undefined).toBe(c.nat);
      });
    });
    expect(peer.name).toMatch(/^Open vSwitch \d+\.\d+\.\d+ userspace conntrack/);
  });

  it('reads ct_state right: a plain connection (handshake, data, half-close) agrees with Linux packet for packet, NAT rewrite included', () => {
    for (const id of ['seed-half-close-leak', 'seed-half-close-leak-nat']) {
      const i = cases.findIndex((c) => c.id === id);
      const exp = expectCase(cases[i], P).lines;
      for (let k = 0; k < 8; k++) {
        expect({ v: results[i][k].verdict, d: results[i][k].dir, nat: results[i][k].nat }).toEqual({ v: exp[k].verdict, d: exp[k].dir, nat: exp[k].nat });
      }
    }
  });

  it('the seed incidents under OVS: the entry outlives Linux\'s CLOSE_WAIT timeout (no leak), the reused port\'s SYN is invalid', () => {
    // Facts of OVS 3.1 (lib/conntrack-tcp.c, conntrack-tp.c): other releases may differ.
    if (!/Open vSwitch 3\.1\./.test(peer.name)) {
      console.warn(`SKIPPED: OVS 3.1 seed facts on ${peer.name}`);
      return;
    }
    const leak = results[cases.findIndex((c) => c.id === 'seed-half-close-leak-nat')];
    // The app's FIN at 90 s still matches OVS's entry and is rewritten to the sidecar.
    expect(leak[8]).toMatchObject({ verdict: 'established', dir: 'original', nat: { dst: '198.19.255.254', dport: 15001 } });
    const col = results[cases.findIndex((c) => c.id === 'seed-port-collision-rst-after')];
    // 70 s after the half-close OVS still has the old entry: the new SYN does not re-open it.
    expect(col[8]).toMatchObject({ verdict: 'invalid' });
    // Linux (6.18) re-creates the entry for it instead.
    expect(expectCase(cases.find((c) => c.id === 'seed-port-collision-rst-after')!, P).lines[8]).toMatchObject({ verdict: 'new' });
    // Behind an INVALID drop rule no challenge ACK/RST resets OVS's entry: every retransmission is invalid too.
    const syns = results[cases.findIndex((c) => c.id === 'seed-port-reuse-syns')];
    expect(syns.slice(8).map((l) => l.verdict)).toEqual(Array(7).fill('invalid'));
    // ... and, without such a rule, OVS still applies the old entry's DNAT to them (Linux: no entry, no NAT).
    const synsNat = results[cases.findIndex((c) => c.id === 'seed-port-reuse-syns-nat')];
    expect(synsNat[8]).toMatchObject({ verdict: 'invalid', nat: { dst: '198.19.255.254', dport: 15001 } });
  });

  it('the report sorts every packet into one category and finds the differences', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-conf-ovs-'));
    try {
      const dir = path.join(tmp, 'suite');
      exportSuite({ ...P, out: dir, generator: 'test', seeds: true, regressionDirs: [], fuzz: { seed: 21, count: 220, mode: 'mixed', natEvery: 11, maxPackets: 24 } });
      const s = loadSuite(dir);
      const actual = new Map(cases.map((c, i) => [c.id, results[i]]));
      expect(s.manifest.cases.map((c) => c.id)).toEqual(cases.map((c) => c.id));
      const r = checkVerdicts(s, readExpected(s), actual, peer.name);
      const total = Object.values(r.byCategory).reduce((a, t) => a + t.packets, 0);
      expect(total).toBe(r.packets);
      expect(r.agree).toBeGreaterThan(0);
      expect(r.agree).toBeLessThan(r.packets);
      expect(r.findings.length).toBeGreaterThan(0);
      expect(r.byField.verdict.packets).toBe(r.packets);
      for (const f of r.findings) expect(f.story.some((l) => l.startsWith('linux: '))).toBe(true);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('minimises a finding with OVS as the oracle: the shrunk case still shows it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-conf-ovs-'));
    try {
      const dir = path.join(tmp, 'suite');
      // A small suite: the port collision, whose first difference is the reused SYN (#9).
      exportSuite({ ...P, out: dir, generator: 'test', seeds: true, regressionDirs: [], fuzz: null });
      const s = loadSuite(dir);
      const all = s.manifest.cases.map((c) => loadCase(s, c.id));
      const res = await peer.run(all);
      const r = checkVerdicts(s, readExpected(s), new Map(all.map((c, i) => [c.id, res[i]])), peer.name);
      const f = r.findings.find((x) => x.example.case.startsWith('seed-port-collision'))!;
      expect(f).toBeDefined();
      await minimiseFindings(r, s, peer, { limit: r.findings.length, maxRuns: 60 });
      const m = f.minimised!;
      expect(m).toBeDefined();
      expect(m.case.packets.length).toBeLessThan(f.example.n);
      const [again] = await peer.run([m.case]);
      const { lines, rows } = expectCase(m.case, P);
      const d = firstDiff(m.case, lines, again, categoriseCase(m.case.packets, rows))!;
      expect(signatureOf(d, f.packetClass).signature).toBe(f.signature);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);

  it('close() stops both daemons and removes the folder', async () => {
    const p2 = await OvsPeer.start();
    const { pids, dir } = { pids: p2.lab.pids, dir: p2.lab.dir };
    expect(pids.length).toBe(2);
    expect(pids.every(alive)).toBe(true);
    await p2.close();
    expect(await gone(pids)).toBe(true);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a daemon that fails to start (bad flows) is a PeerError and leaves nothing running', async () => {
    const before = ourLabDirs(process.pid).length;
    await expect(OvsLab.start({ flows: 'table=0,actions=no_such_action\n' })).rejects.toThrow(/ovs-ofctl add-flows .*failed/);
    expect(ourLabDirs(process.pid).length).toBe(before);
  });

  it('Ctrl-C during `ctsim conformance ovs` stops OVS and removes its folder (exit 130)', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-conf-ovs-'));
    try {
      const dir = path.join(tmp, 'suite');
      exportSuite({ ...P, out: dir, generator: 'test', seeds: true, regressionDirs: [], fuzz: { seed: 3, count: 400, mode: 'structured', natEvery: 0 } });
      const child = spawn(process.execPath, [CLI, 'conformance', 'ovs', '--suite', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      const pid = child.pid!;
      let daemons: number[] = [];
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const d = ourLabDirs(pid);
        const pidfile = d.length ? path.join(os.tmpdir(), d[0], 'ovs-vswitchd.pid') : '';
        if (pidfile && fs.existsSync(pidfile)) {
          daemons = [path.join(os.tmpdir(), d[0], 'ovsdb-server.pid'), pidfile].map((f) => Number(fs.readFileSync(f, 'utf8').trim()));
          if (fs.existsSync(path.join(os.tmpdir(), d[0], 'p2.pcap'))) break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(daemons.length).toBe(2);
      const code = await new Promise<number | null>((resolve) => {
        child.on('exit', (c) => resolve(c));
        child.kill('SIGINT');
      });
      expect(code).toBe(130);
      expect(ourLabDirs(pid)).toEqual([]);
      expect(await gone(daemons)).toBe(true);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
