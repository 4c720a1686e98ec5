// A test for every kernel change: each behaviour switch has a packet sequence (switch-cases.ts)
// whose outcome on a release without the change and one with it is what the kernel does, and the
// mutation check forces every switch off and on and requires the outcome to follow. A switch
// added to tcp-behaviour.ts without a case fails here.
import { describe, expect, it } from 'vitest';
import { KERNEL_CHANGES } from '../../src/conntrack/kernel-changes.js';
import { resolveKernel, type KernelProfile } from '../../src/conntrack/kernel-profile.js';
import { BASELINE_BEHAVIOUR, type TcpBehaviour } from '../../src/conntrack/tcp-behaviour.js';
import { SWITCH_CASES } from './switch-cases.js';

type Switch = keyof TcpBehaviour;
const SWITCHES = Object.keys(BASELINE_BEHAVIOUR) as Switch[];

/** The first catalogued change that turns the switch on: its commit names the test. */
function changeFor(sw: Switch) {
  const c = KERNEL_CHANGES.find((k) => k.sets.includes(sw));
  if (!c) throw new Error(`no kernel change sets ${sw}`);
  return c;
}

function forced(kernel: string, sw: Switch, value: boolean): KernelProfile {
  const p = resolveKernel(kernel);
  return { ...p, behaviour: { ...p.behaviour, [sw]: value } };
}

describe('each kernel change, on the releases before and after it', () => {
  for (const sw of SWITCHES) {
    const c = SWITCH_CASES[sw];
    const change = changeFor(sw);
    it(`${change.commit} "${change.title}" (${sw}): ${c.shows}`, () => {
      if (c.without !== null) {
        expect(resolveKernel(c.without).behaviour[sw], c.without).toBe(false);
        expect(c.run(resolveKernel(c.without)), c.without).toEqual(c.off);
      }
      expect(resolveKernel(c.with).behaviour[sw], c.with).toBe(true);
      expect(c.run(resolveKernel(c.with)), c.with).toEqual(c.on);
    });
  }
});

describe('mutation check: flipping any switch changes its case', () => {
  it('every switch in tcp-behaviour.ts has a case, and every catalogued change sets at least one switch', () => {
    expect(Object.keys(SWITCH_CASES).sort()).toEqual([...SWITCHES].sort());
    for (const k of KERNEL_CHANGES) expect(k.sets.length, k.id).toBeGreaterThan(0);
  });

  for (const sw of SWITCHES) {
    it(`${sw}: forced off gives the "off" outcome and forced on the "on" outcome, on both releases`, () => {
      const c = SWITCH_CASES[sw];
      expect(c.on, 'a case must tell the two apart').not.toEqual(c.off);
      for (const k of [c.without, c.with]) {
        if (k === null) continue;
        expect(c.run(forced(k, sw, false)), `${k} with ${sw} off`).toEqual(c.off);
        expect(c.run(forced(k, sw, true)), `${k} with ${sw} on`).toEqual(c.on);
      }
    });
  }
});
