// One seed incident run for real in the scenario lab: tcpdump on every interface of the pod and
// of the upstream, `conntrack -E` in the pod, the upstream server, the sidecar (uid 1337) and the
// application (uid 1000) as small python programs (src/kerneldiff/real/), with the long timeouts
// shortened (the pod's conntrack CLOSE_WAIT timeout by its per-namespace sysctl, the sidecar's idle
// timeout by its option) so a run takes seconds. The result uses ctsim's own representation
// (LadderPacket, conntrack -E lines, the outcome fields of ScenarioOutcome) on one clock: seconds
// since the application's first SYN.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../output/index.js';
import { readCaptureBytes } from '../pcap/index.js';
import { POD_IP, UPSTREAM_IP, UPSTREAM_PORT } from '../scenarios/istio-pod.js';
import { LADDER_TCP_BYTES, ladderPacket } from '../scenarios/ladder-packet.js';
import type { LadderPacket, ScenarioName, ScenarioOutcome, Snapshot } from '../scenarios/scenario-types.js';
import type { ConnectResult } from '../scenarios/socket-outcomes.js';
import { ISTIO_DEFAULTS } from '../stack/presets/istio.js';
import { EtherType, IpProtocol, PacketView } from '../wire/index.js';
import { LabError } from './netns-lab.js';
import { invalidDropRules } from '../scenarios/invalid-drop.js';
import type { CallErrorRun } from '../scenarios/socket-outcomes.js';
import type { CallErrno } from '../stack/tcp/tcp-events.js';
import { APP_UID, INVALID_NFLOG_GROUP, ScenarioLab, labPython, type LabProcess } from './scenario-lab.js';
import { findVariant, variantSysctls, type ScenarioTimings, type ScenarioVariant } from './scenario-variants.js';

/** The python sidecar's upstream connect timeout: TcpProxy's default (Istio's cluster connect_timeout). */
const PROXY_CONNECT_TIMEOUT_SEC = 10;

/** The application's fixed local port: the value src/scenarios/incidents.ts binds (portChoice 'explicit'). */
export const APP_PORT = 44410;

export type { ScenarioTimings } from './scenario-variants.js';

/** The shortened timings of the two base variants (see scenario-variants.ts). */
export const SCENARIO_TIMINGS: Readonly<Record<ScenarioName, Readonly<ScenarioTimings>>> = Object.freeze({
  'half-close-leak': findVariant('half-close-leak')!.timings,
  'port-collision': findVariant('port-collision')!.timings,
});

/** The pod's sysctls for these timings (the same list goes to ctsim's pod host). */
export function scenarioSysctls(t: ScenarioTimings): string[] {
  return [`net.netfilter.nf_conntrack_tcp_timeout_close_wait=${t.closeWaitSec}`];
}

/** A line of `conntrack -E -o timestamp` (the timestamp moved into timeNs). */
export interface RealConntrackEvent {
  timeNs: number;
  text: string;
}

/** A JSON line one of the python programs printed. */
export interface ProgramEvent {
  timeNs: number;
  prog: 'app' | 'proxy' | 'upstream';
  ev: string;
  data: Record<string, unknown>;
}

/**
 * The fields of ScenarioOutcome the real run can observe (invalidPackets: the pod namespace's
 * `conntrack -S` invalid counter over the whole run).
 */
export type RealOutcome = Pick<ScenarioOutcome, 'appFinReachedSidecar' | 'leakSeconds' | 'sidecarClosedAtSec' | 'connect' | 'connectSeconds' | 'synsSent' | 'invalidPackets' | 'callErrors' | 'connectAttempts'>;

export interface RealScenarioResult {
  name: ScenarioName;
  /** The variant that ran (its id names it on the command line). */
  variant: ScenarioVariant;
  kernel: string;
  timings: ScenarioTimings;
  sysctls: string[];
  /** Every packet a namespace sent (on lo: each once), times since the first SYN. */
  packets: LadderPacket[];
  conntrackEvents: RealConntrackEvent[];
  programEvents: ProgramEvent[];
  snapshots: Snapshot[];
  outcome: RealOutcome;
  /** When `conntrack -S` (outcome.invalidPackets) was read: between these times (ns since t0). */
  invalidReadNs: { from: number; to: number };
  /** Epoch ns of the application's first SYN (the run's time 0). */
  t0EpochNs: bigint;
  /** Last moment observed (ns since t0). */
  endNs: number;
  wallSeconds: number;
  /** Where the captures were kept (keepDir), if asked. */
  keptIn?: string;
}

export interface RealRunOptions {
  /** Override the variant's timings. */
  timings?: ScenarioTimings;
  /** Keep pod.pcap, upstream.pcap and the program logs here. */
  keepDir?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Program lines as events (non-JSON lines are ignored: only our programs print here). */
function programEvents(p: LabProcess, prog: ProgramEvent['prog']): ProgramEvent[] {
  const out: ProgramEvent[] = [];
  for (const l of p.lines) {
    try {
      const d = JSON.parse(l.text) as Record<string, unknown>;
      if (typeof d.t === 'number' && typeof d.ev === 'string') out.push({ timeNs: Math.round(d.t * 1e9), prog, ev: d.ev, data: d });
    } catch {
      // not one of ours
    }
  }
  return out;
}

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
    // tcpdump's snaplen may cut the payload: the headers are what the ladder needs.
    if (!view.ipv4Header || view.ip.protocol !== IpProtocol.TCP || view.capturedTcpBytes < LADDER_TCP_BYTES) continue;
    out.push({ epochNs: rec.timestampNs, ...ladderPacket(view, { timeNs: 0, host, iface, notes: [] }) });
  }
  return out;
}

function parseConntrackEvents(p: LabProcess): Array<{ epochNs: bigint; text: string }> {
  const out: Array<{ epochNs: bigint; text: string }> = [];
  for (const l of p.lines) {
    const m = /^\[(\d+)\.(\d+)\]\s*(.*)$/.exec(l.text);
    if (m) out.push({ epochNs: BigInt(m[1]) * 1_000_000_000n + BigInt(m[2].padEnd(9, '0').slice(0, 9)), text: m[3].trim() });
  }
  return out;
}

function realOutcome(name: ScenarioName, packets: LadderPacket[], evs: ProgramEvent[], invalid: number): RealOutcome {
  const find = (prog: ProgramEvent['prog'], ev: string, conn: number) => evs.find((e) => e.prog === prog && e.ev === ev && (e.data.c ?? e.data.conn) === conn);
  const appFinReachedSidecar = !!find('proxy', 'down-eof', 1);
  const closed = find('proxy', 'close', 1);
  const appClose = find('app', 'close', 1);
  const sidecarClosedAtSec = closed ? closed.timeNs / 1e9 : null;
  const leakSeconds = !appFinReachedSidecar && sidecarClosedAtSec !== null && appClose ? Math.max(0, sidecarClosedAtSec - appClose.timeNs / 1e9) : 0;
  let connect: ConnectResult | null = null;
  let connectSeconds: number | null = null;
  let synsSent = 0;
  let callErrors: CallErrorRun | null = null;
  let connectAttempts = 0;
  if (name === 'port-collision') {
    const tries = evs.filter((e) => e.prog === 'app' && e.ev === 'connect' && e.data.conn === 2);
    connectAttempts = tries.length;
    const errors = evs.filter((e) => e.prog === 'app' && e.ev === 'connect-error' && e.data.conn === 2);
    const immediate = errors.filter((e) => e.data.error === 'EADDRNOTAVAIL' || e.data.error === 'EADDRINUSE');
    if (immediate.length) {
      const first = immediate[0];
      const same = immediate.filter((e) => e.data.error === first.data.error);
      // The real run cannot see which socket held the tuple; the comparison leaves holderState out.
      callErrors = { errno: first.data.error as CallErrno, call: 'connect', attempts: same.length, firstAtSec: first.timeNs / 1e9, lastAtSec: same.at(-1)!.timeNs / 1e9, holderState: null };
    }
    const start = tries.at(-1);
    const ok = find('app', 'connected', 2);
    const err = errors.at(-1);
    const lastFailedAtOnce = !!err && !ok && (err.data.attempt === start?.data.attempt) && (err.data.error === 'EADDRNOTAVAIL' || err.data.error === 'EADDRINUSE');
    connect = ok ? 'connected' : err ? (String(err.data.error) as ConnectResult) : start ? 'pending' : null;
    // SYNs the application's socket of the last attempt sent: the first one and its retransmissions.
    const app = `${POD_IP}:${APP_PORT}`;
    const syns = start && !lastFailedAtOnce ? packets.filter((p) => p.host === 'pod' && p.src === app && p.flags === 'S' && p.timeNs >= start.timeNs - 1_000_000) : [];
    synsSent = syns.length;
    // As ctsim measures it: from the first SYN to the moment the socket is ESTABLISHED, which the
    // capture shows as the handshake's final ACK (seq = ISN + 1). The program's own measure adds
    // its wake-up latency; it is the fallback when the connect failed.
    const established = syns.length ? packets.find((p) => p.src === app && p.flags === '.' && p.seq === ((syns[0].seq + 1) >>> 0) && p.timeNs > syns[0].timeNs) : undefined;
    const secs = (ok ?? err)?.data.seconds;
    connectSeconds = ok && established ? (established.timeNs - syns[0].timeNs) / 1e9 : lastFailedAtOnce ? null : typeof secs === 'number' ? secs : null;
  }
  return { appFinReachedSidecar, leakSeconds, sidecarClosedAtSec, connect, connectSeconds, synsSent, invalidPackets: invalid, callErrors, connectAttempts };
}

/** Runs one variant of an incident in fresh namespaces (removed again whatever happens). */
export async function runRealScenario(which: ScenarioName | ScenarioVariant, o: RealRunOptions = {}): Promise<RealScenarioResult> {
  const base = typeof which === 'string' ? findVariant(which)! : which;
  const variant: ScenarioVariant = o.timings ? { ...base, timings: o.timings } : base;
  const name = variant.name;
  const t = variant.timings;
  const sysctls = variantSysctls(variant);
  const wall0 = performance.now();
  const lab = new ScenarioLab(name === 'half-close-leak' ? 'hcl' : 'pc');
  try {
    lab.create(sysctls, variant.invalidDrop ? invalidDropRules(variant.invalidDrop) : null, { logInvalid: true });
    const dir = lab.dir;
    const py = labPython();
    const scripts = lab.programs();
    const limitMs = (t.windowSec + 30) * 1000;
    const podIfs = lab.interfaces(lab.pod);
    const upIfs = lab.interfaces(lab.upstream);
    const podPcap = join(dir, 'pod.pcap');
    const upPcap = join(dir, 'upstream.pcap');
    // -i any: every interface of the namespace (SLL2, with the interface index and direction).
    const dumps = [
      lab.start(lab.pod, 'tcpdump (pod)', 'tcpdump', ['-i', 'any', '-U', '-n', '-s', '0', '-w', podPcap, 'tcp'], { limitMs }),
      lab.start(lab.upstream, 'tcpdump (upstream)', 'tcpdump', ['-i', 'any', '-U', '-n', '-s', '160', '-w', upPcap, 'tcp'], { limitMs }),
    ];
    for (const d of dumps) await d.waitFor((p) => /listening on/.test(p.stderr), 10_000, 'capture start');
    // The kernel's own INVALID list, when the kernel can log it (NFLOG) and tcpdump can read it.
    const invalidPcap = join(dir, 'invalid.pcap');
    let invalidLogged = lab.invalidLogged;
    if (invalidLogged) {
      const nflog = lab.start(lab.pod, 'tcpdump (nflog)', 'tcpdump', ['-i', `nflog:${INVALID_NFLOG_GROUP}`, '-U', '-n', '-s', '0', '-w', invalidPcap], { limitMs });
      try {
        await nflog.waitFor((p) => /listening on/.test(p.stderr), 10_000, 'capture start');
        dumps.push(nflog);
      } catch {
        invalidLogged = false;
        await nflog.stop('SIGKILL', 1000);
      }
    }
    const events = lab.start(lab.pod, 'conntrack -E', 'conntrack', ['-E', '-o', 'timestamp', '-p', 'tcp'], { limitMs });
    await conntrackListening(events);
    const server = lab.start(lab.upstream, 'upstream.py', py, ['-B', join(scripts, 'upstream.py'), '--port', String(UPSTREAM_PORT), '--close-after', '0.010'], { limitMs });
    const proxy = lab.start(lab.pod, 'proxy.py', py, ['-B', join(scripts, 'proxy.py'), '--port', String(ISTIO_DEFAULTS.outboundCapturePort), '--idle', String(t.idleTimeoutSec), '--connect-timeout', String(PROXY_CONNECT_TIMEOUT_SEC)], { uid: ISTIO_DEFAULTS.proxyUid, limitMs });
    const ready = (p: LabProcess) => p.lines.some((l) => l.text.includes('"ready"'));
    await server.waitFor(ready, 10_000, 'ready line');
    await proxy.waitFor(ready, 10_000, 'ready line');
    const appArgs = ['-B', join(scripts, 'app.py'), '--dst', `${UPSTREAM_IP}:${UPSTREAM_PORT}`, '--port', String(APP_PORT), '--close-at', String(t.appCloseAtSec), '--hold', String(t.windowSec + 20)];
    if (name === 'port-collision') appArgs.push('--reconnect-at', String(t.reconnectAtSec), '--attempts', String(t.reconnectAttempts), '--retry-interval', String(t.reconnectIntervalSec));
    const app = lab.start(lab.pod, 'app.py', py, appArgs, { uid: APP_UID, limitMs });
    await app.waitFor((p) => p.lines.length > 0, 10_000, 'first connect()');
    const appStartMs = (JSON.parse(app.lines[0].text) as { t: number }).t * 1000;

    // Snapshots while it runs: the leaked sockets after the close, and before the end.
    const snapshots: Array<Snapshot & { epochMs: number }> = [];
    const snap = (label: string) => snapshots.push({
      label, timeNs: 0, epochMs: Date.now(),
      ss: lab.ns(lab.pod, 'ss', ['-tanoe'], { allowFail: true }).split('\n').filter((l) => l && !l.startsWith('State')).map((l) => `pod      ${l.replace(/\s+ino:\d+.*$/, '')}`),
      conntrack: lab.ns(lab.pod, 'conntrack', ['-L', '-p', 'tcp'], { allowFail: true }).split('\n').filter((l) => l.startsWith('tcp')),
    });
    await sleep(appStartMs + (t.appCloseAtSec + 1) * 1000 - Date.now());
    snap(`after the app closed (t=${t.appCloseAtSec + 1} s)`);
    await sleep(appStartMs + t.windowSec * 1000 - Date.now());
    if (app.exited) throw new LabError(`app.py exited early (${app.exitCode}): ${app.stderr.trim().slice(-400)}`);
    // The invalid counter first, at the window's end: in a slow (UML) guest the snapshot's
    // commands take long enough for later packets to count. When it was read goes with it.
    const statsFromMs = Date.now();
    const stats = lab.ns(lab.pod, 'conntrack', ['-S'], { allowFail: true });
    const statsToMs = Date.now();
    const invalid = [...stats.matchAll(/invalid=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    // conntrack -L also reaps entries that expired but that no packet or GC pass has touched yet,
    // so their DESTROY events are reported before the run ends.
    snap(`end of the run (t=${t.windowSec} s)`);
    // nfnetlink_log batches messages and sends them after up to 1 s (its flush timeout): wait
    // for the last INVALID packets to reach the NFLOG capture.
    await sleep(invalidLogged ? 1300 : 200);
    await events.stop('SIGINT');
    for (const d of dumps) await d.stop('SIGINT');
    for (const p of [app, proxy, server]) await p.stop('SIGTERM', 1000);

    const raw = [...capturePackets(podPcap, 'pod', podIfs), ...capturePackets(upPcap, 'upstream', upIfs)].sort((a, b) => (a.epochNs < b.epochNs ? -1 : a.epochNs > b.epochNs ? 1 : 0));
    const first = raw.find((p) => p.host === 'pod' && p.src === `${POD_IP}:${APP_PORT}` && p.flags === 'S');
    if (!first) throw new LabError(`no SYN from the application (${POD_IP}:${APP_PORT}) was captured in the pod; app said: ${app.lines.map((l) => l.text).join(' ')} ${app.stderr}`);
    const t0 = first.epochNs;
    const rel = (ns: bigint) => Number(ns - t0);
    const packets: LadderPacket[] = raw.map(({ epochNs, ...p }) => ({ ...p, timeNs: rel(epochNs) }));
    const conntrackEvents = parseConntrackEvents(events).map((e) => ({ timeNs: rel(e.epochNs), text: e.text }));
    const progs = [...programEvents(app, 'app'), ...programEvents(proxy, 'proxy'), ...programEvents(server, 'upstream')]
      .map((e) => ({ ...e, timeNs: rel(BigInt(e.timeNs)) })).sort((a, b) => a.timeNs - b.timeNs);
    let keptIn: string | undefined;
    if (o.keepDir) {
      ensureDirectory(o.keepDir);
      writeFileAtomic(join(o.keepDir, `${variant.id}-pod.pcap`), readFileSync(podPcap));
      writeFileAtomic(join(o.keepDir, `${variant.id}-upstream.pcap`), readFileSync(upPcap));
      if (invalidLogged) writeFileAtomic(join(o.keepDir, `${variant.id}-invalid.pcap`), readFileSync(invalidPcap));
      const end = snapshots.at(-1);
      const atSec = end ? Number(BigInt(Math.round(end.epochMs * 1e6)) - t0) / 1e9 : t.windowSec;
      writeFileAtomic(join(o.keepDir, `${variant.id}-conntrack.txt`), `# conntrack -L -p tcp in the pod at=${atSec.toFixed(3)} s after the app's first SYN (${end?.label ?? 'the end'}); conntrack -S invalid=${invalid}\n${(end?.conntrack ?? []).join('\n')}\n`);
      writeFileAtomic(join(o.keepDir, `${variant.id}-events.txt`), [...conntrackEvents.map((e) => `${(e.timeNs / 1e9).toFixed(6)} conntrack ${e.text}`), ...progs.map((e) => `${(e.timeNs / 1e9).toFixed(6)} ${e.prog} ${JSON.stringify(e.data)}`)].join('\n') + '\n');
      keptIn = o.keepDir;
    }
    return {
      name, variant, kernel: release(), timings: { ...t }, sysctls, packets, conntrackEvents, programEvents: progs,
      snapshots: snapshots.map(({ epochMs, ...s }) => ({ ...s, timeNs: rel(BigInt(Math.round(epochMs * 1e6))) })),
      outcome: realOutcome(name, packets, progs, invalid),
      invalidReadNs: { from: rel(BigInt(statsFromMs) * 1_000_000n), to: rel(BigInt(statsToMs) * 1_000_000n) },
      t0EpochNs: t0, endNs: Math.max(t.windowSec * 1e9, ...conntrackEvents.map((e) => e.timeNs), ...packets.map((p) => p.timeNs)),
      wallSeconds: (performance.now() - wall0) / 1000, keptIn,
    };
  } finally {
    lab.destroy();
  }
}

