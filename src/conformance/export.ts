// `ctsim conformance export`: gathers the cases (seed incidents, regression captures, fuzz cases
// from the generators), replays each under the profile, and writes the suite into a fresh folder
// next to the target, renamed into place only when complete (never half-written, never over an
// existing folder).
import fs from 'node:fs';
import path from 'node:path';
import { CaseGenerator, casePcapBytes, type FuzzMode } from '../fuzz/index.js';
import { readCaptureBytes } from '../pcap/index.js';
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { SuiteFormatError } from './errors.js';
import { expectRecords, type Profile } from './expect.js';
import { seedCases } from './seed-cases.js';
import { CASE_ID_RE, asFuzzCase, redirectVariant, type SuiteCase } from './suite-case.js';
import { suiteReadme } from './suite-readme.js';
import { CASES_DIR, EXPECTED, MANIFEST, NAT_RULE, README, SCHEMA, sha256, type Manifest, type ManifestCase } from './suite-files.js';
import { formatVerdictLine, SUITE_FORMAT } from './verdict-line.js';
import { VERDICT_LINE_SCHEMA } from './verdict-schema.js';

export interface FuzzSource {
  seed: number;
  count: number;
  mode: FuzzMode;
  /** Every k-th fuzz case is also added as a NAT variant (0: none). */
  natEvery: number;
  maxPackets?: number;
}

export interface SuiteSources {
  seeds: boolean;
  /** Folders of regression captures (*.pcap; each file one case). */
  regressionDirs: string[];
  fuzz: FuzzSource | null;
}

/** A capture folder's pcaps as cases (sorted by name; times relative to each file's first packet). */
export function regressionCases(dir: string): SuiteCase[] {
  const label = path.basename(dir);
  return fs.readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort().map((f) => {
    const recs = [...readCaptureBytes(fs.readFileSync(path.join(dir, f)))];
    const t0 = recs.length ? recs[0].timestampNs : 0n;
    const id = `reg-${label}-${f.slice(0, -'.pcap'.length)}`.replace(/[^A-Za-z0-9._-]/g, '_');
    return { id, origin: 'regression' as const, nat: false, description: `regression case ${label}/${f}`, packets: recs.map((r) => ({ timeNs: Number(r.timestampNs - t0), bytes: r.data })) };
  });
}

export function fuzzCases(p: Profile, f: FuzzSource): SuiteCase[] {
  const gen = new CaseGenerator({ kernel: p.kernel, sysctls: p.sysctls, seed: f.seed, mode: f.mode, maxPackets: f.maxPackets });
  const out: SuiteCase[] = [];
  for (let i = 0; i < f.count; i++) {
    const c = gen.generate(i);
    const sc: SuiteCase = { id: `fuzz-s${f.seed}-${i}`, origin: 'fuzz', nat: false, packets: c.packets, description: `fuzz ${c.mode} case ${i} of seed ${f.seed}: ${c.tags.join(', ')}` };
    out.push(sc);
    if (f.natEvery > 0 && i % f.natEvery === 0) out.push(redirectVariant(sc));
  }
  return out;
}

/** Every case of a suite, in suite order: seeds, regressions, fuzz. */
export function gatherCases(p: Profile, s: SuiteSources): SuiteCase[] {
  const cases = [...(s.seeds ? seedCases() : []), ...s.regressionDirs.flatMap(regressionCases), ...(s.fuzz ? fuzzCases(p, s.fuzz) : [])];
  const ids = new Set<string>();
  for (const c of cases) {
    if (!CASE_ID_RE.test(c.id)) throw new SuiteFormatError(`case id ${JSON.stringify(c.id)} has characters other than letters, digits, '.', '_', '-'`);
    if (ids.has(c.id)) throw new SuiteFormatError(`two cases are named ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}

export interface ExportResult {
  dir: string;
  manifest: Manifest;
}

export interface ExportOptions extends SuiteSources {
  kernel: string;
  sysctls: string[];
  out: string;
  generator: string;
}

export function exportSuite(o: ExportOptions): ExportResult {
  const profile = resolveKernel(o.kernel);
  const p: Profile = { kernel: profile.name, sysctls: o.sysctls };
  if (fs.existsSync(o.out)) throw new SuiteFormatError(`${o.out} already exists: export writes a new folder (remove it or choose another --out)`);
  const cases = gatherCases(p, o);
  const parent = path.dirname(path.resolve(o.out));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(o.out)}.partial-`));
  try {
    fs.mkdirSync(path.join(tmp, CASES_DIR));
    const expected = fs.openSync(path.join(tmp, EXPECTED), 'w');
    const mcases: ManifestCase[] = [];
    let packets = 0;
    try {
      for (const c of cases) {
        const pcap = casePcapBytes(asFuzzCase(c, p.kernel, p.sysctls));
        fs.writeFileSync(path.join(tmp, CASES_DIR, `${c.id}.pcap`), pcap);
        // The expectation comes from the file's bytes read back: exactly what an implementer reads.
        const { lines } = expectRecords(c, readCaptureBytes(pcap), p);
        fs.writeSync(expected, lines.map((l) => `${formatVerdictLine(l)}\n`).join(''));
        packets += lines.length;
        mcases.push({ id: c.id, origin: c.origin, nat: c.nat, packets: lines.length, sha256: sha256(pcap), description: c.description });
      }
    } finally {
      fs.closeSync(expected);
    }
    const manifest: Manifest = {
      format: SUITE_FORMAT, generator: o.generator, profile: { kernel: p.kernel, sysctls: o.sysctls.slice() }, hook: 'prerouting', nat: NAT_RULE,
      fuzz: o.fuzz ? { seed: o.fuzz.seed, count: o.fuzz.count, mode: o.fuzz.mode } : null, cases: mcases, packets,
    };
    fs.writeFileSync(path.join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    fs.writeFileSync(path.join(tmp, SCHEMA), `${JSON.stringify(VERDICT_LINE_SCHEMA, null, 2)}\n`);
    fs.writeFileSync(path.join(tmp, README), suiteReadme(manifest));
    fs.renameSync(tmp, o.out);
    return { dir: o.out, manifest };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
