import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { CaseGenerator } from '../../fuzz/generator.js';
import { FileSink, PcapWriter, readCaptureFile } from '../../pcap/index.js';
import { LinkType } from '../../wire/index.js';
import { challengeAckReuseCapture } from '../../scenarios/reuse-capture.js';
import { runKernelDiff } from '../../kerneldiff/kernel-diff.js';
import type { DiffCase } from '../../kerneldiff/prepare-cases.js';
import { UsageError } from '../errors.js';

interface Args {
  cases?: string;
  'fuzz-count'?: number;
  seed: number;
  mode: string;
  'max-packets': number;
  sysctl?: string[];
  out: string;
  json?: boolean;
  minimise: number;
}

function casesFromDir(dir: string): DiffCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng')).sort();
  if (files.length === 0) throw new UsageError(`--cases ${dir}: no .pcap or .pcapng files`);
  return files.map((f) => ({ name: f.replace(/\.pcap(ng)?$/, ''), packets: [...readCaptureFile(join(dir, f))].map((r) => r.data) }));
}

export const kernelDiffCommand: CommandModule<object, Args> = {
  command: 'kernel-diff',
  describe: 'Replay cases through the running kernel\'s conntrack (in network namespaces ctsim creates and removes; root) and compare with ctsim packet by packet',
  builder: (y) => y
    .option('cases', { type: 'string', describe: 'directory of case captures (raw IPv4 pcap, e.g. from ctsim fuzz)' })
    .option('fuzz-count', { type: 'number', describe: 'generate this many fuzz cases instead' })
    .option('seed', { type: 'number', default: 1 })
    .option('mode', { type: 'string', choices: ['structured', 'blind', 'mixed'], default: 'structured' })
    .option('max-packets', { type: 'number', default: 24, describe: 'packets per generated case' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* setting for both the kernel (per namespace) and ctsim' })
    .option('minimise', { type: 'number', default: 3, describe: 'how many disagreeing cases to minimise against the kernel' })
    .option('out', { type: 'string', default: 'pcaps/kernel-diff', describe: 'where minimised disagreements are written' })
    .option('json', { type: 'boolean' }) as never,
  handler: async (a) => {
    let cases: DiffCase[] = [];
    if (a.cases) cases = casesFromDir(a.cases);
    if (a['fuzz-count'] !== undefined) {
      const n = a['fuzz-count'];
      if (!Number.isInteger(n) || n < 1 || n > 64_000) throw new UsageError(`--fuzz-count must be 1..64000, got ${n}`);
      const g = new CaseGenerator({ kernel: '6.18', sysctls: a.sysctl ?? [], seed: a.seed, mode: a.mode as never, maxPackets: a['max-packets'] });
      for (let i = 0; i < n; i++) {
        const c = g.generate(i);
        cases.push({ name: `fuzz-${a.seed}-${i}`, packets: c.packets.map((p) => p.bytes) });
      }
    }
    if (!a.cases && a['fuzz-count'] === undefined) cases.push({ name: 'challenge-ack-reuse', packets: challengeAckReuseCapture().map((p) => p.bytes) });
    const tty = process.stderr.isTTY;
    const r = await runKernelDiff({
      cases, sysctls: a.sysctl ?? [], minimise: a.minimise,
      onProgress: (done, total, rep) => { if (tty) process.stderr.write(`\rkernel-diff: ${done}/${total} cases, ${rep.packetAgreement}/${rep.packets} packets agree`); },
    });
    if (tty) process.stderr.write('\n');
    const rep = r.report;
    if (r.minimised.length) mkdirSync(a.out, { recursive: true });
    const files: string[] = [];
    for (const m of r.minimised) {
      const path = join(a.out, `${m.name}.pcap`);
      const w = new PcapWriter(new FileSink(path), { linkType: LinkType.RAW });
      m.packets.forEach((p, i) => w.writePacket(BigInt(i) * 250_000n, p));
      w.close();
      writeFileSync(join(a.out, `${m.name}.json`), `${JSON.stringify({ kernel: r.kernel, profile: r.profile.name, packetDiffs: m.report.packetDiffs, entryDiffs: m.report.entryDiffs }, null, 2)}\n`);
      files.push(path);
    }
    if (a.json) {
      process.stdout.write(`${JSON.stringify({ ...rep, kernel: r.kernel, profile: r.profile.name, minimised: files }, null, 2)}\n`);
    } else {
      const pct = (x: number, y: number) => (y ? ((100 * x) / y).toFixed(2) : '100.00');
      const lines = [
        `kernel ${r.kernel} (ctsim profile ${r.profile.name}): ${rep.cases} cases, ${rep.packets} packets (${rep.skippedPackets} not injectable)`,
        `  packets agree: ${rep.packetAgreement}/${rep.packets} (${pct(rep.packetAgreement, rep.packets)} %)`,
        `  final entries agree: ${rep.entryAgreement}/${rep.entryChecks} (${pct(rep.entryAgreement, rep.entryChecks)} %)`,
        `  disagreeing cases: ${rep.disagreeingCases.length}`,
        ...rep.packetDiffs.slice(0, 20).map((d) => `    ${d.caseName} #${d.index}: ${d.summary}: kernel ${d.kernel}, ctsim ${d.ctsim}${d.ctsimReason ? ` [${d.ctsimReason}]` : ''}`),
        ...rep.entryDiffs.slice(0, 20).map((d) => `    ${d.caseName} entry: kernel ${d.kernel}, ctsim ${d.ctsim}`),
        ...files.map((f) => `  minimised: ${f}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    process.exitCode = rep.disagreeingCases.length ? 1 : 0;
  },
};
