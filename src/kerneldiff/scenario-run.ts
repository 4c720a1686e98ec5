// A scenario file run for real in the scenario lab (scenario-lab.ts): tcpdump on every interface of
// every host, `conntrack -E` in every host whose rules turn tracking on, and the file's processes as
// real programs (src/kerneldiff/real/*.py: the app's timeline, listeners, the proxy, injectors,
// floods), each as its uid/gid, all sharing one time 0. The result is the same record ctsim's run
// gives (program facts, packets each host sent, counters), on one clock: seconds since time 0.
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { ensureDirectory, writeFileAtomic } from '../output/index.js';
import { release } from 'node:os';
import { join } from 'node:path';
import { MemorySink, PcapWriter, readCaptureBytes } from '../pcap/index.js';
import { floodPacket } from '../scenarios/engine/flood-process.js';
import type { ConntrackCounter } from '../scenarios/file/expectations.js';
import { buildRuleset } from '../scenarios/file/rules.js';
import type { ProcessSpec, ScenarioSpec, Step } from '../scenarios/file/spec.js';
import type { RunRecord } from '../scenarios/engine/outcome.js';
import type { ProgramEvent } from '../scenarios/engine/program-events.js';
import type { LadderPacket, Snapshot } from '../scenarios/scenario-types.js';
import { LADDER_TCP_BYTES, ladderPacket } from '../scenarios/ladder-packet.js';
import { EtherType, IpProtocol, LinkType, PacketView, TcpFlag, emitEthernet, encodeSegment, formatIpv4Address, parseIpv4Address } from '../wire/index.js';
import { LabError } from './netns-lab.js';
import { INVALID_NFLOG_GROUP, ScenarioLab, labPython, type LabProcess } from './scenario-lab.js';

/** Entries listed per host in a snapshot (as ctsim's own snapshots do). */
const SNAPSHOT_ENTRIES = 1000;

/** A program that has not said it is ready by then (a very slow guest) fails the run. */
const READY_TIMEOUT_MS = 30_000;

/** A real run longer than this is refused (a scenario's own timeouts make it long: shorten them with --set). */
export const MAX_REAL_SECONDS = 300;

/** A line of `conntrack -E -o timestamp` in one host (the timestamp moved into timeNs). */
export interface RealConntrackEvent {
  host: string;
  timeNs: number;
  text: string;
}

export interface RealRun extends RunRecord {
  kernel: string;
  /** Hosts whose rules turn connection tracking on (the others have no events and no counters). */
  tracking: Record<string, boolean>;
  conntrackEvents: RealConntrackEvent[];
  snapshots: Snapshot[];
  /** Epoch ns of time 0. */
  t0EpochNs: bigint;
  wallSeconds: number;
  /** Programs that read time 0 only after it had passed (a loaded machine): their early steps ran late. */
  late: string[];
  /**
   * When `conntrack -S` (counters) was read, between these times (ns since time 0): at the end of
   * the run, before the snapshot; a slow (UML) guest reads it late, and later packets count.
   */
  invalidReadNs: { from: number; to: number };
  /**
   * When `conntrack -C` (the entry count) was read (ns since time 0): after the end-of-run
   * snapshot; on a slow (UML) guest seconds after the end, when entries may have expired.
   */
  entriesReadNs: number;
  keptIn?: string;
}

export interface RealRunOptions {
  /** Keep each host's capture and the event logs here. */
  keepDir?: string;
  /** The kept files' name stem (a seed variant's id; the spec's name by default). */
  captureStem?: string;
  /** Seconds from the moment every program is ready to time 0 (room for each to read it; 0.5 by default). */
  startupSeconds?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** An epoch-seconds float as ns (to the µs python prints). */
const epochNs = (t: number) => BigInt(Math.round(t * 1e6)) * 1000n;

/** conntrack -E holds its netlink socket once /proc/<pid>/fd shows one (it prints nothing until the first event). */
async function conntrackListening(p: LabProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (p.exited) throw new LabError(`conntrack -E exited (${p.exitCode}): ${p.stderr.trim()}`);
    try {
      const fds = readdirSync(`/proc/${p.child.pid}/fd`);
      if (fds.some((f) => readlinkSync(`/proc/${p.child.pid}/fd/${f}`).startsWith('socket:'))) {
        await sleep(100); // subscription follows the socket at once; a margin for a loaded machine
        return;
      }
    } catch {
      // the process is still being exec'd
    }
    await sleep(20);
  }
  throw new LabError('conntrack -E did not open its netlink socket within 5 s');
}

/** Packets a namespace sent: outgoing on real interfaces; on lo each packet is captured once (as received). */
function capturePackets(file: string, host: string, ifnames: Map<number, string>): Array<LadderPacket & { epochNs: bigint }> {
  const out: Array<LadderPacket & { epochNs: bigint }> = [];
  const view = new PacketView();
  for (const rec of readCaptureBytes(readFileSync(file))) {
    view.decodeFrame(rec.iface.linkType, rec.data);
    if (view.linkError) throw view.linkError;
    const l = view.link;
    if (l.etherType !== EtherType.IPV4) continue;
    const iface = ifnames.get(l.ifindex ?? -1) ?? `if${l.ifindex}`;
    if (iface === 'lo' ? l.outgoing : !l.outgoing) continue;
    // tcpdump's snaplen may cut the payload: the headers are what the comparison needs.
    if (!view.ipv4Header || view.ip.protocol !== IpProtocol.TCP || view.capturedTcpBytes < LADDER_TCP_BYTES) continue;
    out.push({ epochNs: rec.timestampNs, ...ladderPacket(view, { timeNs: 0, host, iface, notes: [] }) });
  }
  return out;
}

function parseConntrackEvents(p: LabProcess, host: string): Array<{ host: string; epochNs: bigint; text: string }> {
  const out: Array<{ host: string; epochNs: bigint; text: string }> = [];
  for (const l of p.lines) {
    const m = /^\[(\d+)\.(\d+)\]\s*(.*)$/.exec(l.text);
    if (m) out.push({ host, epochNs: BigInt(m[1]) * 1_000_000_000n + BigInt(m[2].padEnd(9, '0').slice(0, 9)), text: m[3].trim() });
  }
  return out;
}

/** `conntrack -S`: the per-CPU counters summed. */
function parseStats(text: string, count: string): Record<ConntrackCounter, number> {
  const sum = (k: string) => [...text.matchAll(new RegExp(`\\b${k}=(\\d+)`, 'g'))].reduce((a, m) => a + Number(m[1]), 0);
  return { invalid: sum('invalid'), drop: sum('drop'), early_drop: sum('early_drop'), insert_failed: sum('insert_failed'), entries: Number(count.trim()) || 0 };
}

/** The JSON facts a program printed, with the scenario's process name and times since time 0. */
function programFacts(p: LabProcess, name: string, t0: bigint): ProgramEvent[] {
  return p.lines.map((l) => labFact(l.text)).filter((d): d is LabFact => d !== null && !LIFECYCLE_EVENTS.has(d.ev))
    .map(({ t, ...fact }) => ({ ...fact, t: Number(epochNs(t) - t0), process: name }) as ProgramEvent);
}

/** What a lab program says about itself rather than about its sockets. */
const LIFECYCLE_EVENTS = new Set(['ready', 'go', 'exit', 'start']);

type LabFact = { t: number; ev: string } & Record<string, unknown>;
/** A line a lab program printed as its JSON fact (common.log: epoch seconds `t`, the event `ev`), or null: not one of ours. */
function labFact(text: string): LabFact | null {
  try {
    const d = JSON.parse(text) as { t?: unknown; ev?: unknown } | null;
    return d !== null && typeof d === 'object' && typeof d.t === 'number' && typeof d.ev === 'string' ? (d as LabFact) : null;
  } catch {
    return null;
  }
}

/** When the program first printed event `ev` (epoch seconds), or null. */
const saidAt = (p: LabProcess, ev: string): number | null => p.lines.map((l) => labFact(l.text)).find((d) => d?.ev === ev)?.t ?? null;

/** The app's timeline as app.py reads it: times in seconds, addresses dotted. */
function pythonSteps(steps: Step[]): unknown[] {
  const sec = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1e9);
  return steps.map((st) => {
    const when = { ...(st.at !== undefined ? { at: sec(st.at) } : {}), ...(st.after !== undefined ? { after: sec(st.after) } : {}) };
    if ('bind' in st) return { ...when, bind: { ...st.bind, address: st.bind.address !== undefined ? formatIpv4Address(st.bind.address) : undefined } };
    if ('connect' in st) {
      const c = st.connect;
      const retry = c.retry ? { attempts: c.retry.attempts, every: sec(c.retry.every) } : undefined;
      return { ...when, connect: { socket: c.socket, to: { addr: formatIpv4Address(c.to.addr), port: c.to.port }, from_port: c.from_port, reuseaddr: c.reuseaddr, retry } };
    }
    if ('sleep' in st) return { ...when, sleep: sec(st.sleep) };
    if ('repeat' in st) return { ...when, repeat: { times: st.repeat.times, every: sec(st.repeat.every), steps: pythonSteps(st.repeat.steps) } };
    return { ...when, ...st, at: undefined, after: undefined, ...when };
  });
}

/** `t0`: time 0 as epoch seconds, or 'stdin' (the start barrier: sent once every program is ready). */
function programArgs(p: ProcessSpec, scripts: string, t0: number | 'stdin'): string[] {
  const script = (n: string) => ['-B', join(scripts, n)];
  switch (p.kind) {
    case 'listener':
      return [...script('listener.py'), '--port', String(p.port), '--respond', String(p.respondBytes), ...(p.then ? ['--then', p.then.action, '--after', String(p.then.afterNs / 1e9)] : [])];
    case 'proxy':
      return [...script('proxy.py'), '--port', String(p.listenPort), '--idle', String(p.idleTimeoutNs / 1e9), '--connect-timeout', String(p.connectTimeoutNs / 1e9), '--half-close', p.halfClose,
        ...(p.upstream !== 'original-destination' ? ['--upstream', `${formatIpv4Address(p.upstream.addr)}:${p.upstream.port}`] : []),
        ...(p.source ? ['--source', formatIpv4Address(p.source)] : [])];
    case 'app':
      return [...script('app.py'), '--t0', String(t0), '--timeline', JSON.stringify(pythonSteps(p.timeline))];
    case 'inject': {
      let t = 0;
      const segs = p.segments.map((s) => {
        t = s.at !== undefined ? s.at : t + (s.after ?? 0);
        const g = s.segment;
        let flags = 0;
        for (const c of g.flags) flags |= ({ S: 2, F: 1, R: 4, P: 8, U: 32, E: 64, W: 128, '.': 16 } as Record<string, number>)[c] ?? 0;
        return {
          t: t / 1e9, from: [formatIpv4Address(g.from.addr), g.from.port], to: [formatIpv4Address(g.to.addr), g.to.port],
          seq: [g.seq.base, g.seq.offset], ack: g.ack ? [g.ack.base, g.ack.offset] : null, flags, bytes: g.bytes ?? 0,
        };
      });
      return [...script('inject.py'), '--t0', String(t0), '--segments', JSON.stringify(segs)];
    }
    case 'flood':
      throw new LabError('a flood runs as tcpreplay, not as a program');
  }
}

/**
 * A flood for real: the same SYNs ctsim's flood sends (floodPacket), written to a capture as
 * Ethernet frames to the next hop and played onto the flood host's interface by tcpreplay (a
 * Python loop cannot send hundreds of thousands of packets in seconds on a loaded machine). They
 * enter the network where the host's own packets would leave it; the flood host's netfilter hooks
 * are passed by (realRunProblem refuses a flood host whose rules track connections).
 */
function floodCapture(lab: ScenarioLab, p: Extract<ProcessSpec, { kind: 'flood' }>): { file: string; dev: string } {
  const ns = lab.namespaceOf(p.host);
  const r = (JSON.parse(lab.ns(ns, 'ip', ['-j', 'route', 'get', formatIpv4Address(p.to)])) as Array<{ dev: string; prefsrc: string }>)[0];
  const link = lab.spec.links.find((l) => (l.a.host === p.host && l.a.iface === r.dev) || (l.b.host === p.host && l.b.iface === r.dev));
  if (!link) throw new LabError(`${p.name}: ${r.dev} of ${p.host} is on no link`);
  const peer = link.a.host === p.host && link.a.iface === r.dev ? link.b : link.a;
  const mac = (host: string, dev: string) => (JSON.parse(lab.ns(lab.namespaceOf(host), 'ip', ['-j', 'link', 'show', dev])) as Array<{ address: string }>)[0].address;
  const src = parseIpv4Address(r.prefsrc);
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.ETHERNET, nanosecond: false });
  const eth = { src: mac(p.host, r.dev), dst: mac(peer.host, peer.iface), etherType: EtherType.IPV4 };
  for (let i = 0; i < p.count; i++) {
    const f = floodPacket(p, i);
    const ip = encodeSegment({ src, dst: p.to, srcPort: f.sport, dstPort: f.dport, seq: f.seq, flags: TcpFlag.SYN, window: 64240 });
    const frame = new Uint8Array(14 + ip.length);
    emitEthernet(eth, frame);
    frame.set(ip, 14);
    w.writePacket(BigInt(i) * 1000n, frame);
  }
  w.close();
  const file = join(lab.dir, `${p.name}.pcap`);
  writeFileSync(file, sink.bytes());
  return { file, dev: r.dev };
}

/** The tcpdump filter: TCP, without a flood's option-less SYNs (there may be hundreds of thousands). */
function captureFilter(spec: ScenarioSpec): string {
  return spec.processes.some((p) => p.kind === 'flood') ? 'tcp and not (tcp[13] == 2 and tcp[12] & 0xf0 == 0x50)' : 'tcp';
}

/** Runs the spec in fresh namespaces (removed again whatever happens). */
export async function runRealScenario(spec: ScenarioSpec, o: RealRunOptions = {}): Promise<RealRun> {
  if (spec.durationNs > MAX_REAL_SECONDS * 1e9) {
    throw new LabError(`${spec.name} runs ${spec.durationNs / 1e9} s; a real run is limited to ${MAX_REAL_SECONDS} s: shorten it with --set (e.g. duration, timeouts), or give the file a real.set`);
  }
  const wall0 = performance.now();
  const lab = new ScenarioLab(spec, 'sc');
  try {
    lab.create({ logInvalid: true });
    const dir = lab.dir;
    const scripts = lab.programs();
    const durationSec = spec.durationNs / 1e9;
    const limitMs = (durationSec + 60) * 1000;
    const tracking: Record<string, boolean> = {};
    for (const h of spec.hosts) tracking[h.name] = buildRuleset(h.rules)?.usesConntrack() ?? false;

    // -i any: every interface of the namespace (SLL2, with the interface index and direction);
    // --immediate-mode: without it packets wait in the ring's current block, and the last ones
    // before the capture stops are lost.
    const dumps = spec.hosts.map((h) => ({ host: h.name, file: join(dir, `${h.name}.pcap`), ifs: lab.interfaces(lab.namespaceOf(h.name)) }));
    const filter = captureFilter(spec);
    const dumpProcs = dumps.map((d) => lab.start(lab.namespaceOf(d.host), `tcpdump (${d.host})`, 'tcpdump', ['-i', 'any', '-U', '--immediate-mode', '-n', '-B', '8192', '-s', '200', '-w', d.file, filter], { limitMs }));
    for (const d of dumpProcs) await d.waitFor((p) => /listening on/.test(p.stderr), 15_000, 'capture start');
    // The kernel's own INVALID list per tracking host, when the kernel can log it (NFLOG) and
    // tcpdump can read it.
    const invalidDumps: Array<{ host: string; file: string; p: LabProcess }> = [];
    for (const host of lab.invalidLogged) {
      const file = join(dir, `${host}-invalid.pcap`);
      const p = lab.start(lab.namespaceOf(host), `tcpdump (${host} nflog)`, 'tcpdump', ['-i', `nflog:${INVALID_NFLOG_GROUP}`, '-U', '-n', '-s', '0', '-w', file], { limitMs });
      try {
        await p.waitFor((x) => /listening on/.test(x.stderr), 15_000, 'capture start');
        invalidDumps.push({ host, file, p });
      } catch {
        await p.stop('SIGKILL', 1000);
      }
    }
    // With a flood, only the entries the other hosts open are watched (one listener per source
    // address, filtered in the kernel): hundreds of thousands of events would overflow the socket.
    const floodHosts = new Set(spec.processes.filter((p) => p.kind === 'flood').map((p) => p.host));
    const sources = floodHosts.size ? spec.hosts.filter((h) => !floodHosts.has(h.name)).flatMap((h) => h.interfaces.map((i) => ['-s', formatIpv4Address(i.addr)])) : [[]];
    const events = spec.hosts.filter((h) => tracking[h.name]).flatMap((h) => sources.map((src) => ({
      host: h.name, p: lab.start(lab.namespaceOf(h.name), `conntrack -E (${h.name})`, 'conntrack', ['-E', '-o', 'timestamp', '-p', 'tcp', '-b', '8388608', ...src], { limitMs }),
    })));
    for (const e of events) await conntrackListening(e.p);

    const procs: Array<{ spec: ProcessSpec; p: LabProcess }> = [];
    const ready = (p: LabProcess) => saidAt(p, 'ready') !== null;
    const startProgram = (ps: ProcessSpec, t0: number | 'stdin') => {
      const uid = ps.kind === 'inject' ? 0 : ps.uid;
      const py = labPython(uid);
      const p = lab.start(lab.namespaceOf(ps.host), ps.name, py, programArgs(ps, scripts, t0), { uid, gid: ps.gid, limitMs, cwd: scripts, stdin: t0 === 'stdin' });
      procs.push({ spec: ps, p });
      return p;
    };
    // Servers and proxies first (they listen from time 0 on). Then the start barrier: the timed
    // programs start, say they are ready and wait; time 0 is fixed a moment after the last one is
    // ready and sent to each. A program slow to start (a loaded machine, a UML guest) then delays
    // the whole run instead of running its timeline late against the others'.
    for (const ps of spec.processes) if (ps.kind === 'listener' || ps.kind === 'proxy') startProgram(ps, 0);
    for (const { p } of procs) await p.waitFor(ready, READY_TIMEOUT_MS, 'ready line');
    const timed = spec.processes.filter((ps) => ps.kind !== 'listener' && ps.kind !== 'proxy' && ps.kind !== 'flood').map((ps) => startProgram(ps, 'stdin'));
    // A flood's packets are written before time 0 (hundreds of thousands take a while).
    const floodFiles = spec.processes.flatMap((ps) => (ps.kind === 'flood' ? [{ ps, f: floodCapture(lab, ps) }] : []));
    for (const p of timed) await p.waitFor(ready, READY_TIMEOUT_MS, 'ready line');
    const t0 = Date.now() / 1000 + (o.startupSeconds ?? 0.5);
    const t0Ns = epochNs(t0);
    for (const p of timed) p.send(String(t0));
    const floods: Array<Promise<ProgramEvent>> = [];
    for (const { ps, f } of floodFiles) {
      floods.push(sleep(t0 * 1000 + ps.atNs / 1e6 - Date.now()).then(async () => {
        const p = lab.start(lab.namespaceOf(ps.host), ps.name, 'tcpreplay', ['-q', ps.rate ? `--pps=${ps.rate}` : '--topspeed', '-i', f.dev, f.file], { limitMs });
        await p.waitExit(limitMs);
        if (p.exitCode !== 0) throw new LabError(`${ps.name}: tcpreplay exited ${p.exitCode}: ${p.stderr.trim().slice(-400)}`);
        return { ev: 'flood-done', sent: ps.count, t: Number(BigInt(Math.round(Date.now() * 1e6)) - t0Ns), process: ps.name } as ProgramEvent;
      }));
    }
    for (const p of timed) await p.waitFor((x) => saidAt(x, 'go') !== null, READY_TIMEOUT_MS, 'time 0 read');
    const late = procs.filter(({ p }) => (saidAt(p, 'go') ?? 0) > t0).map(({ spec: ps }) => ps.name);

    const snapshots: Array<Snapshot & { epochMs: number }> = [];
    const snap = (label: string) => {
      const ss: string[] = [];
      const conntrack: string[] = [];
      for (const h of spec.hosts) {
        const n = lab.namespaceOf(h.name);
        ss.push(...lab.ns(n, 'ss', ['-tanoe'], { allowFail: true }).split('\n').filter((l) => l && !l.startsWith('State')).map((l) => `${h.name.padEnd(8)} ${l.replace(/\s+ino:\d+.*$/, '')}`));
        if (!tracking[h.name]) continue;
        const entries = lab.ns(n, 'conntrack', ['-L', '-p', 'tcp'], { allowFail: true, timeoutMs: 120_000 }).split('\n').filter((l) => l.startsWith('tcp'));
        for (const l of entries.slice(0, SNAPSHOT_ENTRIES)) conntrack.push(`${h.name.padEnd(8)} ${l}`);
        if (entries.length > SNAPSHOT_ENTRIES) conntrack.push(`${h.name.padEnd(8)} ... and ${entries.length - SNAPSHOT_ENTRIES} more entries`);
      }
      snapshots.push({ label, timeNs: 0, epochMs: Date.now(), ss, conntrack });
    };
    for (const t of spec.snapshotsNs) {
      await sleep(t0 * 1000 + t / 1e6 - Date.now());
      snap(`t=${t / 1e9} s`);
    }
    await sleep(t0 * 1000 + durationSec * 1000 - Date.now());
    for (const { spec: ps, p } of procs) if (p.exited) throw new LabError(`${ps.name} exited early (${p.exitCode}): ${p.stderr.trim().slice(-600)}`);
    // The counters first (the run goes on while we look), then the snapshot: conntrack -L also
    // reaps entries that expired but that no packet or GC pass has touched yet, so their DESTROY
    // events are reported before the run ends. The entry count comes last, after that reaping:
    // nf_conntrack_count still includes expired entries the GC worker has not reached, ctsim's
    // count (and a user's next look) does not.
    const counters: RealRun['counters'] = {};
    const statsFromMs = Date.now();
    for (const h of spec.hosts) {
      if (!tracking[h.name]) continue;
      counters[h.name] = parseStats(lab.ns(lab.namespaceOf(h.name), 'conntrack', ['-S'], { allowFail: true }), '');
    }
    const statsToMs = Date.now();
    snap('end of the run');
    const entriesFromMs = Date.now();
    for (const h of spec.hosts) {
      if (!tracking[h.name]) continue;
      counters[h.name].entries = Number(lab.ns(lab.namespaceOf(h.name), 'conntrack', ['-C'], { allowFail: true }).trim()) || 0;
    }
    const entriesToMs = Date.now();
    for (const { spec: ps, p } of procs) if (ps.kind === 'app') await p.stop('SIGTERM', 2000);
    // nfnetlink_log batches messages and sends them after up to 1 s (its flush timeout): wait for
    // the last INVALID packets to reach the NFLOG capture.
    await sleep(invalidDumps.length ? 1300 : 200);
    for (const e of events) await e.p.stop('SIGINT');
    for (const d of dumpProcs) await d.stop('SIGINT');
    for (const d of invalidDumps) await d.p.stop('SIGINT');
    for (const { p } of procs) await p.stop('SIGTERM', 1000);

    const raw = dumps.flatMap((d) => capturePackets(d.file, d.host, d.ifs)).sort((a, b) => (a.epochNs < b.epochNs ? -1 : a.epochNs > b.epochNs ? 1 : 0));
    const rel = (ns: bigint) => Number(ns - t0Ns);
    const packets: LadderPacket[] = raw.map(({ epochNs: e, ...p }) => ({ ...p, timeNs: rel(e) }));
    const conntrackEvents = events.flatMap((e) => parseConntrackEvents(e.p, e.host)).map((e) => ({ host: e.host, timeNs: rel(e.epochNs), text: e.text })).sort((a, b) => a.timeNs - b.timeNs);
    const floodFacts = await Promise.all(floods);
    const program = [...procs.flatMap(({ spec: ps, p }) => programFacts(p, ps.name, t0Ns)), ...floodFacts].sort((a, b) => a.t - b.t);
    let keptIn: string | undefined;
    if (o.keepDir) {
      const stem = o.captureStem ?? spec.name;
      ensureDirectory(o.keepDir);
      for (const d of dumps) writeFileAtomic(join(o.keepDir, `${stem}-${d.host}.pcap`), readFileSync(d.file));
      // NAME-invalid.pcap when one host tracks (the seed incidents' pod), else NAME-HOST-invalid.pcap.
      for (const d of invalidDumps) writeFileAtomic(join(o.keepDir, `${stem}${invalidDumps.length > 1 ? `-${d.host}` : ''}-invalid.pcap`), readFileSync(d.file));
      // The final table (the end-of-run snapshot's conntrack -L) with the counters.
      const end = snapshots.at(-1);
      writeFileAtomic(join(o.keepDir, `${stem}-conntrack.txt`), [
        `# conntrack -L -p tcp of each tracking host at the end of the run (${end ? ((end.epochMs - t0 * 1000) / 1000).toFixed(3) : durationSec} s after time 0)`,
        ...Object.entries(counters).map(([h, c]) => `# ${h}: conntrack -S invalid=${c.invalid} drop=${c.drop} early_drop=${c.early_drop} insert_failed=${c.insert_failed}; conntrack -C ${c.entries}`),
        ...(end?.conntrack ?? []),
      ].join('\n') + '\n');
      writeFileAtomic(join(o.keepDir, `${stem}-events.txt`), [
        ...conntrackEvents.map((e) => `${(e.timeNs / 1e9).toFixed(6)} ${e.host} conntrack ${e.text}`),
        ...program.map((e) => `${(e.t / 1e9).toFixed(6)} ${e.process} ${JSON.stringify(e)}`),
      ].join('\n') + '\n');
      keptIn = o.keepDir;
    }
    return {
      spec, kernel: release(), tracking, program, packets, counters, conntrackEvents,
      snapshots: snapshots.map(({ epochMs, ...s }) => ({ ...s, timeNs: rel(BigInt(Math.round(epochMs * 1e6))) })),
      t0EpochNs: t0Ns, endNs: spec.durationNs, wallSeconds: (performance.now() - wall0) / 1000, late, keptIn,
      invalidReadNs: { from: rel(BigInt(statsFromMs) * 1_000_000n), to: rel(BigInt(statsToMs) * 1_000_000n) },
      entriesReadNs: rel(BigInt(Math.round((entriesFromMs + entriesToMs) / 2)) * 1_000_000n),
    };
  } finally {
    lab.destroy();
  }
}
