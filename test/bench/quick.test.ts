// `npm run bench -- --quick` as a smoke test: the workloads run at small sizes and the JSON
// records have the documented shape (a definition and every implementation's timing), the
// correctness the benchmarks check while they measure holds (every lookup found what it must,
// no allocation per packet, the index within 64 bytes per entry), `--compare` prints ratios and
// `--readme` rewrites only its section. No speed or ratio is asserted here: speeds belong to
// `npm run bench`, on a quiet machine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { testTempDir } from '../support/temp-dir.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const MAIN = path.join(ROOT, 'dist/bench/main.js');
const SIZES = [1000, 3000];

interface ImplResult { impl: string; opsPerSec: number; nsPerOp: number }
interface BenchRecord {
  workload: string; variant: string; entries: number; unit: string; opsPerSec: number; bytesPerEntry: number | null;
  definition: Record<string, string>; results: ImplResult[]; detail?: Record<string, unknown>;
}
interface BenchFile { meta: Record<string, unknown>; records: BenchRecord[] }

function bench(args: string[]) {
  return spawnSync(process.execPath, ['--expose-gc', MAIN, ...args], { encoding: 'utf8', timeout: 240_000 });
}

describe('benchmarks, quick mode', () => {
  const dir = testTempDir('ctsim-bench-');
  const json = path.join(dir, 'bench.json');
  const readme = path.join(dir, 'README.md');
  const readmeBefore = '# title\n\ntext before\n\n<!-- bench:start -->\nold numbers\n<!-- bench:end -->\n\ntext after\n';
  let run: ReturnType<typeof bench>;
  let file: BenchFile;

  beforeAll(() => {
    fs.writeFileSync(readme, readmeBefore);
    // vs-ovs needs OVS daemons (the conformance tests cover that lab); wire uses benchmark.js.
    run = bench(['--quick', '--sizes', SIZES.join(','), '--only', 'lookup,port-reuse,full-path,lifecycle,memory,churn,allocation,expiry,sim', '--json', json, '--readme', readme]);
    if (run.status === 0) file = JSON.parse(fs.readFileSync(json, 'utf8')) as BenchFile;
  }, 250_000);

  it('runs the workloads and writes one record per workload, variant and size, each with its definition', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(file.meta).toMatchObject({ mode: 'quick', sizes: SIZES });
    expect((file.meta.loadAverageStart as number[]).length).toBe(3);
    for (const r of file.records) {
      for (const k of ['operation', 'keys', 'flows', 'harness']) expect(r.definition[k], `${r.workload} ${r.variant}: definition.${k}`).toMatch(/\S/);
      expect(r.unit).toMatch(/\S/);
      for (const x of r.results) expect(x.opsPerSec, `${r.workload} ${r.variant} ${x.impl}`).toBeGreaterThan(0);
    }
    const key = (r: BenchRecord) => `${r.workload} | ${r.variant} | ${r.entries}`;
    expect(new Set(file.records.map(key)).size).toBe(file.records.length);
    for (const n of SIZES) {
      for (const v of ['uniform hits', 'zipf hits', 'uniform misses']) {
        const r = file.records.find((x) => x.workload === 'lookup' && x.variant === v && x.entries === n);
        expect(r?.results.map((x) => x.impl), `lookup ${v} @ ${n}`).toEqual(['ctsim (batch of 16, pipelined)', 'ctsim', 'plain typed-array table', 'Map<bigint>', 'Map<string>']);
      }
      expect(file.records.find((x) => x.workload === 'port-reuse' && x.entries === n)?.results).toHaveLength(5);
      for (const v of ['uniform', 'zipf']) expect(file.records.find((x) => x.workload === 'full-path' && x.variant === v && x.entries === n)?.results).toHaveLength(3);
      expect(file.records.find((x) => x.workload === 'lifecycle' && x.entries === n)?.results.length).toBeGreaterThanOrEqual(2);
    }
    for (const w of ['memory', 'churn', 'allocation', 'expiry', 'sim']) expect(file.records.some((r) => r.workload === w), w).toBe(true);
  });

  it('keeps what the benchmarks check: index within 64 B per entry, no allocation per packet, no degradation of the probes under churn', () => {
    for (const r of file.records.filter((x) => x.workload === 'memory')) expect(r.bytesPerEntry!).toBeLessThanOrEqual(64);
    for (const r of file.records.filter((x) => x.workload === 'allocation')) {
      const d = r.detail as { bytesPerPacket: number; packets: number };
      expect(d.packets).toBeGreaterThan(100_000);
      expect(d.bytesPerPacket, r.variant).toBeLessThan(1);
    }
    const churn = file.records.find((x) => x.workload === 'churn')!.detail as { fresh: { meanProbe: number }; churned: { meanProbe: number } };
    expect(Math.abs(churn.churned.meanProbe - churn.fresh.meanProbe)).toBeLessThan(0.25);
  });

  it('prints the tables and regenerates only the README section between the markers', () => {
    expect(run.stdout).toContain('Lookups, uniform hits');
    expect(run.stdout).toContain('Cost per operation by table size');
    const after = fs.readFileSync(readme, 'utf8');
    expect(after.startsWith('# title\n\ntext before\n\n<!-- bench:start -->\n')).toBe(true);
    expect(after.endsWith('<!-- bench:end -->\n\ntext after\n')).toBe(true);
    expect(after).not.toContain('old numbers');
    expect(after).toContain('| entries | ctsim batch |');
    expect(after).toContain('load average');
  });

  it('--compare prints new/old ratios per implementation and flags a changed definition', () => {
    const changed = structuredClone(file);
    const r0 = changed.records.find((x) => x.workload === 'lookup')!;
    r0.definition.flows = 'something else';
    for (const x of r0.results) x.opsPerSec *= 2;
    const other = path.join(dir, 'old.json');
    fs.writeFileSync(other, JSON.stringify(changed));
    const c = bench(['--compare', other, json]);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toContain('new/old');
    expect(c.stdout).toMatch(/0\.50x \(definition changed\)/);
    expect(c.stdout).toMatch(/1\.00x/);
  });

  it('rejects bad arguments and files with a clear message and exit status 2, before measuring anything', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--sizes', 'abc'], /not a positive number: abc/],
      [['--only', 'nonsense'], /unknown workload nonsense/],
      [['--compare', json], /--compare needs two files/],
      [['--bogus'], /unknown argument --bogus/],
      [['--compare', path.join(dir, 'missing.json'), json], /missing\.json/],
      [['--readme', json, '--only', 'sim'], /no <!-- bench:start --> \.\.\. <!-- bench:end --> section/],
    ];
    for (const [args, msg] of cases) {
      const r = bench(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });
});
