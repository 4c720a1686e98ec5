// The fuzzer as a regression test: a few thousand seeded cases over several kernels and sysctl
// settings, every invariant on every packet, zero violations. (Seeds are fixed: a failure here
// names a case that `ctsim fuzz --seed S --count N+1` reproduces and minimises.)
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../src/fuzz/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RUNS: Array<[string, string[], number, number]> = [
  ['6.18', [], 1001, 900],
  ['5.4', [], 1002, 450],
  ['sles-15-sp4', [], 1003, 450],
  ['6.1.8', [], 1004, 300],
  ['4.19', ['net.netfilter.nf_conntrack_checksum=0'], 1005, 250],
  ['6.18', ['net.netfilter.nf_conntrack_max=8'], 1006, 250],
  ['5.15.90', ['net.netfilter.nf_conntrack_tcp_be_liberal=1'], 1007, 200],
  ['ubuntu-20.04', ['net.netfilter.nf_conntrack_tcp_loose=0', 'net.netfilter.nf_conntrack_tcp_timeout_close_wait=5'], 1008, 200],
];

describe('seeded fuzz run', () => {
  it.each(RUNS)('%s %j: seed %i, %i cases, no invariant violated', (kernel, sysctls, seed, count) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-fuzz-ci-'));
    try {
      const s = runFuzz({ kernel, sysctls, seed, count, mode: 'mixed', outDir: out });
      const detail = s.findings.slice(0, 3).map((f) => `case ${f.caseIndex}: ${f.invariant} at packet ${f.packet}: ${f.message}`).join('\n');
      expect(s.violations, detail).toBe(0);
      expect(s.casesRun).toBe(count);
      expect(s.packets).toBeGreaterThan(count * 5);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
