// Tests that run network-namespace labs in the test process remove the namespaces when the run is
// interrupted (Ctrl-C reaches every worker), as the CLI does with src/cli/interrupt.ts: the
// library owns no signals.
import { destroyOwnedNamespaces } from '../../src/kerneldiff/netns-lab.js';

let installed = false;

export function removeNamespacesOnInterrupt(): void {
  if (installed) return;
  installed = true;
  let exiting = false;
  const onSignal = () => {
    if (exiting) return;
    exiting = true;
    destroyOwnedNamespaces();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
