// `npm run corpus`: regenerates the committed fuzz corpus (test/corpus/generated/) from fixed
// seeds over several kernels and sysctl settings, with small cases (at most 20 packets, 48-byte
// payloads), and refreshes the JSON of every regression case (test/corpus/regressions/) by
// replaying its pcap. Runs on the built library (dist/), so build first (the npm script does).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseJson, casePcapBytes, formatCaseJson, readCaseFiles, runFuzz } from '../dist/src/fuzz/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const generated = path.join(root, 'test/corpus/generated');
const regressions = path.join(root, 'test/corpus/regressions');

/** [kernel, sysctls, seed, cases]: seeds differ per line so file names never collide. */
const RUNS = [
  ['6.18', [], 101, 50],
  ['5.4', [], 102, 35],
  ['sles-15-sp4', [], 103, 35],
  ['4.19', [], 104, 15],
  ['6.1.8', [], 105, 15],
  ['ubuntu-20.04', [], 106, 10],
  ['5.15.90', [], 107, 10],
  ['6.18', ['net.netfilter.nf_conntrack_max=8'], 108, 15],
  ['6.18', ['net.netfilter.nf_conntrack_checksum=0'], 109, 10],
  ['6.18', ['net.netfilter.nf_conntrack_tcp_be_liberal=1'], 110, 10],
  ['5.4', ['net.netfilter.nf_conntrack_tcp_loose=0'], 111, 10],
  ['sles-15-sp4', ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'], 112, 10],
  ['6.18', ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=5', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait=3',
    'net.netfilter.nf_conntrack_tcp_timeout_established=20', 'net.netfilter.nf_conntrack_tcp_max_retrans=1'], 113, 15],
];

fs.rmSync(generated, { recursive: true, force: true });
fs.mkdirSync(generated, { recursive: true });
const findings = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-corpus-findings-'));
let cases = 0;
let failed = 0;
for (const [kernel, sysctls, seed, count] of RUNS) {
  for (const mode of ['structured', 'blind']) {
    const n = mode === 'structured' ? Math.ceil(count * 0.7) : Math.floor(count * 0.3);
    const s = runFuzz({ kernel, sysctls, seed: mode === 'structured' ? seed : seed + 1000, count: n, mode, outDir: findings, corpusDir: generated, maxPackets: 20, maxPayload: 48 });
    cases += s.corpusWritten;
    failed += s.violations;
  }
}
let refreshed = 0;
if (fs.existsSync(regressions)) {
  for (const f of fs.readdirSync(regressions).filter((x) => x.endsWith('.pcap')).sort()) {
    const p = path.join(regressions, f);
    const { case: c } = readCaseFiles(p);
    fs.writeFileSync(p.replace(/\.pcap$/, '.json'), formatCaseJson(caseJson(c, casePcapBytes(c))));
    refreshed++;
  }
}
let bytes = 0;
for (const dir of [generated, regressions]) {
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, f)).size;
}
process.stdout.write(`corpus: ${cases} generated cases in ${path.relative(root, generated)}, ${refreshed} regression cases refreshed, ${(bytes / 1024).toFixed(0)} KiB\n`);
if (failed) {
  process.stderr.write(`corpus: ${failed} generated cases violated an invariant (minimised in ${findings}): fix them first\n`);
  process.exitCode = 1;
}
