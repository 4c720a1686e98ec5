// Distribution kernels' release strings (as `uname -r`, `uname -v` and /proc/version_signature
// print them on real machines): each resolves to the profile with that vendor's backports, to the
// upstream stable release the vendor ships, or is refused with the candidates: never silently
// read as the mainline release the string starts with.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { resolveKernel } from '../../src/conntrack/kernel-profile.js';

const behaviour = (k: string) => JSON.stringify(resolveKernel(k).behaviour);
const refused = (k: string): string => {
  try {
    resolveKernel(k);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${k} was not refused`);
};

describe('distribution kernel release strings', () => {
  it('SLES 15 SP4 (5.14.21-150400...) is sles-15-sp4, not upstream 5.14.21: the seed incident\'s RST verdict differs', () => {
    const p = resolveKernel('5.14.21-150400.24.46-default');
    expect(p.changes).toEqual(resolveKernel('sles-15-sp4').changes);
    expect(p.changes).toContain('reinit-syn-only');
    expect(p.changes).not.toContain('challenge-ack-reuse');
    expect(behaviour('5.14.21-150400.24.46-default')).not.toBe(behaviour('5.14.21'));
    expect(p.note).toMatch(/SUSE Linux Enterprise 15 SP4/);
  });

  it('SLES 15 SP3, SP5, SP6 are refused with the candidates and how to choose', () => {
    for (const [k, base] of [['5.3.18-150300.59.93-default', '5.3.18'], ['5.14.21-150500.55.39-default', '5.14.21'], ['6.4.0-150600.23.7-default', '6.4.0']]) {
      const m = refused(k);
      expect(m).toMatch(/SLES 15 SP[356]/);
      expect(m).toContain('--kernel sles-15-sp4');
      expect(m).toContain(`--kernel ${base}`);
      expect(m).toMatch(/changelog/);
    }
  });

  it('RHEL/Rocky/Alma 8 and 9 are refused (Red Hat rebases netfilter; no profile), 8 also as older than 4.19', () => {
    expect(refused('4.18.0-513.5.1.el8_9.x86_64')).toMatch(/RHEL 8 .*older than anything ctsim models/);
    expect(refused('5.14.0-362.8.1.el9_3.x86_64')).toMatch(/RHEL 9 kernel \(also Rocky\/Alma/);
    expect(refused('5.14.0-427.13.1.el9_4.aarch64')).toMatch(/kernel-diff/);
  });

  it('Ubuntu: 20.04 GA is ubuntu-20.04; other uname -r strings (22.04, 24.04, HWE, AKS/EKS/GKE flavours) ask for /proc/version_signature, which resolves', () => {
    const focal = resolveKernel('5.4.0-169-generic');
    expect(focal.changes).toEqual(resolveKernel('ubuntu-20.04').changes);
    for (const k of ['5.15.0-91-generic', '6.8.0-31-generic', '5.15.0-1057-azure', '6.8.0-1015-aws', '5.15.0-1049-gke', '6.5.0-35-generic']) {
      const m = refused(k);
      expect(m).toMatch(/Ubuntu (20|22|24)\.04/);
      expect(m).toContain('/proc/version_signature');
    }
    const sig = resolveKernel('Ubuntu 5.15.0-91.101-generic 5.15.131');
    expect(sig.version).toEqual({ major: 5, minor: 15, patch: 131 });
    expect(sig.changes).toEqual(resolveKernel('5.15.131').changes);
  });

  it('Debian 11/12 uname -r ask for uname -v, which resolves; Debian 13 carries its point release', () => {
    for (const k of ['5.10.0-28-amd64', '6.1.0-18-amd64', '6.1.0-18-cloud-amd64']) expect(refused(k)).toMatch(/Debian 1[12] kernel.*uname -v/);
    expect(resolveKernel('#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)').changes).toEqual(resolveKernel('6.1.76').changes);
    expect(resolveKernel('6.12.38+deb13-amd64').version).toEqual({ major: 6, minor: 12, patch: 38 });
  });

  it('Amazon Linux 2/2023 (EKS), Container-Optimized OS (GKE), Azure Linux (AKS), Bottlerocket: the upstream stable release they ship, said in the note', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['5.10.209-198.858.amzn2.x86_64', '5.10.209', /Amazon Linux 2 kernel/],
      ['6.1.79-99.167.amzn2023.x86_64', '6.1.79', /Amazon Linux 2023/],
      ['6.1.85+', '6.1.85', /Container-Optimized OS/],
      ['5.15.153.1-2.cm2', '5.15.153', /Azure Linux \(cm2\)/],
      ['6.1.102', '6.1.102', /upstream/],
    ];
    for (const [k, up, note] of cases) {
      const p = resolveKernel(k);
      expect(p.changes, k).toEqual(resolveKernel(up).changes);
      expect(p.note, k).toMatch(note);
    }
    // Amazon Linux 2's 4.14 kernel is older than anything modelled.
    expect(refused('4.14.336-257.562.amzn2.x86_64')).toMatch(/outside the modelled range/);
  });

  it('an unknown suffix is refused, never dropped; only the kernel-diff lab strips its own local version', () => {
    expect(refused('6.18.44-fc-v1098')).toMatch(/does not know whose kernel this is.*--kernel 6\.18\.44/);
    expect(resolveKernel('6.18.44-fc-v1098', { localSuffix: 'strip' }).name).toBe('6.18.44');
  });

  it('replay --kernel "$(uname -r)" of SLES 15 SP4 gives the sles-15-sp4 verdicts', () => {
    const cli = join(process.cwd(), 'dist/src/cli/main.js');
    const r = spawnSync(process.execPath, [cli, 'replay', 'pcaps/challenge-ack-reuse.pcapng', '--kernel', '5.14.21-150400.24.46-default', '--compare', 'sles-15-sp4'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/# 20 packets, 0 verdicts differ/);
    const bad = spawnSync(process.execPath, [cli, 'replay', 'pcaps/challenge-ack-reuse.pcapng', '--kernel', '5.15.0-91-generic'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('/proc/version_signature');
  });
});
