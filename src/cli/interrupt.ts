// Ctrl-C (SIGINT) or SIGTERM during a run that created labs (network namespaces, Open vSwitch
// daemons, user-mode-linux guests): remove them, then exit with 128 + the signal's number (130,
// 143) as shells expect. The exit waits a moment so that the runners' finally blocks can remove
// their folders as the killed guests' exits come in. A second signal during the cleanup (a
// wrapper such as timeout(1) forwarding the same one, or an impatient second Ctrl-C) is ignored
// instead of killing the process half-way through it. The same cleanup runs at exit, for a run
// that ends without stopping what it started.
import { constants } from 'node:os';
import { stopOwnedOvsLabs } from '../conformance/ovs/ovs-lab.js';
import { destroyOwnedNamespaces } from '../kerneldiff/netns-lab.js';
import { killOwnedUmlGuests } from '../kerneldiff/uml/uml-guest.js';

/** How long the process lives on after the cleanup, for the runners' finally blocks. */
const EXIT_DELAY_MS = 200;

/** Removes every lab this process still owns (synchronous). */
export function cleanUpLabs(): void {
  killOwnedUmlGuests();
  destroyOwnedNamespaces();
  stopOwnedOvsLabs();
}

/** Runs `work` with SIGINT/SIGTERM and exit handlers that remove this process's labs. */
export async function withLabCleanup<T>(work: () => Promise<T>): Promise<T> {
  let exiting = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    cleanUpLabs();
    setTimeout(() => process.exit(128 + constants.signals[sig]), EXIT_DELAY_MS);
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
