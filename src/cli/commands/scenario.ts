import type { CommandModule } from 'yargs';
import { runIncident } from '../../scenarios/incidents.js';
import { writeArtifacts } from '../../scenarios/artifacts.js';
import { reconnectText } from '../../scenarios/outcome-text.js';
import { SCENARIO_NAMES, type ScenarioName, type ScenarioResult } from '../../scenarios/scenario-types.js';
import { timelineJson } from '../../scenarios/timeline-json.js';
import { formatSnapshot, formatTimeline } from '../../scenarios/timeline-text.js';
import { scenarioOptionsBuilder, toScenarioOptions, type ScenarioArgs } from './scenario-options.js';

interface Args extends ScenarioArgs {
  name: string;
  'out-dir': string;
  json?: boolean;
  files?: boolean;
}

export function outcomeLines(r: ScenarioResult): string[] {
  const o = r.outcome;
  const lines = [
    `outcome (${r.name} on ${r.options.kernel}${r.options.sysctls.length ? `, ${r.options.sysctls.join(' ')}` : ''}${r.options.invalidDrop ? `, INVALID drop in ${r.options.invalidDrop}` : ''}):`,
    `  app FIN reached the sidecar: ${o.appFinReachedSidecar ? 'yes' : 'no'}`,
    `  sidecar sockets leaked for: ${o.leakSeconds.toFixed(1)} s after the app closed${o.sidecarClosedAtSec !== null ? ` (sidecar closed them at ${o.sidecarClosedAtSec.toFixed(3)} s)` : ''}`,
  ];
  if (r.name === 'port-collision') {
    const isn = o.rstSeq ? `; the RST's seq lies ${o.rstSeq === 'after-syn' ? 'after' : 'before'} the new SYN's ISN${o.reconnectElapsedSec !== null ? ` (connect() ${o.reconnectElapsedSec.toFixed(3)} s after the first)` : ''}` : '';
    lines.push(`  reconnect from port ${o.port}${o.ephemeralConnects > 1 ? ` (found after ${o.ephemeralConnects} connects)` : ''}: ${reconnectText(o)}, ${o.synsSent} SYN(s) sent${isn}`);
  }
  lines.push(`  conntrack INVALID verdicts in the pod: ${o.invalidPackets}; packets dropped: ${o.droppedPackets}`);
  return lines;
}

export const scenarioCommand: CommandModule<object, Args> = {
  command: 'scenario <name>',
  describe: `Run a seed incident (${SCENARIO_NAMES.join(', ')}) packet by packet; write its pcapng and ladder SVG, print the timeline`,
  builder: (y) => scenarioOptionsBuilder(y
    .positional('name', { type: 'string', choices: SCENARIO_NAMES as string[], demandOption: true })
    .option('out-dir', { type: 'string', default: 'pcaps', describe: 'where the .pcapng and .svg go' })
    .option('json', { type: 'boolean', describe: 'print a JSON document instead of text' })
    .option('files', { type: 'boolean', default: true, describe: 'write the pcapng and SVG (--no-files to skip)' })) as never,
  handler: (a) => {
    const opts = toScenarioOptions(a);
    const r = runIncident(a.name as ScenarioName, opts);
    const files = a.files ? writeArtifacts(r, a['out-dir']) : null;
    if (a.json) {
      process.stdout.write(`${JSON.stringify({
        name: r.name, options: r.options, outcome: r.outcome, files,
        timeline: r.timeline.map(timelineJson),
        snapshots: r.snapshots.map((s) => ({ label: s.label, time: s.timeNs / 1e9, ss: s.ss, conntrack: s.conntrack })),
      }, null, 2)}\n`);
      return;
    }
    const out: string[] = [`# ctsim scenario ${r.name} --kernel ${opts.kernel}`, ...formatTimeline(r.timeline), '', ...r.snapshots.flatMap(formatSnapshot), '', ...outcomeLines(r)];
    if (files) out.push('', `wrote ${files.pcap}`, `wrote ${files.svg}`);
    process.stdout.write(`${out.join('\n')}\n`);
  },
};
