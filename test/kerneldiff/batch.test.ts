// Differential run against the kernel this machine runs: the committed fuzz corpus, a few
// hundred freshly generated cases, the challenge-ACK reuse capture and the regression cases go
// through a real conntrack in namespaces ctsim creates, and every packet's ctstate and every
// final entry must agree with ctsim's profile for `uname -r`. Needs root and the lab's programs
// (npm test installs them as root on Debian); elsewhere it is skipped with the reason, and
// CTSIM_NO_NETNS=1 opts out explicitly on machines without namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaseGenerator } from '../../src/fuzz/generator.js';
import { runKernelDiff } from '../../src/kerneldiff/kernel-diff.js';
import { listOurNamespaces } from '../../src/kerneldiff/netns-lab.js';
import type { DiffCase } from '../../src/kerneldiff/prepare-cases.js';
import { readCaptureFile } from '../../src/pcap/index.js';
import { challengeAckReuseCapture } from '../../src/scenarios/reuse-capture.js';
// Labs this test runs go on Ctrl-C or at the worker's exit, as in the CLI (the library owns no signals).
import { cleanUpOnInterrupt } from '../../src/cli/process-guard.js';
import { labUnavailable, skipTest } from '../support/prerequisites.js';

cleanUpOnInterrupt();

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const unavailable = labUnavailable();

function casesIn(dir: string): DiffCase[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort()
    .map((f) => ({ name: f.replace(/\.pcap$/, ''), packets: [...readCaptureFile(path.join(dir, f))].map((r) => r.data) }));
}

describe('kernel-diff against the running kernel (root, network namespaces)', () => {
  it('corpus + 300 generated cases + reuse capture + regressions: every packet and entry agrees', async () => {
    if (unavailable) skipTest(unavailable);
    const cases: DiffCase[] = [
      ...casesIn(path.join(ROOT, 'test/corpus/generated')),
      ...casesIn(path.join(ROOT, 'test/kerneldiff/cases')),
      { name: 'challenge-ack-reuse', packets: challengeAckReuseCapture().map((p) => p.bytes) },
    ];
    const g = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 90210, mode: 'structured', maxPackets: 24 });
    for (let i = 0; i < 300; i++) cases.push({ name: `fuzz-90210-${i}`, packets: g.generate(i).packets.map((p) => p.bytes) });
    const r = await runKernelDiff({ cases, minimise: 0 });
    const rep = r.report;
    const diffs = [...rep.packetDiffs.map((d) => `${d.caseName} #${d.index} ${d.summary}: kernel ${d.kernel}, ctsim ${d.ctsim} ${d.ctsimReason}`),
      ...rep.entryDiffs.map((d) => `${d.caseName} entry: kernel ${d.kernel}, ctsim ${d.ctsim}`)];
    expect(diffs).toEqual([]);
    expect(rep.packets).toBeGreaterThan(4000);
    expect(rep.packetAgreement).toBe(rep.packets);
    expect(rep.entryAgreement).toBe(rep.entryChecks);
    expect(listOurNamespaces().filter((n) => n.startsWith(`ctsim-${process.pid}-`))).toEqual([]);
  }, 180_000);
});

