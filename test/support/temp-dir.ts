// Scratch folders for tests: created under the OS temp folder and removed when the test file's
// tests have run (test/support/setup.ts registers the hook), pass or fail, so a test run leaves
// nothing behind in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A new empty folder named PREFIX-XXXXXX, removed after this test file. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes every folder testTempDir made in this test file. */
export function removeTestTempDirs(): void {
  for (const d of made) rmSync(d, { recursive: true, force: true });
  made.clear();
}
