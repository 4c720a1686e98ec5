// `ctsim seed` (what `npm start` runs): both seed incidents, from their shipped files
// (scenarios/half-close-leak.yaml, port-collision.yaml), on the kernels of the incident report and
// with the mitigations, writing pcaps, ladder SVGs and timelines, then the whole matrix as text,
// JSON and Markdown. The runs are the files with seed knobs as overrides (seed-knobs.ts).
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../../output/index.js';
import { writeRunFiles } from '../../scenarios/engine/report.js';
import { matrixMarkdown, matrixSummaryMarkdown, matrixText, runMatrix } from '../../scenarios/matrix.js';
import { runSeed, seedStem } from '../../scenarios/seed-run.js';
import { SEED_RUNS } from '../../scenarios/seed-runs.js';
import { seedOutcomeLines, seedTitle } from './scenario.js';

interface Args {
  'out-dir': string;
  matrix: boolean;
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed',
  describe: 'Reproduce the seed incidents from scenarios/*.yaml (pcaps, SVGs and timelines in --out-dir) and print the outcome matrix',
  builder: (y) => y
    .option('out-dir', { type: 'string', default: 'pcaps' })
    .option('matrix', { type: 'boolean', default: true, describe: 'also run the full matrix (--no-matrix to skip)' }) as never,
  handler: (a) => {
    const t0 = performance.now();
    const dir = a['out-dir'];
    const out: string[] = ['# ctsim seed: the two Istio sidecar incidents, packet by packet (scenarios/half-close-leak.yaml, scenarios/port-collision.yaml)', ''];
    for (const run of SEED_RUNS) {
      const r = runSeed(run.name, run.knobs);
      const f = writeRunFiles(r.executed.run, dir, seedStem(r.name, r.knobs, r.kernel), seedTitle(r));
      out.push(...seedOutcomeLines(r), `  -> ${f.pcap}`, `  -> ${f.svg}`, `  -> ${f.timeline}`, '');
    }
    process.stdout.write(`${out.join('\n')}\n`);
    if (a.matrix) {
      const rows = runMatrix();
      const text = matrixText(rows);
      writeFileAtomic(join(dir, 'matrix.json'), `${JSON.stringify(rows, null, 2)}\n`);
      writeFileAtomic(join(dir, 'matrix.md'), `${matrixMarkdown(rows)}\n`);
      writeFileAtomic(join(dir, 'matrix-summary.md'), `${matrixSummaryMarkdown(rows)}\n`);
      writeFileAtomic(join(dir, 'matrix.txt'), `${text}\n`);
      process.stdout.write(`${text}\n\nwrote ${join(dir, 'matrix.json')}, matrix.md, matrix-summary.md (the README's table), matrix.txt (${rows.length} runs)\n`);
    }
    process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s wall time\n`);
  },
};
