// `ctsim seed` (what `npm start` runs): both seed incidents on the kernels of the incident report
// and on a fixed kernel, with and without the sysctl, writing pcaps and ladder SVGs, then the
// whole matrix as text, JSON and Markdown.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { writeArtifacts } from '../../scenarios/artifacts.js';
import { runIncident } from '../../scenarios/incidents.js';
import { matrixMarkdown, matrixSummaryMarkdown, matrixText, runMatrix } from '../../scenarios/matrix.js';
import { DEFAULT_OPTIONS, type ScenarioName, type ScenarioOptions } from '../../scenarios/scenario-types.js';
import { outcomeLines } from './scenario.js';

interface Args {
  'out-dir': string;
  matrix: boolean;
}

export const SEED_RUNS: Array<{ name: ScenarioName; o: Partial<ScenarioOptions> }> = [
  { name: 'half-close-leak', o: { kernel: 'sles-15-sp4' } },
  { name: 'half-close-leak', o: { kernel: 'sles-15-sp4', sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700'] } },
  // Reconnect 120 s after the first connect: the ISN clock puts the new SYN after the old sequence space.
  { name: 'port-collision', o: { kernel: 'sles-15-sp4' } },
  // 200 s after: the other half of the 274.9 s ISN cycle, where the affected kernels time out.
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] } },
  { name: 'port-collision', o: { kernel: 'ubuntu-20.04', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.1.8', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.1.9', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.18', reconnectAtSec: 200 } },
  // Istio's INVALID drop: the app's old socket stays in LAST_ACK owning the 4-tuple: EADDRNOTAVAIL.
  { name: 'port-collision', o: { kernel: '6.18', invalidDrop: 'mangle-prerouting' } },
  { name: 'port-collision', o: { kernel: '6.18', invalidDrop: 'filter-output' } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', invalidDrop: 'mangle-prerouting', reconnectAtSec: 200 } },
];

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed',
  describe: 'Reproduce the seed incidents (pcaps + SVGs in --out-dir) and print the outcome matrix',
  builder: (y) => y
    .option('out-dir', { type: 'string', default: 'pcaps' })
    .option('matrix', { type: 'boolean', default: true, describe: 'also run the full matrix (--no-matrix to skip)' }) as never,
  handler: (a) => {
    const t0 = performance.now();
    const dir = a['out-dir'];
    mkdirSync(dir, { recursive: true });
    const out: string[] = ['# ctsim seed: the two Istio sidecar incidents, packet by packet', ''];
    for (const run of SEED_RUNS) {
      const r = runIncident(run.name, { ...DEFAULT_OPTIONS, ...run.o });
      const f = writeArtifacts(r, dir);
      out.push(...outcomeLines(r), `  -> ${f.pcap}`, `  -> ${f.svg}`, '');
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (a.matrix) {
      const rows = runMatrix();
      writeFileSync(join(dir, 'matrix.json'), `${JSON.stringify(rows, null, 2)}\n`);
      writeFileSync(join(dir, 'matrix.md'), `${matrixMarkdown(rows)}\n`);
      writeFileSync(join(dir, 'matrix-summary.md'), `${matrixSummaryMarkdown(rows)}\n`);
      const text = matrixText(rows);
      writeFileSync(join(dir, 'matrix.txt'), `${text}\n`);
      process.stdout.write(`${text}\n\nwrote ${join(dir, 'matrix.json')}, matrix.md, matrix-summary.md (the README's table), matrix.txt (${rows.length} runs)\n`);
    }
    process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s wall time\n`);
  },
};
