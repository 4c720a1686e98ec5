// Writing an HTML report: never half-written under its final name (a temporary file in the same
// folder, renamed into place), never over the input.
import { existsSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderReport, type ReportInput } from '../report/index.js';
import { UsageError } from './errors.js';

export function writeHtmlReport(path: string, report: ReportInput, inputs: readonly string[] = []): void {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  if (inputs.some((i) => real(i) === real(path))) throw new UsageError(`--html ${path} would overwrite an input file`);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, renderReport(report));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  process.stderr.write(`ctsim: HTML report written to ${path}\n`);
}
