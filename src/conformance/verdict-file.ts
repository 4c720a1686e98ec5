// Writing verdict files and findings: into a temporary name first, renamed when complete, never
// over an existing file.
import fs from 'node:fs';
import path from 'node:path';
import { casePcapBytes } from '../fuzz/index.js';
import type { Finding } from './check.js';
import { SuiteFormatError } from './errors.js';
import { expectCase, type Profile } from './expect.js';
import { asFuzzCase, type SuiteCase } from './suite-case.js';
import { formatVerdictLine, type VerdictLine } from './verdict-line.js';

function writeNew(file: string, text: string | Uint8Array): void {
  if (fs.existsSync(file)) throw new SuiteFormatError(`${file} already exists: choose another name (ctsim never overwrites a file)`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.partial-${process.pid}`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeVerdictFile(file: string, lines: readonly (readonly VerdictLine[])[]): void {
  writeNew(file, lines.flatMap((ls) => ls.map((l) => `${formatVerdictLine(l)}\n`)).join(''));
}

/**
 * A finding's shortest case as `<prefix>.pcap` (raw IPv4, like the suite's cases) and
 * `<prefix>.json` (the finding, the Linux story, and the expected lines of that case).
 */
export function writeFinding(dir: string, prefix: string, f: Finding, shortest: SuiteCase, p: Profile): { pcap: string; json: string } {
  const pcap = path.join(dir, `${prefix}.pcap`);
  const json = path.join(dir, `${prefix}.json`);
  writeNew(pcap, casePcapBytes(asFuzzCase(shortest, p.kernel, p.sysctls)));
  const expected = expectCase(shortest, p).lines;
  const { minimised, ...rest } = f;
  writeNew(json, `${JSON.stringify({ ...rest, minimised: minimised ? { n: minimised.n, runs: minimised.runs, from: minimised.from, packets: minimised.case.packets.length, story: minimised.story } : null, profile: p, nat: shortest.nat, expected }, null, 1)}\n`);
  return { pcap, json };
}
