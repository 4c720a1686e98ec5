// Errors the CLI reports as "ctsim: <kind>: <message>" with a non-zero exit, never a stack trace.
// Each module throws its own typed error; this is where they are recognised.
import { WireError } from '../wire/index.js';
import { CaptureError } from '../pcap/index.js';
import { ConfigError } from '../conntrack/errors.js';
import { LabError } from '../kerneldiff/netns-lab.js';
import { OutputError } from '../output/index.js';
import { PeerError, SuiteFormatError } from '../conformance/errors.js';

/** Bad command-line usage that yargs cannot see (e.g. a value that parses but makes no sense). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly kind = 'usage';
}

export const EXIT_USAGE = 2;
export const EXIT_INPUT = 1;
export const EXIT_INTERNAL = 70;

const KNOWN: Array<new (...args: never[]) => Error> = [WireError, CaptureError, ConfigError, LabError, SuiteFormatError, PeerError, OutputError];

/** Error kinds that are the user's choice of arguments rather than bad input or a failing system. */
const USAGE_KINDS = new Set(['usage', 'config', 'same-as-input', 'bad-path']);

export function isKnownError(e: unknown): e is Error & { kind: string } {
  return e instanceof UsageError || KNOWN.some((cls) => e instanceof cls) || (e instanceof Error && 'kind' in e && typeof (e as { kind: unknown }).kind === 'string' && e.name !== 'Error');
}

/** Prints the error for a person and returns the exit code. */
export function reportError(e: unknown, write: (s: string) => void): number {
  if (e instanceof UsageError) {
    write(`ctsim: ${e.message}\n`);
    return EXIT_USAGE;
  }
  if (isKnownError(e)) {
    write(`ctsim: ${e.name} (${e.kind}): ${e.message}\n`);
    return USAGE_KINDS.has(e.kind) ? EXIT_USAGE : EXIT_INPUT;
  }
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    // Node system errors (ENOENT, EACCES, ...) on files named by the user.
    write(`ctsim: ${(e as unknown as Error).message}\n`);
    return EXIT_INPUT;
  }
  write(`ctsim: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.CTSIM_DEBUG && e instanceof Error) write(`${e.stack}\n`);
  else write('ctsim: (set CTSIM_DEBUG=1 for a stack trace; please report this)\n');
  return EXIT_INTERNAL;
}
