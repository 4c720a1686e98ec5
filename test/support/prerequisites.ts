// What a test needs from the machine (root, programs), and skipping with the reason when it is
// not there: `npm test` installs the programs when it can (scripts/ensure-test-tools.sh); when it
// cannot, the tests that need them are skipped with a note the summary reporter prints. A
// missing tool is never a failure.
import { spawnSync } from 'node:child_process';
import { TestRunner } from 'vitest';

const found = new Map<string, boolean>();

export function hasProgram(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
    found.set(name, ok);
  }
  return ok;
}

const INSTALL = 'npm test installs it with apt-get when run as root on Debian (scripts/ensure-test-tools.sh)';

/** Why these programs cannot be used here, or null. */
export function missingPrograms(names: readonly string[]): string | null {
  const missing = names.filter((n) => !hasProgram(n));
  return missing.length ? `needs ${missing.join(', ')}, not installed; ${INSTALL}` : null;
}

/** The programs the real-kernel (kernel-diff) tests run. */
export const LAB_PROGRAMS = ['ip', 'iptables', 'iptables-restore', 'conntrack', 'tcpdump', 'tcpreplay', 'tcpreplay-edit', 'tcpprep', 'setpriv', 'python3', 'sysctl', 'ss'] as const;

/** Why the real-kernel tests cannot run here (not root, opted out, programs missing), or null. */
export function labUnavailable(programs: readonly string[] = LAB_PROGRAMS): string | null {
  if (process.env.CTSIM_NO_NETNS === '1') return 'CTSIM_NO_NETNS=1: real-kernel tests opted out';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (it creates network namespaces): run npm test as root';
  return missingPrograms(programs);
}

/** Skips the running test with `reason` (shown in the test summary). */
export function skipTest(reason: string): never {
  const test = TestRunner.getCurrentTest();
  if (!test) throw new Error(`skipTest outside a test: ${reason}`);
  test.context.skip(reason);
  throw new Error('unreachable: context.skip() throws');
}
