import type { CommandModule } from 'yargs';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { writeFileAtomic } from '../../output/index.js';
import { matrixMarkdownTable, matrixTable, parseDimension, runMatrix as runFileMatrix } from '../../scenarios/engine/matrix.js';
import { MATRIX_KERNELS, MITIGATIONS, matrixMarkdown, matrixText, runMatrix } from '../../scenarios/matrix.js';
import { UsageError } from '../errors.js';
import { overrideOptions, overridesOf, type OverrideArgs } from './run.js';

interface Args extends OverrideArgs {
  files?: string[];
  vary?: string[];
  format: string;
  json?: boolean;
  kernels?: string;
  mitigations?: string;
  out?: string;
}

export const matrixCommand: CommandModule<object, Args> = {
  command: 'matrix [files..]',
  describe: 'Run scenario files over the product of --vary dimensions and print one row per run (without files: the seed incidents across kernel releases x mitigations x INVALID-drop x sequence halves)',
  builder: (y) => overrideOptions(y
    .positional('files', { type: 'string', array: true, describe: 'scenario files' })
    .option('vary', { type: 'string', array: true, describe: 'a dimension: kernel=5.4,6.18 | sysctl=nf_conntrack_tcp_be_liberal=1,none | PATH=v1,v2 (any field, as --set takes it); repeatable, the product is run' })
    .option('format', { type: 'string', choices: ['text', 'json', 'markdown'], default: 'text' })
    .option('json', { type: 'boolean', describe: 'same as --format json' })
    .option('kernels', { type: 'string', describe: `seed matrix: comma-separated releases (default: ${MATRIX_KERNELS.join(',')})` })
    .option('mitigations', { type: 'string', describe: `seed matrix: comma-separated subset of ${MITIGATIONS.map((m) => m.id).join(',')}` })
    .option('out', { type: 'string', describe: 'also write the table to this file' })
    .example('$0 matrix --kernels 5.4,6.1.8,6.18 --format markdown', 'a Markdown table of three kernels')
    .example('$0 matrix --mitigations none,be_liberal=1 --format json', 'JSON rows')
    .example('$0 matrix scenarios/port-collision.yaml --vary kernel=5.4,6.18', 'any scenario file over a dimension')) as never,
  handler: (a) => {
    const format = a.json ? 'json' : a.format;
    const tty = process.stderr.isTTY;
    const progress = (_r: unknown, i: number, n: number) => { if (tty) process.stderr.write(`\rmatrix: ${i}/${n} runs`); };
    let text: string;
    if (a.files?.length) {
      if (a.kernels || a.mitigations) throw new UsageError('--kernels and --mitigations belong to the seed matrix; with files use --vary kernel=... and --vary sysctl=...');
      const dims = (a.vary ?? []).map(parseDimension);
      const rows = runFileMatrix(a.files, dims, overridesOf(a), progress);
      const names = dims.map((d) => d.name);
      text = format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : format === 'markdown' ? `${matrixMarkdownTable(rows, names)}\n` : `${matrixTable(rows, names)}\n`;
    } else {
      if (a.vary?.length) throw new UsageError('--vary needs scenario files: ctsim matrix FILE... --vary kernel=5.4,6.18');
      const kernels = a.kernels?.split(',').map((k) => k.trim()).filter(Boolean);
      kernels?.forEach((k) => resolveKernel(k));
      const mitigations = a.mitigations?.split(',').map((m) => m.trim()).filter(Boolean);
      for (const m of mitigations ?? []) if (!MITIGATIONS.some((x) => x.id === m)) throw new UsageError(`unknown mitigation ${m} (known: ${MITIGATIONS.map((x) => x.id).join(', ')})`);
      const rows = runMatrix({ kernels, mitigations, onRow: progress });
      text = format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : format === 'markdown' ? `${matrixMarkdown(rows)}\n` : `${matrixText(rows)}\n`;
    }
    if (tty) process.stderr.write('\n');
    if (a.out) writeFileAtomic(a.out, text);
    process.stdout.write(text);
  },
};
