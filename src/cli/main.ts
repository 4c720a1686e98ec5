#!/usr/bin/env node
// The ctsim command line. Only this folder parses arguments and prints; everything it runs
// lives in the library folders and reports problems as typed errors.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { demoCommand } from './commands/demo.js';
import { replayCommand } from './commands/replay.js';
import { scenarioCommand } from './commands/scenario.js';
import { runCommand } from './commands/run.js';
import { matrixCommand } from './commands/matrix.js';
import { seedCommand } from './commands/seed.js';
import { kernelDiffCommand } from './commands/kernel-diff.js';
import { fuzzCommand } from './commands/fuzz.js';
import { conformanceCommand } from './commands/conformance.js';
import { helpEpilogue, kernelsCommand } from './commands/kernels.js';
import { UsageError, reportError } from './errors.js';
import { guardStandardOutput } from './process-guard.js';
import { packageVersion } from './version.js';

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * An option that takes one value given several times (`--kernel 6.1 --kernel 6.18`): yargs makes
 * it an array, which no command expects. Refuse it as a usage error naming the option.
 */
function refuseRepeatedOptions(argv: Record<string, unknown>, arrayOptions: readonly string[]): void {
  const arrays = new Set(arrayOptions.flatMap((k) => [k, camel(k)]));
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || !Array.isArray(value) || arrays.has(key)) continue;
    if (/[A-Z]/.test(key) && kebab(key) in argv) continue; // the camelCase twin of a kebab-case option
    throw new UsageError(`--${kebab(key)} was given ${value.length} times (${value.map(String).join(', ')}); give it once`);
  }
}

export async function main(argv: string[]): Promise<number> {
  // yargs turns a bare "-" into an empty string: name standard input explicitly.
  const y = yargs(argv.map((a) => (a === '-' ? '/dev/stdin' : a)));
  const parser = y
    .scriptName('ctsim')
    .usage('$0 <command> [options]\n\nUserspace TCP/NAT packet-level emulator: Linux conntrack + NAT, emulated TCP endpoints, byte-exact pcaps.')
    .command(demoCommand)
    .command(replayCommand)
    .command(runCommand)
    .command(scenarioCommand)
    .command(matrixCommand)
    .command(seedCommand)
    .command(kernelDiffCommand)
    .command(fuzzCommand)
    .command(conformanceCommand)
    .command(kernelsCommand)
    // `ctsim completion >> ~/.bashrc` (or ~/.zshrc): commands, options and choices on <Tab>.
    .completion('completion', 'Print a shell completion script for bash or zsh (ctsim completion >> ~/.bashrc)')
    .example('$0 seed', 'what npm start runs: both incidents, pcaps + ladders, the matrix')
    .example('$0 replay capture.pcapng --kernel 6.1 --compare 6.18 --html report.html', 'what would another kernel do with your capture')
    .example('$0 scenario port-collision --kernel sles-15-sp4', 'one incident, packet by packet')
    .epilogue(helpEpilogue())
    .middleware((parsed): void => refuseRepeatedOptions(parsed as Record<string, unknown>, (y as unknown as { getOptions(): { array: string[] } }).getOptions().array))
    .demandCommand(1, 'Name a command (see --help).')
    .strict()
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    // A usage error must stop the run before any command does work: throw, never just flag it.
    .fail((msg, err, y) => {
      if (err) throw err;
      let usage = '';
      y.showHelp((text: string) => {
        usage = text;
      });
      throw new UsageError(`${msg}\n\n${usage}`);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    return reportError(e, (s) => process.stderr.write(s));
  }
  // A command may set a status of its own (kernel-diff: 1 when the kernel disagrees).
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

guardStandardOutput();

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
