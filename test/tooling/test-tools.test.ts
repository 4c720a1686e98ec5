// `npm test` on a machine that lacks programs: scripts/ensure-test-tools.sh installs them when it
// can (root + apt-get) and otherwise says what is missing and exits 0, so the suite runs and the
// tests that need a program skip themselves with the reason (test/support/prerequisites.ts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_PROGRAMS, labUnavailable, missingPrograms, skipTest } from '../support/prerequisites.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts/ensure-test-tools.sh');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-tools-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A PATH with only the basic programs the script itself uses: every test program is "missing". */
function barePath(): string {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  for (const p of ['id', 'sort', 'tr', 'cat']) {
    const found = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim();
    fs.symlinkSync(found, path.join(bin, p));
  }
  fs.chmodSync(bin, 0o755);
  fs.chmodSync(tmp, 0o755);
  return bin;
}

describe('scripts/ensure-test-tools.sh', () => {
  it('without root: names what is missing, says the tests that need it are skipped, exits 0', () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) skipTest('needs root (to run the script as another user)');
    // A copy the other user can read (a checkout under /root is not).
    const script = path.join(barePath(), 'ensure-test-tools.sh');
    fs.copyFileSync(SCRIPT, script);
    fs.chmodSync(script, 0o755);
    const r = spawnSync(spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim(), ['--reuid', '65534', '--regid', '65534', '--clear-groups', '/bin/bash', script], { encoding: 'utf8', env: { PATH: barePath() } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^ctsim: not installed: .*tcpdump.*tshark/m);
    expect(r.stderr).toMatch(/\(Debian packages: conntrack iproute2 iptables procps python3 tcpdump tcpreplay tshark util-linux\s*\)/);
    expect(r.stderr).toMatch(/npm test installs them when run as root on Debian; the tests that need them are skipped/);
  });

  it('as root without apt-get: says so and exits 0', () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) skipTest('needs root (the script behaves differently as root)');
    const r = spawnSync('/bin/bash', [SCRIPT], { encoding: 'utf8', env: { PATH: barePath() } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/apt-get could not install them here; the tests that need them are skipped/);
  });

  it('with everything installed: silent, exit 0', () => {
    const missing = missingPrograms(['tshark', ...LAB_PROGRAMS]);
    if (missing) skipTest(missing);
    const r = spawnSync('/bin/bash', [SCRIPT], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('test prerequisites', () => {
  it('name the missing program and how npm test gets it', () => {
    expect(missingPrograms(['sh'])).toBeNull();
    expect(missingPrograms(['sh', 'ctsim-no-such-program'])).toBe('needs ctsim-no-such-program, not installed; npm test installs it with apt-get when run as root on Debian (scripts/ensure-test-tools.sh)');
    const saved = process.env.CTSIM_NO_NETNS;
    process.env.CTSIM_NO_NETNS = '1';
    try {
      expect(labUnavailable()).toBe('CTSIM_NO_NETNS=1: real-kernel tests opted out');
    } finally {
      if (saved === undefined) delete process.env.CTSIM_NO_NETNS;
      else process.env.CTSIM_NO_NETNS = saved;
    }
    expect(labUnavailable(['ctsim-no-such-program'])).toMatch(process.getuid?.() === 0 ? /^needs ctsim-no-such-program/ : /^needs root/);
  });
});
