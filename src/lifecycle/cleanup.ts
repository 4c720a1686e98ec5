// What this process must undo if it is interrupted: unfinished output files, network namespaces,
// the programs it started in them, scratch folders. Owners register an undo step while they hold
// the resource and remove it when they release it normally; the CLI's SIGINT/SIGTERM handler
// runs whatever is still registered (library code never installs handlers or exits).

type Undo = () => void;

const pending = new Set<Undo>();

/** Registers `undo` to run on interruption; returns the function that unregisters it. */
export function onInterrupt(undo: Undo): () => void {
  pending.add(undo);
  return () => {
    pending.delete(undo);
  };
}

/** Undo steps registered and not yet released (for tests). */
export function pendingCleanups(): number {
  return pending.size;
}

/**
 * Runs every registered undo step, newest first, synchronously (it runs from signal handlers,
 * just before exit). A failing step does not stop the others; their errors are returned.
 */
export function runCleanups(): unknown[] {
  const steps = [...pending].reverse();
  pending.clear();
  const errors: unknown[] = [];
  for (const undo of steps) {
    try {
      undo();
    } catch (e) {
      errors.push(e);
    }
  }
  return errors;
}
