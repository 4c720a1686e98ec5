import { writeFileAtomic } from '../../output/index.js';
import type { CommandModule } from 'yargs';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { MATRIX_KERNELS, MITIGATIONS, matrixMarkdown, matrixText, runMatrix } from '../../scenarios/matrix.js';
import { UsageError } from '../errors.js';

interface Args {
  format: string;
  kernels?: string;
  mitigations?: string;
  out?: string;
}

export const matrixCommand: CommandModule<object, Args> = {
  command: 'matrix',
  describe: 'Run both incidents across kernel releases x mitigations x INVALID-drop x sequence halves; print the outcome table',
  builder: (y) => y
    .option('format', { type: 'string', choices: ['text', 'json', 'markdown'], default: 'text' })
    .option('kernels', { type: 'string', describe: `comma-separated releases (default: ${MATRIX_KERNELS.join(',')})` })
    .option('mitigations', { type: 'string', describe: `comma-separated subset of ${MITIGATIONS.map((m) => m.id).join(',')}` })
    .option('out', { type: 'string', describe: 'also write the table to this file' })
    .example('$0 matrix --kernels 5.4,6.1.8,6.18 --format markdown', 'a Markdown table of three kernels')
    .example('$0 matrix --mitigations none,be_liberal=1 --format json', 'JSON rows') as never,
  handler: (a) => {
    const kernels = a.kernels?.split(',').map((k) => k.trim()).filter(Boolean);
    kernels?.forEach((k) => resolveKernel(k));
    const mitigations = a.mitigations?.split(',').map((m) => m.trim()).filter(Boolean);
    for (const m of mitigations ?? []) if (!MITIGATIONS.some((x) => x.id === m)) throw new UsageError(`unknown mitigation ${m} (known: ${MITIGATIONS.map((x) => x.id).join(', ')})`);
    const tty = process.stderr.isTTY;
    const rows = runMatrix({ kernels, mitigations, onRow: (_r, i, n) => { if (tty) process.stderr.write(`\rmatrix: ${i}/${n} runs`); } });
    if (tty) process.stderr.write('\n');
    const text = a.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : a.format === 'markdown' ? `${matrixMarkdown(rows)}\n` : `${matrixText(rows)}\n`;
    process.stdout.write(text);
    if (a.out) writeFileAtomic(a.out, text);
  },
};
