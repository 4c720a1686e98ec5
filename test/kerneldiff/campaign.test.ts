// Campaign plumbing that needs no root: shards split a seeded campaign exactly, reports of one
// campaign add up (and reports of different ones are refused), fuzz shards and jobs give the same
// figures as one run, and a profile's verification status comes from the records alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BATCH_REPORT_FORMAT, mergeBatchReports, parseBatchReport, isComplete, type BatchReport } from '../../src/kerneldiff/batch-report.js';
import { parseShard, shardIndices, shardsCover, subShard } from '../../src/fuzz/shard.js';
import { loadRecords, profileStatuses, type VerificationRecord } from '../../src/kerneldiff/verification.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

function report(shard: { index: number; count: number }, over: Partial<BatchReport> = {}): BatchReport {
  return {
    format: BATCH_REPORT_FORMAT, kernel: '6.1.176', kernelSource: 'test', profile: '6.1.176', sysctls: [], source: { kind: 'fuzz', seed: 1, mode: 'mixed', count: 10, maxPackets: 24 },
    shards: [shard], cases: 5, packets: 70, skippedPackets: 1, packetAgreement: 70, entryChecks: 7, entryAgreement: 7, timeoutChecks: 7, timeoutAgreement: 7, expiredBeforeListing: 0,
    packetDiffs: [], entryDiffs: [], disagreeingCases: [], minimised: [], wallSeconds: 2, startedAt: '2026-01-01T00:00:00Z', ...over,
  };
}

describe('shards', () => {
  it('shard I/N holds the cases i with i % N == I-1; the N shards cover every case once', () => {
    const all = [1, 2, 3].flatMap((i) => shardIndices(10, { index: i, count: 3 })).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(shardIndices(10, parseShard('2/3'))).toEqual([1, 4, 7]);
    // --jobs 2 inside shard 2/3: two sub-shards of stride 6 making up exactly 2/3.
    const subs = [0, 1].map((j) => subShard({ index: 2, count: 3 }, j, 2));
    expect(subs).toEqual([{ index: 2, count: 6 }, { index: 5, count: 6 }]);
    expect(shardsCover(subs, { index: 2, count: 3 })).toBe(true);
    expect(shardsCover(subs, { index: 1, count: 1 })).toBe(false);
  });

  it('refuses malformed shard specifications', () => {
    for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0', '-1/2']) expect(() => parseShard(bad), bad).toThrow(/--shard must be I\/N/);
  });
});

describe('kernel-diff reports', () => {
  it('merging the shards of a campaign adds every figure up and is complete', () => {
    const m = mergeBatchReports([report({ index: 1, count: 2 }), report({ index: 2, count: 2 }, { disagreeingCases: [3], packetAgreement: 69 })]);
    expect({ cases: m.cases, packets: m.packets, agree: m.packetAgreement, entries: m.entryChecks, dis: m.disagreeingCases }).toEqual({ cases: 10, packets: 140, agree: 139, entries: 14, dis: [3] });
    expect(isComplete(m)).toBe(true);
    expect(isComplete(mergeBatchReports([report({ index: 1, count: 2 })]))).toBe(false);
  });

  it('refuses reports of another kernel, profile, sysctl set or case source, and overlapping shards', () => {
    const a = report({ index: 1, count: 2 });
    expect(() => mergeBatchReports([a, report({ index: 2, count: 2 }, { kernel: '5.4.124' })])).toThrow(/kernel 5\.4\.124 vs 6\.1\.176/);
    expect(() => mergeBatchReports([a, report({ index: 2, count: 2 }, { profile: 'ubuntu-20.04' })])).toThrow(/profile/);
    expect(() => mergeBatchReports([a, report({ index: 2, count: 2 }, { sysctls: ['nf_conntrack_tcp_be_liberal=1'] })])).toThrow(/sysctls/);
    expect(() => mergeBatchReports([a, report({ index: 2, count: 2 }, { source: { kind: 'fuzz', seed: 2, mode: 'mixed', count: 10, maxPackets: 24 } })])).toThrow(/case source/);
    expect(() => mergeBatchReports([a, report({ index: 1, count: 4 })])).toThrow(/overlap/);
  });

  it('a file that is not a batch report is refused with its name', () => {
    expect(() => parseBatchReport('{"format":"other"}', 'x.json')).toThrow(/x\.json: not a kernel-diff batch report/);
    expect(() => parseBatchReport('not json', 'y.json')).toThrow(/y\.json: not JSON/);
  });
});

describe('verification status', () => {
  const rec = (over: Partial<VerificationRecord>): VerificationRecord => ({
    kind: 'batch', kernel: '5.4.124', kernelSource: 'test', profile: '5.4.124', sysctls: [], source: { kind: 'fuzz', seed: 1, mode: 'mixed', count: 10, maxPackets: 24 },
    cases: 10, packets: 140, packetAgreement: 140, entryChecks: 14, entryAgreement: 14, timeoutChecks: 14, timeoutAgreement: 14, disagreeingCases: 0, wallSeconds: 1, recordedAt: '2026-01-01T00:00:00Z',
    ...over,
  } as VerificationRecord);

  it('a profile is verified only by a full-agreement batch run of that very profile; a disagreeing run is listed as such', () => {
    const list = profileStatuses([rec({}), rec({ profile: '6.1.176', kernel: '6.1.176', packetAgreement: 139, disagreeingCases: 1 })]);
    const by = new Map(list.map((s) => [s.profile, s]));
    expect(by.get('5.4.124')?.status).toBe('verified');
    expect(by.get('6.1.176')?.status).toBe('modelled');
    expect(by.get('6.1.176')?.disagreedBy).toHaveLength(1);
    expect(by.get('sles-15-sp4')?.status).toBe('modelled');
    // Same switches as a verified profile: said so, still modelled.
    expect(by.get('ubuntu-20.04')?.sameSwitchesAs).toContain('5.4.124');
    expect(by.get('ubuntu-20.04')?.status).toBe('modelled');
  });

  it('ctsim kernels shows the committed records: every record agreed in full', () => {
    const records = loadRecords();
    expect(records.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [MAIN, 'kernels', '--json'], { encoding: 'utf8' });
    const list = JSON.parse(r.stdout) as Array<{ profile: string; status: string; disagreedBy: unknown[] }>;
    for (const p of new Set(records.map((x) => x.profile))) expect(list.find((s) => s.profile === p)?.status, p).toBe('verified');
    expect(list.flatMap((s) => s.disagreedBy)).toEqual([]);
    const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' }).stdout;
    expect(help).toMatch(/Kernel profiles verified against real kernels: .*5\.4\.124 \(real 5\.4\.124\)/);
    // Every profile, verified or modelled, says which kernel changes it carries.
    const text = spawnSync(process.execPath, [MAIN, 'kernels'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/^6\.18\.44\s+VERIFIED .*\n\s+carries: .*challenge-ack-reuse/m);
    expect(text).toMatch(/^sles-15-sp4\s+modelled\s+from source reading: .*reinit-syn-only/m);
  });
});

describe('fuzz shards and jobs', () => {
  it('three shards merged and two worker threads give the figures of one run', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctsim-fuzz-shards-'));
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [MAIN, 'fuzz', '--count', '300', '--seed', '5', '--out', dir, ...args], { encoding: 'utf8' });
      const whole = JSON.parse(run(['--json']).stdout) as { packets: number; casesRun: number; violations: number };
      for (const i of [1, 2, 3]) expect(run(['--shard', `${i}/3`, '--report', path.join(dir, `s${i}.json`)]).status).toBe(0);
      const merged = JSON.parse(spawnSync(process.execPath, [MAIN, 'fuzz', 'merge', ...[1, 2, 3].map((i) => path.join(dir, `s${i}.json`)), '--json'], { encoding: 'utf8' }).stdout) as typeof whole;
      const jobs = JSON.parse(run(['--jobs', '2', '--json']).stdout) as typeof whole;
      expect({ packets: merged.packets, cases: merged.casesRun }).toEqual({ packets: whole.packets, cases: whole.casesRun });
      expect({ packets: jobs.packets, cases: jobs.casesRun }).toEqual({ packets: whole.packets, cases: whole.casesRun });
      const overlap = spawnSync(process.execPath, [MAIN, 'fuzz', 'merge', path.join(dir, 's1.json'), path.join(dir, 's1.json')], { encoding: 'utf8' });
      expect(overlap.status).toBe(1);
      expect(overlap.stderr).toMatch(/overlap/);
      // A missing summary cannot be read; a file that is there but not JSON says so.
      const missing = spawnSync(process.execPath, [MAIN, 'fuzz', 'merge', path.join(dir, 'absent.json')], { encoding: 'utf8' });
      expect({ status: missing.status, cannotRead: /absent\.json: cannot read/.test(missing.stderr) }).toEqual({ status: 1, cannotRead: true });
      writeFileSync(path.join(dir, 'torn.json'), '{"kernel": "6.1');
      const torn = spawnSync(process.execPath, [MAIN, 'fuzz', 'merge', path.join(dir, 'torn.json')], { encoding: 'utf8' });
      expect({ status: torn.status, notJson: /torn\.json: not JSON/.test(torn.stderr) }).toEqual({ status: 1, notJson: true });
      expect(JSON.parse(readFileSync(path.join(dir, 's2.json'), 'utf8')).shards).toEqual([{ index: 2, count: 3 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
