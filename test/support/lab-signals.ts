// Tests that run labs in the test process (network namespaces, Open vSwitch daemons, UML guests)
// remove them when the run is interrupted (Ctrl-C reaches every worker) or the worker exits, as
// the CLI does with src/cli/interrupt.ts: the library owns no signals.
import { stopOwnedOvsLabs } from '../../src/conformance/ovs/ovs-lab.js';
import { destroyOwnedNamespaces } from '../../src/kerneldiff/netns-lab.js';
import { killOwnedUmlGuests } from '../../src/kerneldiff/uml/uml-guest.js';

let installed = false;

export function removeLabsOnInterrupt(): void {
  if (installed) return;
  installed = true;
  let exiting = false;
  const cleanUp = () => {
    killOwnedUmlGuests();
    destroyOwnedNamespaces();
    stopOwnedOvsLabs();
  };
  const onSignal = () => {
    if (exiting) return;
    exiting = true;
    cleanUp();
    setTimeout(() => process.exit(130), 200); // the runners' finally blocks remove their folders
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanUp);
}
