// `ctsim replay CAPTURE --host FILE` / `--rules iptables-save.txt --addr eth0=A/N`: the capture
// replayed through one host's netfilter and conntrack (src/replay/host-replay.ts), each packet at
// the hook where the capture point saw it.
import { readFileSync } from 'node:fs';
import { readCaptureFile, readCaptureStream, type CaptureError, type CaptureRecord } from '../../pcap/index.js';
import { HostReplayer, type HostRow, type ReplayHost, type ReplayHostInterface } from '../../replay/host-replay.js';
import { formatRowText, rowJson } from '../../replay/replay.js';
import { checksumSummary, checksumWarning, conntrackCounters, formatCounters, type ChecksumCounts } from '../../replay/summary.js';
import { loadScenarioFile } from '../../scenarios/file/load.js';
import { parseIptablesSave } from '../../stack/iptables/restore.js';
import type { Ruleset } from '../../stack/iptables/ruleset.js';
import { parseIpv4Address } from '../../wire/index.js';
import { UsageError } from '../errors.js';

export interface HostModeArgs {
  capture: string;
  host?: string;
  hostName?: string;
  rules?: string;
  addr?: string[];
  ifindex?: string[];
  forwarding?: boolean;
  kernel?: string;
  sysctl?: string[];
  seed?: number;
  json?: boolean;
}

function parseCidr(text: string, what: string): { addr: number; prefixLen: number } {
  const [a, len] = text.split('/');
  const prefixLen = len === undefined ? 32 : Number(len);
  let addr: number;
  try {
    addr = parseIpv4Address(a);
  } catch {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not an IPv4 address`);
  }
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new UsageError(`${what}: bad prefix length in ${JSON.stringify(text)}`);
  return { addr, prefixLen };
}

/** The host, kernel and sysctls from --host (a scenario file's host) or --rules/--addr. */
function hostFromArgs(a: HostModeArgs): { host: ReplayHost; kernel?: string; sysctls: string[] } {
  const indexes = new Map<string, number>();
  for (const m of a.ifindex ?? []) {
    const [i, name] = m.split('=');
    if (!/^\d+$/.test(i ?? '') || !name) throw new UsageError(`--ifindex wants INDEX=NAME (e.g. 2=eth0), got ${JSON.stringify(m)}`);
    indexes.set(name, Number(i));
  }
  const withIndex = (i: Omit<ReplayHostInterface, 'ifindex'>): ReplayHostInterface => (indexes.has(i.name) ? { ...i, ifindex: indexes.get(i.name) } : i);
  if (a.host !== undefined) {
    if (a.rules !== undefined || a.addr !== undefined) throw new UsageError('--host takes the rules and addresses from the scenario file: give either --host or --rules/--addr');
    const spec = loadScenarioFile(a.host);
    const names = spec.hosts.map((h) => h.name);
    const name = a.hostName ?? (names.length === 1 ? names[0] : undefined);
    if (name === undefined) throw new UsageError(`${a.host} has hosts ${names.join(', ')}: say which one the capture was taken on with --host-name`);
    const h = spec.hosts.find((x) => x.name === name);
    if (!h) throw new UsageError(`${a.host} has no host ${JSON.stringify(name)} (it has ${names.join(', ')})`);
    let rules: Ruleset | undefined;
    for (const r of h.rules) rules = parseIptablesSave(r.text, { into: rules });
    return {
      host: { name, interfaces: h.interfaces.map((i) => withIndex({ name: i.name, addr: i.addr, prefixLen: i.prefixLen })), rules, forwarding: h.forwarding },
      kernel: a.kernel ?? h.kernel,
      sysctls: [...h.sysctls, ...(a.sysctl ?? [])],
    };
  }
  if (a.rules === undefined) throw new UsageError('replay in host mode needs --host SCENARIO_FILE or --rules IPTABLES_SAVE_FILE');
  if (!a.addr?.length) throw new UsageError('--rules needs the host\'s addresses: --addr eth0=198.18.1.10/24 (repeatable)');
  let text: string;
  try {
    text = readFileSync(a.rules, 'utf8');
  } catch (e) {
    throw new UsageError(`--rules ${a.rules}: cannot read (${(e as Error).message})`);
  }
  const rules = parseIptablesSave(text);
  const interfaces = a.addr.map((s) => {
    const [name, cidr] = s.split('=');
    if (!name || !cidr) throw new UsageError(`--addr wants NAME=ADDRESS/PREFIX (e.g. eth0=198.18.1.10/24), got ${JSON.stringify(s)}`);
    return withIndex({ name, ...parseCidr(cidr, `--addr ${name}`) });
  });
  return { host: { name: 'host', interfaces, rules, forwarding: a.forwarding === true }, kernel: a.kernel, sysctls: a.sysctl ?? [] };
}

export function hostRowJson(r: HostRow): Record<string, unknown> {
  return { ...rowJson(r), checksum: r.checksum, hook: r.hook, iface: r.iface, dropped: r.dropped, assumed: r.assumed, again: r.again ? rowJson(r.again) : null };
}

export function hostRowText(r: HostRow): string[] {
  const lines = [`${formatRowText(r)}${r.hook ? `  @${r.hook === 'output' ? 'OUTPUT' : 'PREROUTING'}${r.iface ? ` ${r.iface}` : ''}` : ''}`];
  if (r.again) lines.push(`${' '.repeat(10)}again at PREROUTING on lo (no entry attached at OUTPUT): ${formatRowText(r.again).slice(100).trim()}`);
  if (r.dropped) lines.push(`${' '.repeat(10)}DROPPED by ${r.dropped}`);
  if (r.assumed) lines.push(`${' '.repeat(10)}assumed: ${r.assumed}`);
  return lines;
}

export async function replayHostMode(a: HostModeArgs, write: (s: string) => void): Promise<void> {
  const { host, kernel, sysctls } = hostFromArgs(a);
  const h = new HostReplayer(host, { kernel, sysctls, seed: a.seed });
  const records: CaptureRecord[] = [];
  // A capture cut off mid-packet is replayed up to the cut, which the summary reports.
  let cut: CaptureError | null = null;
  const readOptions = { onTruncatedEnd: (e: CaptureError) => { cut = e; } };
  if (a.capture === '-' || a.capture === '/dev/stdin') {
    for await (const rec of readCaptureStream(process.stdin, readOptions)) records.push(rec);
  } else {
    for (const rec of readCaptureFile(a.capture, readOptions)) records.push(rec);
  }
  const cutOff = cut as CaptureError | null;
  const ct = h.replayer.ct;
  if (!a.json) write(`# ctsim replay --host ${host.name}: kernel ${ct.profile.name}${sysctls.length ? `, ${sysctls.join(' ')}` : ''}; each packet at the hook where the capture saw it\n`);
  const checksums: ChecksumCounts = {};
  for (const r of h.replay(records)) {
    if (r.checksum) checksums[r.checksum] = (checksums[r.checksum] ?? 0) + 1;
    if (a.json) write(`${JSON.stringify(hostRowJson(r))}\n`);
    else for (const l of hostRowText(r)) write(`${l}\n`);
  }
  const c = h.counts;
  const counters = conntrackCounters(ct.stats, ct.count);
  const entries = h.entries();
  if (a.json) {
    if (cutOff) write(`${JSON.stringify({ n: records.length + 1, warning: cutOff.kind, offset: cutOff.offset, message: `capture cut off: ${cutOff.message}; not replayed` })}\n`);
    write(`${JSON.stringify({ summary: { host: host.name, cutOff: cutOff ? { offset: cutOff.offset, message: cutOff.message } : null, kernel: ct.profile.name, sysctls, packets: c.packets, tracked: c.tracked, duplicates: c.duplicates, outcomes: c.outcomes, dropped: c.dropped, assumed: c.assumed, checksums, checksumWarning: checksumWarning(checksums), conntrack: counters, entries } })}\n`);
    return;
  }
  if (cutOff) write(`${String(records.length + 1).padStart(6)}  WARNING capture cut off: ${cutOff.message}; the incomplete last record is not replayed\n`);
  for (const l of [checksumWarning(checksums), checksumSummary(checksums), formatCounters(counters)]) if (l) write(`# ${l}\n`);
  write(`# conntrack -L at the end (${entries.length}):\n`);
  for (const e of entries) write(`#   ${e}\n`);
  const outcomes = Object.entries(c.outcomes).map(([k, n]) => `${n} ${k.toLowerCase()}`).join(', ');
  write(`# ${c.packets} packets: ${outcomes}${c.dropped ? `, ${c.dropped} dropped by rules` : ''}${c.assumed ? `, ${c.assumed} with an assumption (see "assumed:")` : ''}\n`);
}
