// Writing an HTML report: through the atomic writer (never half-written under its final name,
// never over an input), then one line on stderr saying where it went.
import { writeFileAtomic } from '../output/index.js';
import { renderReport, type ReportInput } from '../report/index.js';

export function writeHtmlReport(path: string, report: ReportInput, inputs: readonly string[] = []): void {
  writeFileAtomic(path, renderReport(report), { inputs });
  process.stderr.write(`ctsim: HTML report written to ${path}\n`);
}
