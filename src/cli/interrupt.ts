// Ctrl-C (SIGINT) or SIGTERM during a run that created network namespaces: remove them, then exit
// 130 as shells expect after an interrupt. A second signal during the cleanup (a wrapper such as
// timeout(1) forwarding the same one, or an impatient second Ctrl-C) is ignored instead of
// killing the process half-way through it.
import { destroyOwnedNamespaces } from '../kerneldiff/netns-lab.js';

export const EXIT_INTERRUPTED = 130;

/** Runs `work` with SIGINT/SIGTERM handlers that remove this process's namespaces and exit. */
export async function withNamespaceCleanup<T>(work: () => Promise<T>): Promise<T> {
  let exiting = false;
  const onSignal = () => {
    if (exiting) return;
    exiting = true;
    destroyOwnedNamespaces();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    // The handlers stay while exiting, so that the second signal is still ignored.
    if (!exiting) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
