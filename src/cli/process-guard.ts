// How a ctsim process ends when something outside it ends the run: a signal, or standard output
// going away. Whatever the library registered as unfinished (src/lifecycle/cleanup.ts: output
// files being written, network namespaces and the programs in them, scratch folders) is undone
// first, so nothing is left under a final name or in the system.
import { pendingCleanups, runCleanups } from '../lifecycle/cleanup.js';

const SIGNAL_STATUS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

let interruptsArmed = false;
let ending = false;

/** Undoes what is pending and exits with `status`; stderr gets `message` when there is one. */
function endNow(status: number, message?: string): never {
  ending = true;
  const errors = runCleanups();
  if (message) process.stderr.write(message);
  for (const e of errors) process.stderr.write(`ctsim: cleanup: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(status);
}

/**
 * SIGINT/SIGTERM/SIGHUP undo what is pending, then exit 128+signal; so does an exit that leaves
 * anything registered (a path that exits without stopping what it started). Only for commands
 * that return to the event loop while they work (replay, kernel-diff, conformance ovs): a handler
 * would hold a signal until synchronous work ends, so the others keep the default (immediate)
 * exit; their unfinished output is a temporary file the next run in that folder removes.
 * Programs that run labs outside the CLI (the bench, the tests) install the same.
 */
export function cleanUpOnInterrupt(): void {
  if (interruptsArmed) return;
  interruptsArmed = true;
  process.on('exit', () => {
    if (!ending) runCleanups();
  });
  for (const [signal, status] of Object.entries(SIGNAL_STATUS) as Array<[NodeJS.Signals, number]>) {
    // Handlers stay installed until exit: a second signal (a wrapper forwarding the same Ctrl-C)
    // during the cleanup is ignored instead of killing the process half-way.
    process.on(signal, () => {
      if (!ending) endNow(status);
    });
  }
}

/**
 * Standard output errors: a closed pipe (`ctsim replay big.pcap | head`) ends the run quietly, as
 * Unix tools do (with a note and status 1 when unfinished output files had to be dropped); any
 * other failure (ENOSPC, EIO) is reported in one line with status 1, never as a stack trace.
 */
export function guardStandardOutput(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (ending) return;
    const unfinished = pendingCleanups() > 0;
    const undone = unfinished ? '; stopped, and what the run had started (unfinished output files, namespaces) was removed' : '';
    if (e.code === 'EPIPE') {
      if (!unfinished) endNow(0);
      endNow(1, `ctsim: standard output was closed before the run ended${undone}\n`);
    }
    const why = e.code ? `${e.code} (${e.message.replace(/^\w+: /, '').replace(/, write$/, '')})` : e.message;
    endNow(1, `ctsim: cannot write standard output: ${why}${undone}\n`);
  });
}
