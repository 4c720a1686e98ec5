// Names of things ctsim leaves in shared places (network namespaces, scratch folders in the
// temp directory, temporary output files) carry the creating process's id, so a later run can
// tell the leftovers of a dead process (SIGKILL, a crash, a power cut) from those of a live one.

/** "ctsim-<pid>-": the prefix of every namespace and scratch folder ctsim creates. */
export function ownPrefix(pid: number = process.pid): string {
  return `ctsim-${pid}-`;
}

const OWNED = /^ctsim-(\d+)-/;

/** The pid in a "ctsim-<pid>-..." name, or null for names ctsim did not create. */
export function ownerPid(name: string): number | null {
  const m = OWNED.exec(name);
  if (!m) return null;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** Whether a process with this id exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A name ctsim created whose process is gone: safe to remove. */
export function leftByDeadProcess(name: string): boolean {
  const pid = ownerPid(name);
  return pid !== null && pid !== process.pid && !pidAlive(pid);
}
