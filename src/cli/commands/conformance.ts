// `ctsim conformance`: a conformance suite for other conntrack implementations.
//   export  cases (seed incidents, regression captures, fuzz cases) + Linux's expected verdicts
//   check   an implementation's verdict file against a suite: agreement by category, findings
//   ovs     run Open vSwitch's userspace conntrack (started and stopped by ctsim) on a suite
import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { FUZZ_MODES, type FuzzMode } from '../../fuzz/index.js';
import { NEWEST_NAME } from '../../conntrack/kernel-profile.js';
import { CATEGORIES } from '../../conformance/categorise.js';
import { checkVerdicts, minimiseFindings, type CheckReport, type Finding } from '../../conformance/check.js';
import { exportSuite } from '../../conformance/export.js';
import { OvsPeer } from '../../conformance/ovs/ovs-peer.js';
import type { Peer } from '../../conformance/peer.js';
import { loadCase, loadSuite, readExpected, readVerdicts, type Suite, type VerdictTable } from '../../conformance/read-suite.js';
import type { SuiteCase } from '../../conformance/suite-case.js';
import { COMPARED_FIELDS } from '../../conformance/verdict-line.js';
import { writeFinding, writeVerdictFile } from '../../conformance/verdict-file.js';
import { UsageError } from '../errors.js';
import { cleanUpOnInterrupt } from '../process-guard.js';
import { packageRoot, packageVersion } from '../version.js';

interface ExportArgs {
  kernel?: string;
  sysctl?: string[];
  out?: string;
  'fuzz-count': number;
  seed: number;
  mode: string;
  'nat-every': number;
  'max-packets': number;
  seeds: boolean;
  regressions?: string[];
}

interface CheckArgs {
  suite?: string;
  verdicts?: string;
  json?: boolean;
  findings?: string;
}

interface OvsArgs {
  suite?: string;
  verdicts?: string;
  out?: string;
  json?: boolean;
  findings?: string;
  minimise: number;
  'minimise-runs': number;
}

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer in ${lo}..${hi}, got ${v}`);
  return v;
}

/** The repository's regression captures (kernel-diff cases, the fuzz corpus), when they are there. */
function defaultRegressionDirs(): string[] {
  const root = packageRoot();
  if (!root) return [];
  return ['test/kerneldiff/cases', 'test/corpus/regressions', 'test/corpus/generated'].map((d) => path.join(root, d)).filter((d) => fs.existsSync(d));
}

const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(2)}%`);

export function formatReport(r: CheckReport, files: Map<Finding, string> = new Map()): string {
  const out = [
    `# ctsim conformance check: ${r.implementation} against Linux ${r.profile.kernel}${r.profile.sysctls.length ? ` (${r.profile.sysctls.join(' ')})` : ''}`,
    `suite           ${r.suite}: ${r.cases} cases, ${r.packets} packets`,
    `packets agree   ${r.agree} of ${r.packets} (${pct(r.agree, r.packets)}) on every field both sides give`,
    `cases differ    ${r.casesDiffering} of ${r.cases}`,
    '',
    'category     packets    agree   differ  agreement',
  ];
  for (const c of CATEGORIES) {
    const t = r.byCategory[c];
    out.push(`${c.padEnd(10)} ${String(t.packets).padStart(9)} ${String(t.agree).padStart(8)} ${String(t.packets - t.agree).padStart(8)}  ${pct(t.agree, t.packets).padStart(9)}`);
  }
  out.push(`${'nat'.padEnd(10)} ${String(r.nat.packets).padStart(9)} ${String(r.nat.agree).padStart(8)} ${String(r.nat.packets - r.nat.agree).padStart(8)}  ${pct(r.nat.agree, r.nat.packets).padStart(9)}  (NAT cases, packets with the same verdict: rewrite compared)`);
  out.push('', `fields compared: ${COMPARED_FIELDS.map((f) => `${f} ${r.byField[f].agree}/${r.byField[f].packets}`).join(', ')}`);
  if (r.findings.length) {
    out.push('', `findings: the first difference of each differing case, grouped (${r.findings.length})`);
    r.findings.forEach((f, i) => {
      out.push('', `${String(i + 1).padStart(3)}. [${f.category}] ${f.field}: linux ${f.linux}, other ${f.other} (${f.packetClass} packet) in ${f.cases.length} case${f.cases.length === 1 ? '' : 's'}`);
      const m = f.minimised;
      if (m) {
        out.push(`     minimised to ${m.case.packets.length} packet${m.case.packets.length === 1 ? '' : 's'} (from ${m.from}, ${m.runs} peer runs), difference at #${m.n}:`);
        out.push(...m.story.map((l) => `       ${l}`));
      } else {
        out.push(`     shortest: ${f.example.case} packets 1..${f.example.n}, difference at #${f.example.n}:`);
        out.push(...f.story.map((l) => `       ${l}`));
      }
      const file = files.get(f);
      if (file) out.push(`     -> ${file}`);
    });
  }
  return `${out.join('\n')}\n`;
}

function reportJson(r: CheckReport, files: Map<Finding, string>): string {
  return `${JSON.stringify({
    ...r,
    findings: r.findings.map((f) => ({
      ...f, cases: f.cases.length, caseIds: f.cases.slice(0, 20), file: files.get(f) ?? null,
      minimised: f.minimised ? { packets: f.minimised.case.packets.length, n: f.minimised.n, runs: f.minimised.runs, from: f.minimised.from, story: f.minimised.story } : null,
    })),
  }, null, 1)}\n`;
}

function saveFindings(dir: string | undefined, r: CheckReport, s: Suite): Map<Finding, string> {
  const files = new Map<Finding, string>();
  if (!dir) return files;
  if (fs.existsSync(dir) && fs.readdirSync(dir).length) throw new UsageError(`--findings ${dir} is not empty`);
  r.findings.forEach((f, i) => {
    let shortest: SuiteCase;
    if (f.minimised) shortest = f.minimised.case;
    else {
      const c = loadCase(s, f.example.case);
      shortest = { ...c, packets: c.packets.slice(0, f.example.n) };
    }
    files.set(f, writeFinding(dir, `${String(i + 1).padStart(3, '0')}-${f.category}-${f.field}`, f, shortest, r.profile).pcap);
  });
  return files;
}

function needSuite(a: { suite?: string }): Suite {
  if (!a.suite) throw new UsageError('--suite DIR is required (make one with ctsim conformance export)');
  return loadSuite(a.suite);
}

const exportCmd: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write a conformance suite: cases as pcap, the named Linux profile\'s per-packet verdicts as JSON Lines, a JSON Schema and a README',
  builder: (y: Argv) => y
    .option('kernel', { type: 'string', describe: `kernel release or vendor profile (default ${NEWEST_NAME})` })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting as name=value (repeatable)' })
    .option('out', { type: 'string', describe: 'the suite folder to create (must not exist)' })
    .option('fuzz-count', { type: 'number', default: 1000, describe: 'fuzz cases from the generators (0: none)' })
    .option('seed', { type: 'number', default: 1, describe: 'fuzz run seed' })
    .option('mode', { type: 'string', choices: FUZZ_MODES as string[], default: 'mixed' })
    .option('nat-every', { type: 'number', default: 10, describe: 'also add every k-th fuzz case as a NAT (REDIRECT) variant (0: none)' })
    .option('max-packets', { type: 'number', default: 64, describe: 'packets per fuzz case at most' })
    .option('seeds', { type: 'boolean', default: true, describe: 'include the seed incidents (--no-seeds to leave them out)' })
    .option('regressions', { type: 'string', array: true, describe: 'folders of regression captures (default: the repository\'s test/kerneldiff/cases and test/corpus)' })
    .example('$0 conformance export --kernel 6.18 --out suite-6.18 --fuzz-count 10000', 'a suite for another conntrack') as never,
  handler: (a) => {
    if (!a.out) throw new UsageError('--out DIR is required');
    const count = intIn('fuzz-count', a['fuzz-count'], 0, 1_000_000);
    const dirs = a.regressions ?? defaultRegressionDirs();
    for (const d of dirs) if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new UsageError(`--regressions ${d}: not a folder`);
    const r = exportSuite({
      kernel: a.kernel ?? NEWEST_NAME, sysctls: a.sysctl ?? [], out: a.out, generator: `ctsim ${packageVersion()}`, seeds: a.seeds, regressionDirs: dirs,
      fuzz: count > 0 ? { seed: intIn('seed', a.seed, 0, 0xffffffff), count, mode: a.mode as FuzzMode, natEvery: intIn('nat-every', a['nat-every'], 0, 1_000_000), maxPackets: intIn('max-packets', a['max-packets'], 1, 4096) } : null,
    });
    const m = r.manifest;
    const by = (o: string) => m.cases.filter((c) => c.origin === o).length;
    process.stdout.write(`suite ${r.dir}: ${m.cases.length} cases (${by('seed')} seed, ${by('regression')} regression, ${by('fuzz')} fuzz; ${m.cases.filter((c) => c.nat).length} NAT), ${m.packets} packets, expected verdicts of Linux ${m.profile.kernel}\n`);
  },
};

const checkCmd: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'Compare another implementation\'s per-packet verdicts (JSON Lines, the suite\'s schema) with the suite\'s Linux verdicts: agreement by category and each difference explained',
  builder: (y: Argv) => y
    .option('suite', { type: 'string', describe: 'suite folder (ctsim conformance export)' })
    .option('verdicts', { type: 'string', describe: 'the implementation\'s verdict file (JSON Lines)' })
    .option('json', { type: 'boolean', describe: 'print the report as JSON' })
    .option('findings', { type: 'string', describe: 'write each finding\'s shortest case (pcap + JSON) into this new folder' })
    .example('$0 conformance check --suite suite-6.18 --verdicts mine.jsonl', 'compare your implementation\'s verdicts with Linux\'s') as never,
  handler: (a) => {
    const s = needSuite(a);
    if (!a.verdicts) throw new UsageError('--verdicts FILE is required');
    const expected = readExpected(s);
    const actual = readVerdicts(s, a.verdicts);
    const r = checkVerdicts(s, expected, actual, path.basename(a.verdicts));
    const files = saveFindings(a.findings, r, s);
    process.stdout.write(a.json ? reportJson(r, files) : formatReport(r, files));
  },
};

/** Runs the suite's cases through a peer; progress on a terminal. */
export async function runPeer(peer: Peer, s: Suite): Promise<VerdictTable> {
  const cases = s.manifest.cases.map((c) => loadCase(s, c.id));
  const tty = process.stderr.isTTY === true;
  const t0 = Date.now();
  const lines = await peer.run(cases, tty ? (p) => process.stderr.write(`\r\x1b[K${peer.name}: ${p.cases}/${p.total} cases, ${p.packets} packets, ${((Date.now() - t0) / 1000).toFixed(0)} s`) : undefined);
  if (tty) process.stderr.write('\r\x1b[K');
  return new Map(cases.map((c, i) => [c.id, lines[i]]));
}

const ovsCmd: CommandModule<object, OvsArgs> = {
  command: 'ovs',
  describe: 'Run Open vSwitch\'s userspace conntrack (ovsdb-server + ovs-vswitchd --enable-dummy, started in a temporary folder and stopped by ctsim) on a suite, then check it',
  builder: (y: Argv) => y
    .option('suite', { type: 'string', describe: 'suite folder (ctsim conformance export)' })
    .option('out', { type: 'string', describe: 'also write OVS\'s verdicts to this new JSON Lines file' })
    .option('verdicts', { type: 'string', describe: 'OVS\'s verdicts from an earlier run (--out): skip the run, only check and minimise' })
    .option('json', { type: 'boolean', describe: 'print the report as JSON' })
    .option('findings', { type: 'string', describe: 'write each finding\'s shortest case (pcap + JSON) into this new folder' })
    .option('minimise', { type: 'number', default: 5, describe: 'minimise this many findings with OVS as the oracle (ddmin)' })
    .option('minimise-runs', { type: 'number', default: 150, describe: 'OVS runs per minimised finding at most' })
    .example('$0 conformance ovs --suite suite-6.18 --out ovs.jsonl', 'run Open vSwitch\'s userspace conntrack over the suite') as never,
  handler: async (a) => {
    // Ctrl-C / SIGTERM: the OVS daemons stop and their folder goes (OvsLab registers its cleanup).
    cleanUpOnInterrupt();
    const s = needSuite(a);
    const limit = intIn('minimise', a.minimise, 0, 1000);
    const runs = intIn('minimise-runs', a['minimise-runs'], 1, 100_000);
    if (a.out && fs.existsSync(a.out)) throw new UsageError(`--out ${a.out} already exists`);
    if (a.out && a.verdicts) throw new UsageError('--verdicts reuses an earlier run: there is nothing new for --out');
    const expected = readExpected(s);
    const earlier = a.verdicts ? readVerdicts(s, a.verdicts) : null;
    const peer = await OvsPeer.start();
    try {
      const actual = earlier ?? (await runPeer(peer, s));
      if (a.out) writeVerdictFile(a.out, s.manifest.cases.map((c) => actual.get(c.id)!));
      const r = checkVerdicts(s, expected, actual, peer.name);
      if (limit > 0) await minimiseFindings(r, s, peer, { limit, maxRuns: runs });
      const files = saveFindings(a.findings, r, s);
      process.stdout.write(a.json ? reportJson(r, files) : formatReport(r, files));
    } finally {
      await peer.close();
    }
  },
};

export const conformanceCommand: CommandModule = {
  command: 'conformance <command>',
  describe: 'Conformance suite for other conntrack implementations: export it, check a verdict file, run Open vSwitch on it',
  builder: (y: Argv) => y.command(exportCmd).command(checkCmd).command(ovsCmd).demandCommand(1, 'Name a conformance command: export, check or ovs'),
  handler: () => undefined,
};
