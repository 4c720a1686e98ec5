// The fuzz loop in process: progress reports on the wall clock, the time budget, findings saved
// (minimised) up to the per-invariant limit and counted beyond it, deterministic summaries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz, type FuzzProgress } from '../../src/fuzz/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-fuzzer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake wall clock advancing `step` ms per reading. */
function fakeClock(step: number): () => number {
  let t = 0;
  return () => (t += step);
}

describe('runFuzz', () => {
  it('reports progress about every progressMs of wall time', () => {
    const seen: FuzzProgress[] = [];
    const s = runFuzz({ kernel: '6.18', sysctls: [], seed: 1, count: 200, mode: 'mixed', outDir: tmp, clock: fakeClock(60), progressMs: 50, onProgress: (p) => seen.push(p) });
    expect(s.casesRun).toBe(200);
    expect(seen.length).toBeGreaterThanOrEqual(10); // checked every 16 cases
    for (let i = 1; i < seen.length; i++) expect(seen[i].cases).toBeGreaterThan(seen[i - 1].cases);
    expect(seen.every((p) => p.findings === 0 && p.casesPerSec > 0)).toBe(true);
  });

  it('stops at the time budget', () => {
    const s = runFuzz({ kernel: '6.18', sysctls: [], seed: 1, count: 1_000_000, mode: 'structured', outDir: tmp, clock: fakeClock(100), timeBudgetSec: 2 });
    expect(s.stoppedBy).toBe('time-budget');
    expect(s.casesRun).toBeLessThan(30);
    expect(s.casesRun).toBeGreaterThan(0);
  });

  it('gives the same summary (packets, findings) for the same seed', () => {
    const a = runFuzz({ kernel: '5.4', sysctls: [], seed: 17, count: 150, mode: 'mixed', outDir: tmp });
    const b = runFuzz({ kernel: '5.4', sysctls: [], seed: 17, count: 150, mode: 'mixed', outDir: tmp });
    expect(b.packets).toBe(a.packets);
    expect(b.byInvariant).toEqual(a.byInvariant);
    const c = runFuzz({ kernel: '5.4', sysctls: [], seed: 18, count: 150, mode: 'mixed', outDir: tmp });
    expect(c.packets).not.toBe(a.packets);
  });

  it('minimises and saves findings up to the limit per invariant, counts the rest', () => {
    const out = path.join(tmp, 'findings');
    const s = runFuzz({ kernel: '6.18', sysctls: [], seed: 6, count: 40, mode: 'structured', outDir: out, fault: 'timeout', savePerInvariant: 2 });
    expect(s.byInvariant.timeout).toBeGreaterThan(2);
    expect(s.violations).toBe(s.byInvariant.timeout);
    const saved = s.findings.filter((f) => f.files);
    expect(saved).toHaveLength(2);
    for (const f of saved) {
      expect(f.packetsAfter).toBeLessThanOrEqual(f.packetsBefore);
      expect(fs.existsSync(f.files!.pcap) && fs.existsSync(f.files!.json)).toBe(true);
      expect(path.basename(f.files!.pcap)).toBe(`timeout-6-${f.caseIndex}.pcap`);
    }
    expect(fs.readdirSync(out)).toHaveLength(4);
    const raw = runFuzz({ kernel: '6.18', sysctls: [], seed: 6, count: 40, mode: 'structured', outDir: path.join(tmp, 'raw'), fault: 'timeout', savePerInvariant: 1, minimise: false });
    const first = raw.findings[0];
    expect(first.packetsAfter).toBe(first.packetsBefore);
  });
});
