// The scenario engine: any ScenarioSpec on the simulator. Hosts (src/stack) with their rules and
// sysctls, links, the processes (apps running their timelines, listeners, Envoy-like proxies,
// injectors, floods) started at time 0, capture points into one pcapng with each packet's verdict
// comment, snapshots, then the run's typed record: program facts, TCP events, conntrack events,
// packets, counters. Outcome and expectations are computed from that record (outcome.ts).
import type { ConntrackEvent } from '../../conntrack/events.js';
import { MemorySink } from '../../pcap/index.js';
import { CaptureRecorder } from '../../sim/capture.js';
import { Network } from '../../sim/network.js';
import type { Host, HostEvent, TapEvent } from '../../stack/host.js';
import type { TcpEvent } from '../../stack/tcp/tcp-events.js';
import { formatIpv4Address, parseIpv4Tcp, tcpFlagsShort, tcpHeaderLength } from '../../wire/index.js';
import { buildRuleset } from '../file/rules.js';
import type { ScenarioSpec } from '../file/spec.js';
import type { LadderPacket, Snapshot } from '../scenario-types.js';
import { AppProcess } from './app-process.js';
import { EngineContext, type OwnedSocket } from './context.js';
import { FloodProcess } from './flood-process.js';
import { FlowWatch } from './flow-watch.js';
import { InjectProcess } from './inject-process.js';
import { ListenerProcess } from './listener-process.js';
import type { ProgramEvent } from './program-events.js';
import { ProxyProcess } from './proxy-process.js';

/** A host's conntrack -S counters and -C count at the end of the run. */
export interface HostCounters {
  /** Whether the host tracks connections at all (its rules need conntrack). */
  tracking: boolean;
  invalid: number;
  drop: number;
  early_drop: number;
  insert_failed: number;
  entries: number;
  /** Packets the host dropped anywhere (rules, conntrack, routing), by reason. */
  dropped: Record<string, number>;
}

export interface ScenarioRun {
  spec: ScenarioSpec;
  /** The kernel profile each host ran. */
  kernels: Record<string, string>;
  program: ProgramEvent[];
  /** TCP layer facts per host, in time order. */
  tcp: Array<{ host: string; timeNs: number; event: TcpEvent }>;
  conntrack: Array<{ host: string; event: ConntrackEvent }>;
  /** Every packet a host sent, on the interface it left by (on lo: once); a flood's SYNs only counted (floodSyns). */
  packets: LadderPacket[];
  floodSyns: number;
  /** The human timeline (socket, conntrack, rule and program lines). */
  timeline: HostEvent[];
  snapshots: Snapshot[];
  counters: Record<string, HostCounters>;
  /** The sockets each process held. */
  sockets: OwnedSocket[];
  /** The capture points' pcapng. */
  pcap: Uint8Array;
  endNs: number;
  /** The counts RunOptions.countEntriesAtNs asked for, in time order. */
  entriesAfterEnd?: EntryCountAt[];
}

function ladderPacket(t: TapEvent, timeNs: number): LadderPacket | null {
  let p;
  try {
    p = parseIpv4Tcp(t.bytes, 0, { checksum: 'ignore' });
  } catch {
    return null;
  }
  const tcp = p.tcp;
  return {
    timeNs, host: t.host, iface: t.iface, src: `${formatIpv4Address(p.ip.src)}:${tcp.srcPort}`, dst: `${formatIpv4Address(p.ip.dst)}:${tcp.dstPort}`,
    flags: tcpFlagsShort(tcp.flags), seq: tcp.seq, ack: tcp.ack, len: tcp.payload.length, notes: t.notes, optionLen: tcpHeaderLength(tcp) - 20, bytes: t.bytes.slice(),
  };
}

function formatAddr(a: number): string {
  return formatIpv4Address(a >>> 0);
}

/** Builds the hosts and links of a spec on a fresh network. */
export function buildNetwork(spec: ScenarioSpec): Network {
  const net = new Network(spec.seed);
  for (const h of spec.hosts) {
    const rules = buildRuleset(h.rules);
    const host = net.addHost({ name: h.name, kernel: h.kernel, sysctls: h.sysctls, rules, forwarding: h.forwarding, tracking: rules?.usesConntrack() ?? false });
    for (const i of h.interfaces) host.addInterface(i.name, i.cidr);
    for (const r of h.routes) host.addRoute(r.to, r.dev, r.via !== undefined ? formatAddr(r.via) : undefined);
  }
  for (const l of spec.links) {
    net.connect(net.hosts.get(l.a.host)!, l.a.iface, net.hosts.get(l.b.host)!, l.b.iface, { latencyNs: l.delayNs, jitterNs: l.jitterNs, loss: l.loss });
  }
  return net;
}

export interface RunOptions {
  /** The capture's application name (pcapng shb_userappl); default "ctsim run NAME". */
  application?: string;
  /**
   * Also count each host's live entries at these times after the end (the network runs on, the
   * capture has ended): what `conntrack -C` shows when a real run reads it late.
   */
  countEntriesAtNs?: readonly number[];
}

/** Each tracking host's live entry count at a time after the end of the run. */
export interface EntryCountAt {
  timeNs: number;
  entries: Record<string, number>;
}

/** Runs the scenario to its end. */
export function runScenario(spec: ScenarioSpec, o: RunOptions = {}): ScenarioRun {
  const net = buildNetwork(spec);
  const ctx = new EngineContext(net);
  const sink = new MemorySink();
  const recorder = new CaptureRecorder(net.sim, sink, o.application ?? `ctsim run ${spec.name}`);
  const captured = (host: string, iface: string) => spec.captures.some((c) => c.host === host && (c.iface === '*' || c.iface === iface));
  for (const h of net.hosts.values()) for (const i of h.interfaces.values()) if (captured(h.name, i.name)) recorder.declare(h.name, i.name, `${h.name} ${i.name}${i.loopback ? ' (loopback)' : ''}`);

  const packets: LadderPacket[] = [];
  // A flood's own SYNs (no TCP options) are counted, not recorded one by one.
  const flooding = spec.processes.some((p) => p.kind === 'flood');
  let floodSyns = 0;
  const flows = new Map<string, FlowWatch>();
  const conntrack: ScenarioRun['conntrack'] = [];
  // The capture ends with the run; the network may go on (countEntriesAtNs) and send more.
  let capturing = true;
  for (const h of net.hosts.values()) {
    const watch = new FlowWatch();
    flows.set(h.name, watch);
    h.onTap = (t) => {
      if (capturing && captured(t.host, t.iface)) recorder.tap(t);
      if (t.direction !== 'outbound') return;
      watch.observe(t.bytes, net.sim.now);
      const p = ladderPacket(t, net.sim.now);
      if (p && flooding && p.flags === 'S' && p.optionLen === 0) floodSyns++;
      else if (p) packets.push(p);
    };
    const shown = h.conntrack.onEvent;
    h.conntrack.onEvent = (ev) => {
      shown?.(ev);
      conntrack.push({ host: h.name, event: { ...ev } });
    };
  }

  // Servers and proxies listen from time 0; apps, injectors and floods start at their times.
  const apps: AppProcess[] = [];
  for (const p of spec.processes) {
    switch (p.kind) {
      case 'listener': new ListenerProcess(ctx, p); break;
      case 'proxy': new ProxyProcess(ctx, p); break;
      case 'app': apps.push(new AppProcess(ctx, p)); break;
      case 'inject': new InjectProcess(ctx, p, flows.get(p.host)!).start(); break;
      case 'flood': new FloodProcess(ctx, p).start(); break;
    }
  }
  for (const a of apps) a.start();

  const snapshots: Snapshot[] = [];
  for (const t of spec.snapshotsNs) {
    net.runUntil(t);
    snapshots.push(snapshot(net, `t=${t / 1e9} s`));
  }
  net.runUntil(spec.durationNs);
  for (const a of apps) a.report();
  snapshots.push(snapshot(net, 'end of the run'));
  recorder.close();
  capturing = false;

  const counters: Record<string, HostCounters> = {};
  const kernels: Record<string, string> = {};
  for (const h of net.hosts.values()) {
    counters[h.name] = countersOf(h);
    kernels[h.name] = h.profile.name;
  }
  const tcp = net.timeline.filter((e): e is HostEvent & { tcp: TcpEvent } => e.tcp !== undefined).map((e) => ({ host: e.host, timeNs: e.timeNs, event: e.tcp }));
  const record: ScenarioRun = {
    spec, kernels, program: ctx.events, tcp, conntrack, packets, floodSyns, timeline: net.timeline, snapshots, counters, sockets: ctx.sockets,
    pcap: sink.bytes(), endNs: net.sim.now,
  };
  if (!o.countEntriesAtNs?.length) return record;
  // The record describes the run, not what comes after: its growing arrays are copied first.
  const frozen: ScenarioRun = { ...record, program: [...ctx.events], conntrack: [...conntrack], packets: [...packets], timeline: [...net.timeline], sockets: [...ctx.sockets] };
  const endNs = record.endNs;
  const entriesAfterEnd: EntryCountAt[] = [];
  for (const t of [...o.countEntriesAtNs].filter((x) => x > endNs).sort((a, b) => a - b)) {
    net.runUntil(t);
    const entries: Record<string, number> = {};
    for (const h of net.hosts.values()) if (h.tracking) entries[h.name] = liveEntries(h);
    entriesAfterEnd.push({ timeNs: t, entries });
  }
  return { ...frozen, entriesAfterEnd };
}

/** conntrack -C: live entries (an entry expiring at this very instant is not one). */
function liveEntries(h: Host): number {
  return h.conntrack.nextExpiry() > h.sched.now ? h.conntrack.count : h.conntrackList().length;
}

function countersOf(h: Host): HostCounters {
  const s = h.conntrack.stats;
  return { tracking: h.tracking, invalid: s.invalid, drop: s.drop, early_drop: s.earlyDrop, insert_failed: s.insertFailed, entries: liveEntries(h), dropped: Object.fromEntries(h.drops) };
}

/** Entries listed per host in a snapshot (a storm fills the table with hundreds of thousands). */
const SNAPSHOT_ENTRIES = 1000;

function snapshot(net: Network, label: string): Snapshot {
  const ss: string[] = [];
  const conntrack: string[] = [];
  for (const h of net.hosts.values()) {
    for (const l of h.ss()) ss.push(`${h.name.padEnd(8)} ${l}`);
    const entries = h.conntrackList();
    for (const l of entries.slice(0, SNAPSHOT_ENTRIES)) conntrack.push(`${h.name.padEnd(8)} ${l}`);
    if (entries.length > SNAPSHOT_ENTRIES) conntrack.push(`${h.name.padEnd(8)} ... and ${entries.length - SNAPSHOT_ENTRIES} more entries`);
  }
  return { label, timeNs: net.sim.now, ss, conntrack };
}
