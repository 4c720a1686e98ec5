// Kernel profiles: a release (mainline or stable point release) maps to the changes it carries.
import { describe, expect, it } from 'vitest';
import { KERNEL_CHANGES } from '../../src/conntrack/kernel-changes.js';
import { KNOWN_RELEASES, VENDOR_PROFILES, parseKernelVersion, resolveKernel } from '../../src/conntrack/kernel-profile.js';
import { ConfigError } from '../../src/conntrack/errors.js';
import { defaultSysctls } from '../../src/conntrack/sysctls.js';

const has = (k: string, id: string) => resolveKernel(k).changes.includes(id);

describe('kernel profiles', () => {
  it('parses releases as uname -r prints them', () => {
    expect(parseKernelVersion('6.18.44-fc-v657')).toEqual({ major: 6, minor: 18, patch: 44 });
    expect(parseKernelVersion('v5.4')).toEqual({ major: 5, minor: 4, patch: 0 });
    expect(parseKernelVersion('5.14.21-150400.24.21-default')).toEqual({ major: 5, minor: 14, patch: 21 });
    expect(parseKernelVersion('linux')).toBeNull();
  });

  it('stable point releases carry backports the series number alone does not', () => {
    expect(has('6.1.8', 'challenge-ack-reuse')).toBe(false);
    expect(has('6.1.9', 'challenge-ack-reuse')).toBe(true);
    expect(has('6.2', 'challenge-ack-reuse')).toBe(true);
    expect(has('5.17.5', 'reinit-syn-only')).toBe(false);
    expect(has('5.17.6', 'reinit-syn-only')).toBe(true);
    expect(has('5.15.200', 'reinit-syn-only')).toBe(false); // never backported to an LTS series
    expect(has('5.4.230', 'syn-sent-no-renew')).toBe(false);
    expect(has('5.4.231', 'syn-sent-no-renew')).toBe(true);
    expect(has('5.15.209', 'rst-dir-check')).toBe(false);
    expect(has('5.15.210', 'rst-dir-check')).toBe(true);
    expect(has('6.6.15', 'scale-reply-only')).toBe(false);
    expect(has('6.6.16', 'scale-reply-only')).toBe(true);
  });

  it('vendor profiles of the seed report', () => {
    const sles = resolveKernel('sles-15-sp4');
    expect(sles.behaviour).toMatchObject({ ignoreInvalidRstSysctl: true, reinitSynOnly: true, challengeAckReuse: false });
    const ubuntu = resolveKernel('ubuntu-20.04');
    expect(ubuntu.behaviour).toMatchObject({ ignoreInvalidRstSysctl: false, reinitSynOnly: false, challengeAckReuse: false });
    expect(defaultSysctls(ubuntu.behaviour).nf_conntrack_tcp_ignore_invalid_rst).toBeUndefined();
    expect(defaultSysctls(sles.behaviour).nf_conntrack_tcp_ignore_invalid_rst).toBe(0);
    expect(VENDOR_PROFILES).toEqual(['sles-15-sp4', 'ubuntu-20.04']);
  });

  it('the default is the newest profile; every listed release resolves', () => {
    expect(resolveKernel(undefined).name).toBe('6.18');
    for (const k of KNOWN_RELEASES) expect(() => resolveKernel(k), k).not.toThrow();
  });

  it('refuses releases it has not modelled, with a ConfigError that says why', () => {
    expect(() => resolveKernel('3.10')).toThrow(ConfigError);
    expect(() => resolveKernel('4.14')).toThrow(/outside the modelled range/);
    expect(() => resolveKernel('9.0')).toThrow(/outside/);
    expect(() => resolveKernel('sles-12')).toThrow(/unknown kernel/);
  });

  it('every change is listed once, with a commit, a mainline release and behaviour switches', () => {
    const ids = KERNEL_CHANGES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of KERNEL_CHANGES) {
      expect(c.title.length).toBeGreaterThan(10);
      expect(c.mainline).toMatch(/^\d+\.\d+$/);
      expect(c.sets.length).toBeGreaterThan(0);
      for (const [series, point] of Object.entries(c.stable)) {
        expect(series).toMatch(/^\d+\.\d+$/);
        expect(point).toBeGreaterThan(0);
      }
    }
  });
});
