// Cases where ctsim once disagreed with a real kernel (found by `ctsim kernel-diff` on 6.18.44),
// with the kernel's own answers recorded next to them: every packet's ctstate and the final
// entry must match under the 6.18.44 profile. Runs without root (no namespaces needed).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveKernel } from '../../src/conntrack/kernel-profile.js';
import { ctsimStates, entryStateText, liveEntries } from '../../src/kerneldiff/compare.js';
import { prepareCases } from '../../src/kerneldiff/prepare-cases.js';
import { readCaptureFile } from '../../src/pcap/index.js';

const DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'cases');
interface Truth { kernel: string; cases: Record<string, { packets: string[]; entries: string[] }> }
const truth = JSON.parse(fs.readFileSync(path.join(DIR, 'kernel-verdicts.json'), 'utf8')) as Truth;

// Cases found against other real kernels (kernel-diff --uml), one folder per kernel.
const OTHER = fs.readdirSync(path.dirname(DIR)).filter((d) => d.startsWith('cases-')).map((d) => path.join(path.dirname(DIR), d));
for (const dir of OTHER) {
  const t = JSON.parse(fs.readFileSync(path.join(dir, 'kernel-verdicts.json'), 'utf8')) as Truth;
  describe(`kernel-diff regressions (real ${t.kernel}, ${path.basename(dir)})`, () => {
    for (const [name, want] of Object.entries(t.cases)) {
      it(`${name}: ${want.packets.join(' ')} -> ${want.entries.join(', ')}`, () => {
        const packets = [...readCaptureFile(path.join(dir, `${name}.pcap`))].map((r) => r.data);
        const sim = ctsimStates(prepareCases([{ name, packets }]), resolveKernel(t.kernel, { localSuffix: 'strip' }), []);
        expect(sim.states).toEqual(want.packets);
        expect(liveEntries(sim.ct, sim.endNs).map((e) => entryStateText(sim.ct, e))).toEqual(want.entries);
      });
    }
  });
}

describe('the change a recorded real-kernel case tells apart', () => {
  it('scale-reply-only (fb366fc7541a) is what makes real 6.6.87 end this case in FIN_WAIT', () => {
    // A retransmitted SYN with a new ISN, the handshake, then the server's data and a FIN|ACK with
    // its second 1,000 bytes. Before the change the second SYN's wscale reset zeroes the client's
    // scale, its window of 502 is taken unscaled, and the FIN is ignored as beyond it.
    const packets = [...readCaptureFile(path.join(path.dirname(DIR), 'cases-6.6.87', 'retransmitted-syn-keeps-client-wscale.pcap'))].map((r) => r.data);
    const before = ctsimStates(prepareCases([{ name: 'x', packets }]), resolveKernel('6.6'), []);
    expect(liveEntries(before.ct, before.endNs).map((e) => entryStateText(before.ct, e))).toEqual(['ESTABLISHED [ASSURED]']);
  });
});

describe(`kernel-diff regressions (kernel ${truth.kernel})`, () => {
  // The recorded release of the lab's own kernel ("6.18.44-fc-v595"): an upstream build with a local version.
  const profile = resolveKernel(truth.kernel, { localSuffix: 'strip' });
  for (const [name, want] of Object.entries(truth.cases)) {
    it(`${name}: ${want.packets.join(' ')} -> ${want.entries.join(', ')}`, () => {
      const packets = [...readCaptureFile(path.join(DIR, `${name}.pcap`))].map((r) => r.data);
      const sim = ctsimStates(prepareCases([{ name, packets }]), profile, []);
      expect(sim.states).toEqual(want.packets);
      expect(liveEntries(sim.ct, sim.endNs).map((e) => entryStateText(sim.ct, e))).toEqual(want.entries);
    });
  }

  it('the rst-dir-check change is what tells 6.18.44 from 6.18.0 here', () => {
    const packets = [...readCaptureFile(path.join(DIR, 'rst-after-ignored-synack.pcap'))].map((r) => r.data);
    const old = ctsimStates(prepareCases([{ name: 'x', packets }]), resolveKernel('6.18'), []);
    // Without bed6e04be8e6 the RST answering "our" SYN skips the window check, so the reply
    // direction's window never grows to cover the last packet.
    expect(old.states[3]).toBe('INVALID');
  });
});
