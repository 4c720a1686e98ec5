// A run for people and for programs: the outcome as text lines and as a JSON document, and the
// files a run leaves (pcapng with verdict comments, ladder SVG, timeline text), written atomically.
import { isAbsolute, join, relative } from 'node:path';
import { writeFileAtomic } from '../../output/index.js';
import { formatTimeline } from '../timeline-text.js';
import { runLadder } from './ladder.js';
import type { ExpectationResult, ScenarioOutcome } from './outcome.js';
import type { ScenarioRun } from './run.js';

const secs = (ns: number) => (ns / 1e9).toFixed(3);

/** The outcome block: per app its connects, FINs, errors and bytes; proxies; counters; expectations. */
export function outcomeLines(run: ScenarioRun, o: ScenarioOutcome, results: ExpectationResult[]): string[] {
  const kernels = [...new Set(Object.values(run.kernels))].join(', ');
  const lines = [`outcome (${run.spec.name} on ${kernels}):`];
  for (const a of o.apps) {
    for (const c of a.connects) {
      lines.push(`  ${a.process}: connect(${c.socket}) at ${secs(c.startNs)} s${c.local ? ` from ${c.local}` : ''}: ${c.result} after ${c.seconds.toFixed(3)} s, ${c.syns} SYN(s)`);
    }
    for (const f of a.fins) lines.push(`  ${a.process}: FIN of ${f.socket} at ${secs(f.atNs)} s ${f.reached ? `reached ${f.reached}` : 'reached no one (lost)'}`);
    for (const e of a.errors) lines.push(`  ${a.process}: ${e.socket}: ${e.error} at ${secs(e.t)} s`);
    lines.push(`  ${a.process}: received ${a.received} bytes`);
  }
  for (const [name, conns] of Object.entries(o.proxies)) {
    for (const c of conns) lines.push(`  ${name}: connection ${c.conn} ${c.closedAtNs !== null ? `closed at ${secs(c.closedAtNs)} s (${c.reason})` : 'still open at the end'}`);
  }
  for (const [host, c] of Object.entries(run.counters)) {
    const drops = Object.values(c.dropped).reduce((x, y) => x + y, 0);
    const ct = c.tracking ? `conntrack invalid=${c.invalid} drop=${c.drop} early_drop=${c.early_drop} insert_failed=${c.insert_failed} entries=${c.entries}` : 'no connection tracking (no rule needs it)';
    lines.push(`  ${host}: ${ct}; packets dropped: ${drops}`);
  }
  if (results.length) {
    lines.push('expectations:');
    for (const r of results) lines.push(`  ${r.pass === null ? 'n/a ' : r.pass ? 'ok  ' : 'FAIL'} ${r.text}: ${r.actual}`);
  }
  return lines;
}

export function runJson(run: ScenarioRun, o: ScenarioOutcome, results: ExpectationResult[], files: RunFiles | null): Record<string, unknown> {
  return {
    name: run.spec.name, file: run.spec.file, kernels: run.kernels, seed: run.spec.seed, durationSeconds: run.spec.durationNs / 1e9,
    outcome: o, expectations: results.map((r) => ({ expect: r.text, pass: r.pass, actual: r.actual })), passed: results.every((r) => r.pass !== false),
    program: run.program.map((e) => ({ ...e, t: e.t / 1e9 })),
    conntrackEvents: run.conntrack.map((c) => ({ host: c.host, type: c.event.type, time: c.event.timeNs / 1e9, state: c.event.state, reason: c.event.destroyReason })),
    snapshots: run.snapshots.map((s) => ({ label: s.label, time: s.timeNs / 1e9, ss: s.ss, conntrack: s.conntrack })),
    files,
  };
}

/** The timeline file: every event, then the snapshots. */
export function timelineText(run: ScenarioRun): string {
  // The file as given, relative to the working folder when it lies inside it: the committed
  // timelines must not depend on where the checkout is.
  const rel = relative(process.cwd(), run.spec.file);
  const file = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : run.spec.file;
  const out = [`# ctsim run ${run.spec.name} (${file})`, ...formatTimeline(run.timeline), ''];
  for (const s of run.snapshots) {
    out.push(`--- ${s.label} (t=${(s.timeNs / 1e9).toFixed(3)} s)`, '    ss -tanoe:', ...s.ss.map((l) => `      ${l}`), '    conntrack -L:', ...(s.conntrack.length ? s.conntrack.map((l) => `      ${l}`) : ['      (no entries)']));
  }
  return `${out.join('\n')}\n`;
}

export interface RunFiles {
  pcap: string;
  svg: string;
  timeline: string;
}

/** Writes DIR/STEM.pcapng, .svg and .timeline.txt (each atomically). */
export function writeRunFiles(run: ScenarioRun, dir: string, stem: string, title = `${run.spec.name} on ${[...new Set(Object.values(run.kernels))].join(', ')}`): RunFiles {
  const files = { pcap: join(dir, `${stem}.pcapng`), svg: join(dir, `${stem}.svg`), timeline: join(dir, `${stem}.timeline.txt`) };
  // Everything is computed before the first file is written: an error leaves no file behind.
  const svg = runLadder(run, title);
  const timeline = timelineText(run);
  writeFileAtomic(files.pcap, run.pcap);
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.timeline, timeline);
  return files;
}

/** A file name stem that says what was run: NAME[-KERNEL][-overrides]. */
export function runStem(name: string, o: { kernel?: string; sysctls?: readonly string[]; set?: readonly string[] }): string {
  const parts = [name];
  if (o.kernel) parts.push(o.kernel);
  for (const s of o.sysctls ?? []) parts.push(s.replace(/^(?:[A-Za-z][\w-]*:)?net\.(?:netfilter|ipv4)\./, '').replace(/^nf_conntrack_tcp_/, '').replace(/=/, '-'));
  for (const s of o.set ?? []) parts.push(s.replace(/=/, '-'));
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}
