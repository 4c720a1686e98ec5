// `ctsim scenario NAME`: a shipped scenario file (scenarios/NAME.yaml) by name, with --kernel,
// --sysctl and --set as for `ctsim run`. The seed incidents also take their knobs
// (--reconnect-at, --invalid-drop, ...: overrides of the file, seed-knobs.ts) and print their
// outcome (FIN reached or not, leak, reconnect); every other file prints the generic outcome.
import type { CommandModule } from 'yargs';
import { ExpectationFailed } from '../../scenarios/engine/execute.js';
import { outcomeLines as runOutcomeLines, runJson, runStem, writeRunFiles } from '../../scenarios/engine/report.js';
import { executeScenario } from '../../scenarios/engine/execute.js';
import { loadScenarioFile } from '../../scenarios/file/load.js';
import { scenarioPath, shippedScenarioNames } from '../../scenarios/file/shipped.js';
import { reconnectText } from '../../scenarios/outcome-text.js';
import { SEED_NAMES, type SeedName } from '../../scenarios/seed-knobs.js';
import { runSeed, seedStem, seedTitle, type SeedRun } from '../../scenarios/seed-run.js';
import { runReport, seedReport } from '../../report/index.js';
import { paint, stdoutPaint, type Paint } from '../colour.js';
import { reportMeta, writeHtmlReport } from '../report-file.js';
import { timelineJson } from '../../scenarios/timeline-json.js';
import { formatSnapshot, formatTimeline } from '../../scenarios/timeline-text.js';
import { UsageError } from '../errors.js';
import { overrideOptions, overridesOf, type OverrideArgs } from './run.js';
import { SEED_OPTIONS, seedOptionsBuilder, toSeedKnobs, type SeedArgs } from './scenario-options.js';

interface Args extends OverrideArgs, SeedArgs {
  name: string;
  'out-dir': string;
  json?: boolean;
  files?: boolean;
  html?: string;
}

export { seedTitle };

export function seedOutcomeLines(r: SeedRun, p: Paint = paint(false)): string[] {
  const o = r.outcome;
  const lines = [
    `outcome (${seedTitle(r)}):`,
    `  app FIN reached the sidecar: ${o.appFinReachedSidecar ? p.green('yes') : p.red('no')}`,
    `  sidecar sockets leaked for: ${o.leakSeconds > 0 ? p.red(`${o.leakSeconds.toFixed(1)} s`) : '0 s (no leak)'} after the app closed${o.sidecarClosedAtSec !== null ? ` (sidecar closed them at ${o.sidecarClosedAtSec.toFixed(3)} s)` : ''}`,
  ];
  if (r.name === 'port-collision') {
    const isn = o.rstSeq ? `; the RST's seq lies ${o.rstSeq === 'after-syn' ? 'after' : 'before'} the new SYN's ISN${o.reconnectElapsedSec !== null ? ` (connect() ${o.reconnectElapsedSec.toFixed(3)} s after the first)` : ''}` : '';
    const result = reconnectText(o);
    lines.push(`  reconnect from port ${o.port}${o.ephemeralConnects > 1 ? ` (found after ${o.ephemeralConnects} connects)` : ''}: ${o.connect === 'connected' ? p.green(result) : p.red(result)}, ${o.synsSent} SYN(s) sent${isn}`);
  }
  lines.push(`  conntrack INVALID verdicts in the pod: ${o.invalidPackets ? p.red(String(o.invalidPackets)) : 0}; packets dropped: ${o.droppedPackets}`);
  const results = r.executed.results;
  if (results.length) {
    lines.push('expectations (the file\'s):');
    for (const x of results) lines.push(`  ${x.pass === null ? 'n/a ' : x.pass ? p.green('ok  ') : p.red('FAIL')} ${x.text}: ${x.actual}`);
  }
  return lines;
}

export const scenarioCommand: CommandModule<object, Args> = {
  command: 'scenario <name>',
  describe: 'Run a shipped scenario (scenarios/NAME.yaml: half-close-leak, port-collision, kube-proxy-reset, ...) packet by packet; write its pcapng, ladder SVG and timeline, print the timeline and the outcome',
  builder: (y) => seedOptionsBuilder(overrideOptions(y
    .positional('name', { type: 'string', demandOption: true, describe: `one of: ${shippedScenarioNames().join(', ')}` })
    .option('out-dir', { type: 'string', default: 'pcaps', describe: 'where the .pcapng, .svg and .timeline.txt go' })
    .option('json', { type: 'boolean', describe: 'print a JSON document instead of text' })
    .option('files', { type: 'boolean', default: true, describe: 'write the files (--no-files to skip)' })
    .option('html', { type: 'string', describe: 'also write a self-contained HTML report (ladder, every packet and its verdict, outcome, timeline)' }))
    .example('$0 scenario port-collision --kernel sles-15-sp4', 'ETIMEDOUT after 126.008 s')
    .example('$0 scenario half-close-leak --sysctl net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700', 'the mitigation')
    .example('$0 scenario port-collision --kernel 6.1.8 --html report.html', 'ladder, packets and outcome in one HTML file')) as never,
  handler: (a) => {
    if (!shippedScenarioNames().includes(a.name)) throw new UsageError(`no shipped scenario "${a.name}" (shipped: ${shippedScenarioNames().join(', ')}); run your own file with ctsim run FILE`);
    if (!SEED_NAMES.includes(a.name as SeedName)) {
      const given = SEED_OPTIONS.filter((o) => a[o] !== undefined);
      if (given.length) throw new UsageError(`--${given.join(', --')}: a knob of the seed incidents only; for ${a.name} use --set PATH=VALUE`);
      return runShipped(a);
    }
    const o = overridesOf(a);
    // --kernel and --sysctl apply as for any file (--sysctl NAME=V to every host, or pod:NAME=V).
    const knobs = { ...toSeedKnobs(a), kernel: a.kernel, sysctls: a.sysctl };
    const r = runSeed(a.name as SeedName, { ...knobs, sysctls: undefined }, o);
    r.knobs = knobs;
    const run = r.executed.run;
    const files = a.files ? writeRunFiles(run, a['out-dir'], seedStem(r.name, r.knobs, r.kernel) + (o.set?.length ? `-${runStem('set', o).slice(4)}` : ''), seedTitle(r)) : null;
    if (a.html !== undefined) writeHtmlReport(a.html, seedReport(r, reportMeta(r.kernel)));
    if (a.json) {
      process.stdout.write(`${JSON.stringify({
        name: r.name, file: run.spec.file, kernel: r.kernel, knobs: r.knobs, set: o.set, outcome: r.outcome, expectations: r.executed.results, files,
        timeline: run.timeline.map(timelineJson),
        snapshots: run.snapshots.map((s) => ({ label: s.label, time: s.timeNs / 1e9, ss: s.ss, conntrack: s.conntrack })),
      }, null, 2)}\n`);
    } else {
      const out: string[] = [`# ctsim scenario ${r.name} --kernel ${r.kernel} (${run.spec.file})`, ...formatTimeline(run.timeline), '', ...run.snapshots.flatMap(formatSnapshot), '', ...seedOutcomeLines(r, stdoutPaint())];
      if (files) out.push('', `wrote ${files.pcap}`, `wrote ${files.svg}`, `wrote ${files.timeline}`);
      process.stdout.write(`${out.join('\n')}\n`);
    }
    const failed = r.executed.results.filter((x) => x.pass === false);
    if (failed.length) throw new ExpectationFailed(`${failed.length} of ${r.executed.results.length} expectations failed: ${failed.map((x) => `${x.text} (${x.actual})`).join('; ')}`);
  },
};

/** Any other shipped file: as `ctsim run scenarios/NAME.yaml`. */
function runShipped(a: Args): void {
  const o = overridesOf(a);
  const spec = loadScenarioFile(scenarioPath(a.name), o);
  const x = executeScenario(spec, { application: `ctsim scenario ${a.name}` });
  const files = a.files ? writeRunFiles(x.run, a['out-dir'], runStem(spec.name, o)) : null;
  if (a.html !== undefined) writeHtmlReport(a.html, runReport(x, `${spec.name} on ${[...new Set(Object.values(x.run.kernels))].join(', ')}`, reportMeta(Object.values(x.run.kernels)[0] ?? '6.18')));
  if (a.json) process.stdout.write(`${JSON.stringify(runJson(x.run, x.outcome, x.results, files), null, 2)}\n`);
  else {
    const out = [`# ctsim scenario ${a.name} (${spec.file})`, ...formatTimeline(x.run.timeline), '', ...x.run.snapshots.flatMap(formatSnapshot), '', ...runOutcomeLines(x.run, x.outcome, x.results)];
    if (files) out.push('', `wrote ${files.pcap}`, `wrote ${files.svg}`, `wrote ${files.timeline}`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
  const failed = x.results.filter((r) => r.pass === false);
  if (failed.length) throw new ExpectationFailed(`${failed.length} of ${x.results.length} expectations failed: ${failed.map((r) => `${r.text} (${r.actual})`).join('; ')}`);
}

