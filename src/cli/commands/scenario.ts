import type { CommandModule } from 'yargs';
import { runIncident } from '../../scenarios/incidents.js';
import { runTitle, writeArtifacts } from '../../scenarios/artifacts.js';
import { reconnectText } from '../../scenarios/outcome-text.js';
import { paint, stdoutPaint, type Paint } from '../colour.js';
import { SCENARIO_NAMES, type ScenarioName, type ScenarioResult } from '../../scenarios/scenario-types.js';
import { timelineJson } from '../../scenarios/timeline-json.js';
import { formatSnapshot, formatTimeline } from '../../scenarios/timeline-text.js';
import { resolveKernel } from '../../conntrack/index.js';
import { reportProfile, scenarioReport } from '../../report/index.js';
import { commandLine } from '../command-line.js';
import { writeHtmlReport } from '../report-file.js';
import { packageVersion } from '../version.js';
import { scenarioOptionsBuilder, toScenarioOptions, type ScenarioArgs } from './scenario-options.js';

interface Args extends ScenarioArgs {
  name: string;
  'out-dir': string;
  json?: boolean;
  files?: boolean;
  html?: string;
}

export function outcomeLines(r: ScenarioResult, p: Paint = paint(false)): string[] {
  const o = r.outcome;
  const lines = [
    `outcome (${runTitle(r)}):`,
    `  app FIN reached the sidecar: ${o.appFinReachedSidecar ? p.green('yes') : p.red('no')}`,
    `  sidecar sockets leaked for: ${o.leakSeconds > 0 ? p.red(`${o.leakSeconds.toFixed(1)} s`) : '0 s (no leak)'} after the app closed${o.sidecarClosedAtSec !== null ? ` (sidecar closed them at ${o.sidecarClosedAtSec.toFixed(3)} s)` : ''}`,
  ];
  if (r.name === 'port-collision') {
    const isn = o.rstSeq ? `; the RST's seq lies ${o.rstSeq === 'after-syn' ? 'after' : 'before'} the new SYN's ISN${o.reconnectElapsedSec !== null ? ` (connect() ${o.reconnectElapsedSec.toFixed(3)} s after the first)` : ''}` : '';
    const result = reconnectText(o);
    lines.push(`  reconnect from port ${o.port}${o.ephemeralConnects > 1 ? ` (found after ${o.ephemeralConnects} connects)` : ''}: ${o.connect === 'connected' ? p.green(result) : p.red(result)}, ${o.synsSent} SYN(s) sent${isn}`);
  }
  lines.push(`  conntrack INVALID verdicts in the pod: ${o.invalidPackets ? p.red(String(o.invalidPackets)) : 0}; packets dropped: ${o.droppedPackets}`);
  return lines;
}

export const scenarioCommand: CommandModule<object, Args> = {
  command: 'scenario <name>',
  describe: `Run a seed incident (${SCENARIO_NAMES.join(', ')}) packet by packet; write its pcapng and ladder SVG, print the timeline`,
  builder: (y) => scenarioOptionsBuilder(y
    .positional('name', { type: 'string', choices: SCENARIO_NAMES as string[], demandOption: true })
    .option('out-dir', { type: 'string', default: 'pcaps', describe: 'where the .pcapng and .svg go' })
    .option('json', { type: 'boolean', describe: 'print a JSON document instead of text' })
    .option('files', { type: 'boolean', default: true, describe: 'write the pcapng and SVG (--no-files to skip)' })
    .option('html', { type: 'string', describe: 'also write a self-contained HTML report (ladder, every packet and its verdict, outcome, timeline)' }))
    .example('$0 scenario port-collision --kernel sles-15-sp4', 'ETIMEDOUT after 126.008 s')
    .example('$0 scenario half-close-leak --sysctl net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700', 'the mitigation')
    .example('$0 scenario port-collision --kernel 6.1.8 --html report.html', 'ladder, packets and outcome in one HTML file') as never,
  handler: (a) => {
    const opts = toScenarioOptions(a);
    const r = runIncident(a.name as ScenarioName, opts);
    const files = a.files ? writeArtifacts(r, a['out-dir']) : null;
    if (a.html !== undefined) {
      writeHtmlReport(a.html, scenarioReport(r, { command: commandLine(), version: packageVersion(), profile: reportProfile(resolveKernel(opts.kernel).name, opts.kernel) }));
    }
    if (a.json) {
      process.stdout.write(`${JSON.stringify({
        name: r.name, options: r.options, outcome: r.outcome, files,
        timeline: r.timeline.map(timelineJson),
        snapshots: r.snapshots.map((s) => ({ label: s.label, time: s.timeNs / 1e9, ss: s.ss, conntrack: s.conntrack })),
      }, null, 2)}\n`);
      return;
    }
    const out: string[] = [`# ctsim scenario ${r.name} --kernel ${opts.kernel}`, ...formatTimeline(r.timeline), '', ...r.snapshots.flatMap(formatSnapshot), '', ...outcomeLines(r, stdoutPaint())];
    if (files) out.push('', `wrote ${files.pcap}`, `wrote ${files.svg}`);
    process.stdout.write(`${out.join('\n')}\n`);
  },
};
