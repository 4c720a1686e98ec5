// `ctsim seed` (what `npm start` runs): both seed incidents on the kernels of the incident report
// and on a fixed kernel, with and without the sysctl, writing pcaps and ladder SVGs, then the
// whole matrix as text, JSON and Markdown.
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../../output/index.js';
import type { CommandModule } from 'yargs';
import { writeArtifacts } from '../../scenarios/artifacts.js';
import { runIncident } from '../../scenarios/incidents.js';
import { matrixMarkdown, matrixSummaryMarkdown, matrixText, runMatrix } from '../../scenarios/matrix.js';
import { DEFAULT_OPTIONS } from '../../scenarios/scenario-types.js';
import { SEED_RUNS } from '../../scenarios/seed-runs.js';
import { outcomeLines } from './scenario.js';

interface Args {
  'out-dir': string;
  matrix: boolean;
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed',
  describe: 'Reproduce the seed incidents (pcaps + SVGs in --out-dir) and print the outcome matrix',
  builder: (y) => y
    .option('out-dir', { type: 'string', default: 'pcaps' })
    .option('matrix', { type: 'boolean', default: true, describe: 'also run the full matrix (--no-matrix to skip)' }) as never,
  handler: (a) => {
    const t0 = performance.now();
    const dir = a['out-dir'];
    ensureDirectory(dir);
    const out: string[] = ['# ctsim seed: the two Istio sidecar incidents, packet by packet', ''];
    for (const run of SEED_RUNS) {
      const r = runIncident(run.name, { ...DEFAULT_OPTIONS, ...run.o });
      const f = writeArtifacts(r, dir);
      out.push(...outcomeLines(r), `  -> ${f.pcap}`, `  -> ${f.svg}`, '');
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (a.matrix) {
      const rows = runMatrix();
      writeFileAtomic(join(dir, 'matrix.json'), `${JSON.stringify(rows, null, 2)}\n`);
      writeFileAtomic(join(dir, 'matrix.md'), `${matrixMarkdown(rows)}\n`);
      writeFileAtomic(join(dir, 'matrix-summary.md'), `${matrixSummaryMarkdown(rows)}\n`);
      const text = matrixText(rows);
      writeFileAtomic(join(dir, 'matrix.txt'), `${text}\n`);
      process.stdout.write(`${text}\n\nwrote ${join(dir, 'matrix.json')}, matrix.md, matrix-summary.md (the README's table), matrix.txt (${rows.length} runs)\n`);
    }
    process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s wall time\n`);
  },
};
