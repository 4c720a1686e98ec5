// `ctsim seed` (what `npm start` runs): both seed incidents from their shipped files
// (scenarios/half-close-leak.yaml, port-collision.yaml) on the kernels of the incident report and
// on fixed ones, with and without each mitigation (seed knobs as overrides, seed-knobs.ts), writing
// a pcapng, a ladder SVG and a timeline per run; then the whole matrix into pcaps/matrix.{md,txt,json}.
// It prints one screen: a line per run, the matrix as one row per kernel, and the findings.
import { basename, join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../../output/index.js';
import type { CommandModule } from 'yargs';
import { writeRunFiles } from '../../scenarios/engine/report.js';
import { matrixFindings, matrixMarkdown, matrixSummary, matrixSummaryMarkdown, matrixText, runMatrix, type MatrixFinding, type MatrixRow } from '../../scenarios/matrix.js';
import { runSeed, seedStem, seedTitle, type SeedRun } from '../../scenarios/seed-run.js';
import { SEED_RUNS } from '../../scenarios/seed-runs.js';
import { stdoutPaint, type Paint } from '../colour.js';
import { seedOutcomeLines } from './scenario.js';

interface Args {
  'out-dir': string;
  matrix: boolean;
  verbose?: boolean;
}

/** One line per run: what the user of the pod saw. */
function runLine(r: SeedRun, p: Paint): string {
  const o = r.outcome;
  let what: string;
  if (r.name === 'half-close-leak') {
    what = o.appFinReachedSidecar ? p.green('FIN reached the sidecar: no leak') : o.leakSeconds > 0 ? p.red(`FIN lost: sidecar sockets leaked ${o.leakSeconds.toFixed(0)} s`) : p.yellow('FIN lost, no leak (sidecar closed first)');
  } else {
    const t = `${o.connect}${o.connectSeconds !== null ? ` after ${o.connectSeconds.toFixed(3)} s` : ''}`;
    what = `${o.connect !== 'connected' ? p.red(t) : (o.connectSeconds ?? 0) >= 10 ? p.yellow(t) : p.green(t)} (${o.synsSent} SYN${o.synsSent === 1 ? '' : 's'})`;
  }
  return `  ${seedTitle(r).replace(/^[a-z-]+ on /, '').padEnd(40)} ${what}${o.invalidPackets ? `, ${o.invalidPackets} INVALID` : ''}${o.droppedPackets ? `, ${o.droppedPackets} dropped` : ''}`;
}

function findingLines(f: MatrixFinding, rows: readonly MatrixRow[], p: Paint): string[] {
  switch (f.id) {
    case 'collision-timeout':
      return [`* connect() times out (${p.red(`ETIMEDOUT after ${f.seconds[0].toFixed(3)} s`)}) on ${f.kernels.join(', ')}, when the RST's seq falls after the new SYN's (about half of all ISNs).`];
    case 'close-wait-time-wait-stall': {
      const cured = rows.filter((r) => r.incident === 'half-close-leak' && r.mitigation === 'close_wait=3700').every((r) => r.leakSeconds === 0);
      return [
        `* close_wait=3700 ${cured ? 'stops the leak on every kernel' : 'stops the leak'}, but on ${f.kernels.join(', ')} the reconnect still ${p.yellow(`stalls ${Math.max(...f.seconds).toFixed(3)} s`)}:`,
        "  the app's FIN now reaches the sidecar, whose socket waits in TIME_WAIT (60 s); it answers the new SYN with an ACK,",
        "  the app's RST to that ACK is INVALID on these kernels, and every SYN fails until TIME_WAIT ends.",
      ];
    }
  }
}

export const seedCommand: CommandModule<object, Args> = {
  command: 'seed',
  describe: 'Reproduce the seed incidents (a pcapng + ladder SVG per run in --out-dir), run the outcome matrix, print a one-screen summary',
  builder: (y) => y
    .option('out-dir', { type: 'string', default: 'pcaps' })
    .option('matrix', { type: 'boolean', default: true, describe: 'also run the full matrix (--no-matrix to skip)' })
    .option('verbose', { type: 'boolean', describe: 'print every run\'s outcome block and the whole matrix' })
    .example('$0 seed', 'what npm start runs: pcaps/*.pcapng, *.svg, matrix.md')
    .example('$0 seed --no-matrix --out-dir /tmp/seed', 'only the seed runs, elsewhere') as never,
  handler: (a) => {
    const t0 = performance.now();
    const dir = a['out-dir'];
    const p = stdoutPaint();
    ensureDirectory(dir);
    const out: string[] = [p.bold('# ctsim seed: the two Istio sidecar incidents, packet by packet'), ''];
    const results = SEED_RUNS.map((run) => {
      const r = runSeed(run.name, run.knobs);
      writeRunFiles(r.executed.run, dir, seedStem(r.name, r.knobs, r.kernel), seedTitle(r));
      return r;
    });
    for (const [name, title] of [['half-close-leak', "Incident 1, half-close leak: conntrack's CLOSE_WAIT timeout forgets the REDIRECT; the app's late FIN misses the sidecar"], ['port-collision', 'Incident 2, port collision: the app reuses its port; the SYN meets the leaked sidecar socket']] as const) {
      out.push(title);
      for (const r of results.filter((x) => x.name === name)) out.push(runLine(r, p));
    }
    out.push(`  (${results.length} runs: ${basename(dir)}/<run>.pcapng with a ladder .svg and a .timeline.txt next to each; \`ctsim scenario NAME --html report.html\` for one run's report)`);
    if (a.verbose) for (const r of results) out.push('', ...seedOutcomeLines(r, p));
    process.stdout.write(`${out.join('\n')}\n`);
    if (a.matrix) {
      const rows = runMatrix();
      const text = matrixText(rows);
      writeFileAtomic(join(dir, 'matrix.json'), `${JSON.stringify(rows, null, 2)}\n`);
      writeFileAtomic(join(dir, 'matrix.md'), `${matrixMarkdown(rows)}\n`);
      writeFileAtomic(join(dir, 'matrix-summary.md'), `${matrixSummaryMarkdown(rows)}\n`);
      writeFileAtomic(join(dir, 'matrix.txt'), `${text}\n`);
      const s = matrixSummary(rows);
      const w = s.head.map((h, i) => Math.max(h.length, ...s.rows.map((r) => r[i].length)));
      const cell = (c: string, i: number) => {
        const padded = c.padEnd(w[i]);
        return /ETIMEDOUT|EADDRNOTAVAIL/.test(c) || c.startsWith('leak ') ? p.red(padded) : /^connected( after)? [1-9]\d\.\d/.test(c) ? p.yellow(padded) : padded;
      };
      const lines = [
        '',
        p.bold(`Matrix: ${rows.length} runs (kernels x mitigations x INVALID drop placement x reconnect time); every run in ${join(dir, 'matrix.md')}, this table in matrix-summary.md`),
        s.head.map((h, i) => h.padEnd(w[i])).join('  ').trimEnd(),
        ...s.rows.map((r) => r.map(cell).join('  ').trimEnd()),
        '',
        ...matrixFindings(rows).flatMap((f) => findingLines(f, rows, p)),
      ];
      if (a.verbose) lines.push('', text);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s wall time\n`);
  },
};
