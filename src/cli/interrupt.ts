// Ctrl-C (SIGINT) or SIGTERM during a run that created network namespaces or started Open
// vSwitch daemons: remove them, then exit 130 as shells expect after an interrupt. A second
// signal during the cleanup (a wrapper such as timeout(1) forwarding the same one, or an
// impatient second Ctrl-C) is ignored instead of killing the process half-way through it. The
// same cleanup runs at exit, for a run that ends without stopping what it started.
import { stopOwnedOvsLabs } from '../conformance/ovs/ovs-lab.js';
import { destroyOwnedNamespaces } from '../kerneldiff/netns-lab.js';

export const EXIT_INTERRUPTED = 130;

/** Removes every namespace and OVS lab this process still owns (synchronous). */
export function cleanUpLabs(): void {
  destroyOwnedNamespaces();
  stopOwnedOvsLabs();
}

/** Runs `work` with SIGINT/SIGTERM and exit handlers that remove this process's labs. */
export async function withLabCleanup<T>(work: () => Promise<T>): Promise<T> {
  let exiting = false;
  const onSignal = () => {
    if (exiting) return;
    exiting = true;
    cleanUpLabs();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanUpLabs);
  try {
    return await work();
  } finally {
    // The handlers stay while exiting, so that the second signal is still ignored.
    if (!exiting) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('exit', cleanUpLabs);
    }
  }
}
