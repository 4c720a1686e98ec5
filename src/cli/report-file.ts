// Writing an HTML report: through the atomic writer (never half-written under its final name,
// never over an input), then one line on stderr saying where it went.
import { writeFileAtomic } from '../output/index.js';
import { resolveKernel } from '../conntrack/index.js';
import { renderReport, reportProfile, type ReportInput, type ReportProfile } from '../report/index.js';
import { commandLine } from './command-line.js';
import { packageVersion } from './version.js';

export function writeHtmlReport(path: string, report: ReportInput, inputs: readonly string[] = []): void {
  writeFileAtomic(path, renderReport(report), { inputs });
  process.stderr.write(`ctsim: HTML report written to ${path}\n`);
}

/** What a scenario report says about itself: the command line, the version, the kernel profile and how far it is verified. */
export function reportMeta(kernel: string): { command: string; version: string; profile: ReportProfile } {
  return { command: commandLine(), version: packageVersion(), profile: reportProfile(resolveKernel(kernel).name, kernel) };
}
