// `ctsim run FILE`: a scenario file on the simulator. Writes the pcapng (a verdict comment on every
// packet), the ladder SVG and the timeline; prints the outcome and the expectations (--json: one
// JSON document); exit status 1 when an expectation fails, 2 for a bad file or argument.
import type { Argv, CommandModule } from 'yargs';
import { ExpectationFailed, executeScenario } from '../../scenarios/engine/execute.js';
import { outcomeLines, runJson, runStem, timelineText, writeRunFiles } from '../../scenarios/engine/report.js';
import { loadScenarioFile } from '../../scenarios/file/load.js';
import type { LoadOverrides } from '../../scenarios/file/overrides.js';
import { runReport } from '../../report/index.js';
import { reportMeta, writeHtmlReport } from '../report-file.js';

export interface OverrideArgs {
  kernel?: string;
  sysctl?: string[];
  set?: string[];
}

/** --kernel, --sysctl, --set: shared by run, matrix and kernel-diff --scenario. */
export function overrideOptions<T>(y: Argv<T>): Argv<T & OverrideArgs> {
  return y
    .option('kernel', { type: 'string', describe: 'kernel profile of every host (e.g. 5.4, sles-15-sp4, 6.1.8, 6.18)' })
    .option('sysctl', { type: 'string', array: true, describe: 'net.netfilter.* / net.ipv4.* setting [HOST:]NAME=VALUE for every host or one (repeatable)' })
    .option('set', { type: 'string', array: true, describe: 'override any field of the file: PATH=VALUE, e.g. duration=10s, processes.app.timeline[3].at=95s, hosts.pod.sysctls[net.ipv4.tcp_fin_timeout]=30 (repeatable)' }) as Argv<T & OverrideArgs>;
}

export function overridesOf(a: OverrideArgs): LoadOverrides {
  return { kernel: a.kernel, sysctls: a.sysctl ?? [], set: a.set ?? [] };
}

interface Args extends OverrideArgs {
  file: string;
  'out-dir': string;
  json?: boolean;
  files: boolean;
  stem?: string;
  timeline?: boolean;
  html?: string;
}

export const runCommand: CommandModule<object, Args> = {
  command: 'run <file>',
  describe: 'Run a scenario file (docs/scenario-format.md): write its pcapng, ladder SVG and timeline; print the outcome; exit 1 when an expectation fails',
  builder: (y) => overrideOptions(y
    .positional('file', { type: 'string', demandOption: true, describe: 'the scenario (YAML or JSON)' })
    .option('out-dir', { type: 'string', default: 'pcaps', describe: 'where the .pcapng, .svg and .timeline.txt go' })
    .option('stem', { type: 'string', describe: 'file name stem of the outputs (default: the scenario name and the overrides)' })
    .option('files', { type: 'boolean', default: true, describe: 'write the files (--no-files to skip)' })
    .option('timeline', { type: 'boolean', default: false, describe: 'also print the timeline' })
    .option('json', { type: 'boolean', describe: 'print one JSON document (outcome, expectations, program events, snapshots)' })
    .option('html', { type: 'string', describe: 'also write a self-contained HTML report (ladder, every packet and its verdict, outcome, timeline)' })) as never,
  handler: (a) => {
    const o = overridesOf(a);
    const spec = loadScenarioFile(a.file, o);
    const x = executeScenario(spec);
    const files = a.files ? writeRunFiles(x.run, a['out-dir'], a.stem ?? runStem(spec.name, o)) : null;
    if (a.html !== undefined) writeHtmlReport(a.html, runReport(x, `${spec.name} on ${[...new Set(Object.values(x.run.kernels))].join(', ')}`, reportMeta(Object.values(x.run.kernels)[0] ?? '6.18')), [a.file]);
    if (a.json) process.stdout.write(`${JSON.stringify(runJson(x.run, x.outcome, x.results, files), null, 2)}\n`);
    else {
      const out: string[] = [`# ctsim run ${a.file}`];
      if (a.timeline) out.push(timelineText(x.run));
      out.push(...outcomeLines(x.run, x.outcome, x.results));
      if (files) out.push('', `wrote ${files.pcap}`, `wrote ${files.svg}`, `wrote ${files.timeline}`);
      process.stdout.write(`${out.join('\n')}\n`);
    }
    const failed = x.results.filter((r) => r.pass === false);
    if (failed.length) throw new ExpectationFailed(`${failed.length} of ${x.results.length} expectations failed: ${failed.map((r) => `${r.text} (${r.actual})`).join('; ')}`);
  },
};
