// ctsim as a library, the way a user gets it: `npm pack` the built package, install the tarball
// into a fresh project in a temporary folder, type-check a consumer that imports every entry point
// (ctsim/wire, pcap, conntrack, replay, scenario, report) against the emitted .d.ts files, compile
// and run it, and check what it computed; the installed `ctsim` bin runs too. Deep imports past
// `exports` must fail. The dependencies come from npm's cache (`npm ci` filled it) or the registry.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

const CONSUMER = `
import { encodeSegment, formatIpv4Address, parseIpv4Address, parseIpv4Tcp, TcpFlag } from 'ctsim/wire';
import { MemorySink, PcapngWriter, readCaptureBytes } from 'ctsim/pcap';
import { Conntrack, resolveKernel, KERNEL_CHANGES, type KernelProfile } from 'ctsim/conntrack';
import { replayRecords, type ReplayRow } from 'ctsim/replay';
import { runScenarioFile, runSeed, scenarioPath, seedOverrides, type ExecutedScenario, type SeedRun } from 'ctsim/scenario';
import { renderReport, replayReport, reportPacket, reportProfile } from 'ctsim/report';

const profile: KernelProfile = resolveKernel('6.1');
const ct = new Conntrack({ kernel: profile });

// A SYN, written into a pcapng in memory, read back and replayed.
const syn = encodeSegment({ src: parseIpv4Address('198.18.0.1'), dst: parseIpv4Address('198.19.0.1'), srcPort: 40000, dstPort: 80, seq: 1000, flags: TcpFlag.SYN, window: 64240 });
const parsed = parseIpv4Tcp(syn);
const sink = new MemorySink();
const w = new PcapngWriter(sink, { application: 'consumer' });
const iface = w.addInterface({ linkType: 101, name: 'eth0' });
w.writePacket({ interfaceId: iface, timestampNs: 1_000_000_000n, data: syn });
w.close();
const records = [...readCaptureBytes(sink.bytes())];
const rows: ReplayRow[] = [...replayRecords(records, { kernel: '6.18', explain: true })];

// The seed incident through the public scenario entry point: its shipped file, loaded and run
// with the seed knobs as overrides, and the same as a seed run with the incident's own outcome.
const file: ExecutedScenario = runScenarioFile(scenarioPath('port-collision'), seedOverrides('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200 }));
// The file expects "connect connected <= 1 s": at 200 s on sles-15-sp4 that fails (passed false).
const fileConnect = file.run.program.filter((e) => e.process === 'app' && e.ev === 'call' && e.call === 'connect').at(-1);
const run: SeedRun = runSeed('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200 });

const html = renderReport(replayReport(rows.map((r, i) => reportPacket(records[i], r, null, false)), { command: 'consumer', version: 'x', profiles: [reportProfile('6.18')] }));

console.log(JSON.stringify({
  profile: profile.name, changes: KERNEL_CHANGES.length > 0, entries: ct.stats.insert,
  src: formatIpv4Address(parsed.ip.src), sport: parsed.tcp.srcPort,
  ctinfo: rows[0].ctinfo, state: rows[0].state,
  connect: run.outcome.connect, connectSeconds: Math.round((run.outcome.connectSeconds ?? 0) * 1000) / 1000,
  fileConnect: fileConnect?.ev === 'call' ? fileConnect.result : null, filePassed: file.passed,
  html: html.startsWith('<!DOCTYPE html>') && html.includes('NONE&rarr;SYN_SENT'),
}));
`;

/** The types are real, not `any`: each of these lines must be a type error. */
const TYPE_ERRORS = `
import { resolveKernel } from 'ctsim/conntrack';
import { runSeed } from 'ctsim/scenario';
// @ts-expect-error a profile's name is a string
export const n: number = resolveKernel('6.1').name;
// @ts-expect-error no such seed incident
runSeed('no-such-scenario', {});
`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-pack-'));
const project = path.join(tmp, 'consumer');
let tarball = '';

describe('the packed package in a fresh project', () => {
  beforeAll(() => {
    // `npm test` has built dist/ (pretest); --ignore-scripts: no second build from prepare.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: NPM_ENV, encoding: 'utf8' });
    tarball = path.join(tmp, (JSON.parse(out) as { filename: string }[])[0].filename);
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-package-lock', '--ignore-scripts', tarball], { cwd: project, env: NPM_ENV, encoding: 'utf8', timeout: 240_000 });
    fs.writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
    fs.writeFileSync(path.join(project, 'type-errors.ts'), TYPE_ERRORS);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: false,
        types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')],
      },
      files: ['consumer.ts', 'type-errors.ts'],
    }));
  }, 300_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('ships the entry points, their .d.ts, the CHANGELOG and no tests or sources', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const entry of ['wire', 'pcap', 'conntrack', 'replay', 'scenarios', 'report']) {
      expect(list).toContain(`package/dist/src/${entry}/index.js`);
      expect(list).toContain(`package/dist/src/${entry}/index.d.ts`);
    }
    expect(list).toContain('package/CHANGELOG.md');
    expect(list).toContain('package/src/kerneldiff/verification-records.json');
    expect(list.some((f) => f.startsWith('package/test/') || f.startsWith('package/bench/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
    expect(Object.keys(PKG.exports).sort()).toEqual(['./conntrack', './package.json', './pcap', './replay', './report', './scenario', './wire']);
  });

  it('type-checks a consumer of every entry point against the emitted declarations, and runs it', () => {
    const tsc = spawnSync(process.execPath, [TSC, '-p', project], { cwd: project, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const run = spawnSync(process.execPath, [path.join(project, 'out/consumer.js')], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      profile: '6.1', changes: true, entries: 0, src: '198.18.0.1', sport: 40000, ctinfo: 'NEW', state: 'SYN_SENT',
      connect: 'ETIMEDOUT', connectSeconds: 129.161, fileConnect: 'ETIMEDOUT', filePassed: false, html: true,
    });
  });

  it('refuses deep imports past exports, and installs the ctsim command', () => {
    const deep = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('ctsim/dist/src/wire/ipv4.js')"], { cwd: project, encoding: 'utf8' });
    expect(deep.status).not.toBe(0);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    const bin = spawnSync(path.join(project, 'node_modules/.bin/ctsim'), ['--version'], { cwd: project, encoding: 'utf8' });
    expect(bin.stdout.trim()).toBe(PKG.version);
  });
});
