// `npm run bench -- --quick` in CI: every workload runs at small sizes and the JSON has one record
// per workload and size in the documented shape. Speeds and speed ratios are the benchmark's to
// report (`npm run bench`), never a test's to assert: a loaded 2-core machine would flake them.
// What is not a speed stays checked: index bytes per entry and allocations per packet.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

interface BenchRecord { workload: string; variant?: string; entries: number; opsPerSec: number; baselineOpsPerSec: number | null; ratio: number | null; bytesPerEntry: number | null }

describe('benchmarks, quick mode', () => {
  it('runs every workload and writes the JSON records', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-bench-')), 'bench.json');
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(ROOT, 'dist/bench/main.js'), '--quick', '--json', out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/workload\s+entries\s+ctsim ops\/s/);
    const { meta, records } = JSON.parse(fs.readFileSync(out, 'utf8')) as { meta: Record<string, unknown>; records: BenchRecord[] };
    expect(meta).toHaveProperty('node');
    const names = new Set(records.map((x) => x.workload));
    for (const w of ['port-reuse', 'steady', 'full-path', 'expiry', 'sim', 'memory']) expect(names, w).toContain(w);
    for (const x of records) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['workload', 'entries', 'opsPerSec', 'baselineOpsPerSec', 'ratio', 'bytesPerEntry']));
      if (x.workload !== 'memory') expect(x.opsPerSec, `${x.workload} ${x.variant ?? ''}`).toBeGreaterThan(0);
    }
    for (const x of records.filter((y) => (y.workload === 'port-reuse' || y.workload === 'steady') && !y.variant?.startsWith('after'))) {
      expect(x.ratio, `${x.workload} ${x.variant ?? ''} at ${x.entries}: a ratio is reported`).toBeGreaterThan(0);
      expect(x.bytesPerEntry!).toBeLessThanOrEqual(64);
    }
    const alloc = records.find((x) => x.variant === 'allocation check') as BenchRecord & { detail: { heapGrowthBytes: number; packets: number } };
    expect(alloc.detail.heapGrowthBytes / alloc.detail.packets).toBeLessThan(1);
  }, 150_000);
});
