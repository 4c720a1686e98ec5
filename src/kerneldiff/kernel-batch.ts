// One differential run: inject the prepared packets into the router namespace in order (client
// side packets on one veth, server side on the other), let R's conntrack judge them, and read
// back what it decided: a mangle FORWARD rule per ctstate stamps the packet's DSCP field, a
// capture of R's outgoing packets reads the stamps, and `conntrack -L` gives the entries' final
// state. Packets R did not forward (dropped before FORWARD) show up as 'dropped'.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink, PcapWriter, readCaptureBytes } from '../pcap/index.js';
import type { CtState } from '../conntrack/verdict.js';
import { ETHERNET_HEADER_LEN, EtherType, LinkType, PacketView, emitEthernet, parseIpv4Address } from '../wire/index.js';
import { LabError, type NetnsLab } from './netns-lab.js';
import type { InjectedPacket } from './prepare-cases.js';

/** The ctstate R's conntrack gave a packet, or 'dropped' when R did not forward it. */
export type KernelCtState = CtState | 'dropped';

const DSCP: Array<[number, KernelCtState]> = [[1, 'INVALID'], [2, 'NEW'], [3, 'ESTABLISHED'], [4, 'RELATED'], [5, 'UNTRACKED']];

export interface KernelEntry {
  state: string;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  unreplied: boolean;
  assured: boolean;
  timeoutSecs: number;
}

export interface KernelBatchResult {
  /** Per injected packet (same order): what R's conntrack said. */
  states: KernelCtState[];
  entries: KernelEntry[];
  wallSeconds: number;
  /** The injection rate used (packets per second): ctsim replays the run on the same clock. */
  pps: number;
  /**
   * Packets the run lost outside conntrack (packetsLost): injected but never received by R's
   * interfaces (a full veth backlog on a slow or loaded machine), dropped by the capture, or sent
   * by R but missing from the capture (stopped before it was drained). A lossy run says
   * nothing about conntrack; the caller retries it slower.
   */
  lost: number;
}

/** Packets per second injected: spaced so both veths' packets reach R's conntrack in order. */
export const INJECT_PPS = 4000;

/** What R forwards, captured with a snaplen: the headers are there, the payload may be cut. */
const CAPTURE_SNAPLEN = 256;

/** Fields the router does not change (TTL, DSCP and the IP checksum are excluded). */
function packetKey(view: PacketView): string {
  const { ip, tcp } = view;
  const total = ip.totalLength;
  const ports = total >= ip.headerLength + 14 ? `${tcp.srcPort}:${tcp.dstPort}:${tcp.seq}:${tcp.ack}:${tcp.flags & 0xff}` : '';
  return `${ip.src}>${ip.dst}|${ip.identification}|${total}|${ip.protocol}|${ports}`;
}

/** Packets R's two lab interfaces have received so far. */
function receivedByR(lab: NetnsLab): number {
  const links = JSON.parse(lab.ns(lab.r, 'ip', ['-s', '-j', 'link', 'show'])) as Array<{ ifname: string; stats64?: { rx?: { packets?: number } } }>;
  return links.filter((l) => l.ifname === lab.ra.dev || l.ifname === lab.rb.dev).reduce((n, l) => n + (l.stats64?.rx?.packets ?? 0), 0);
}

/** Packets R's two lab interfaces have sent so far (what the capture of R's outgoing packets must hold). */
function sentByR(lab: NetnsLab): number {
  const links = JSON.parse(lab.ns(lab.r, 'ip', ['-s', '-j', 'link', 'show'])) as Array<{ ifname: string; stats64?: { tx?: { packets?: number } } }>;
  return links.filter((l) => l.ifname === lab.ra.dev || l.ifname === lab.rb.dev).reduce((n, l) => n + (l.stats64?.tx?.packets ?? 0), 0);
}

export interface KernelBatchOptions {
  /**
   * Keep the scratch directory (injection pcap, R's capture) instead of removing it, and report
   * it with tcpdump's own messages (for looking into a disagreement by hand).
   */
  onKeptScratch?: (kept: { dir: string; tcpdumpLog: string }) => void;
}

export async function runKernelBatch(lab: NetnsLab, packets: InjectedPacket[], pps: number = INJECT_PPS, opts: KernelBatchOptions = {}): Promise<KernelBatchResult> {
  // Owned by the lab: removed with it on errors and interrupts (and after a SIGKILL, by the next run).
  const dir = lab.scratchFolder('batch');
  let dump: ChildProcess | null = null;
  let dumpErr = '';
  try {
    // R: flush conntrack, stamp ctstate into DSCP at FORWARD.
    lab.ns(lab.r, 'conntrack', ['-F'], { allowFail: true });
    lab.ns(lab.r, 'iptables', ['-t', 'mangle', '-F', 'FORWARD']);
    for (const [code, st] of DSCP) lab.ns(lab.r, 'iptables', ['-t', 'mangle', '-A', 'FORWARD', '-m', 'conntrack', '--ctstate', st, '-j', 'DSCP', '--set-dscp', String(code)]);

    // The injection file: Ethernet frames to R's MAC on the side they come from.
    const inject = packets.filter((p) => !p.skipped);
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.ETHERNET, nanosecond: false });
    inject.forEach((p, i) => {
      const f = new Uint8Array(ETHERNET_HEADER_LEN + p.bytes.length);
      emitEthernet({ src: p.side === 'a' ? lab.ea.mac : lab.eb.mac, dst: p.side === 'a' ? lab.ra.mac : lab.rb.mac, etherType: EtherType.IPV4 }, f);
      f.set(p.bytes, ETHERNET_HEADER_LEN);
      w.writePacket(BigInt(i) * BigInt(Math.round(1e9 / pps)), f);
    });
    w.close();
    const pcap = join(dir, 'inject.pcap');
    const cache = join(dir, 'inject.cache');
    const cap = join(dir, 'r-out.pcap');
    writeFileSync(pcap, sink.bytes());
    lab.ns(lab.e, 'tcpprep', ['--cidr=198.18.0.0/16', '-i', pcap, '-o', cache]);

    // Capture what R sends (both veths), then inject.
    // Both directions on every interface (SLL2 carries the direction: 4 = outgoing).
    dump = lab.spawnIn(lab.r, 'tcpdump', ['-i', 'any', '--immediate-mode', '-U', '-n', '-s', String(CAPTURE_SNAPLEN), '-w', cap], { stdio: ['ignore', 'ignore', 'pipe'] });
    const d0 = dump;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabError('tcpdump did not start within 10 s')), 10_000);
      d0.stderr!.on('data', (d: Buffer) => {
        dumpErr += d.toString();
        if (/listening on/.test(dumpErr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      d0.on('exit', (code) => reject(new LabError(`tcpdump exited early (${code})`)));
    });
    const t0 = performance.now();
    const rx0 = receivedByR(lab);
    const tx0 = sentByR(lab);
    if (inject.length) {
      lab.ns(lab.e, 'tcpreplay', ['-q', `--pps=${pps}`, '-i', lab.ea.dev, '-I', lab.eb.dev, '-c', cache, pcap], { timeoutMs: Math.ceil(60_000 + ((inject.length * 1000) / pps) * 3) });
    }
    await new Promise((r) => setTimeout(r, 300));
    // tcpdump writes what it has read when it stops, not what still waits in its socket: on a
    // slow kernel (a UML guest) let the capture file stop growing first.
    await settled(cap);
    const entries = parseConntrackList(lab.ns(lab.r, 'conntrack', ['-L'], { allowFail: true }));
    const received = receivedByR(lab) - rx0;
    const sent = sentByR(lab) - tx0;
    const wallSeconds = (performance.now() - t0) / 1000;
    await stopCapture(d0);
    dump = null;

    // Match what left R to what went in, in order per identical packet.
    const seen = new Map<string, KernelCtState[]>();
    const view = new PacketView();
    let capturedOutgoing = 0;
    for (const rec of readCaptureBytes(readFileSync(cap))) {
      view.decodeFrame(rec.iface.linkType, rec.data);
      if (view.linkError) throw view.linkError;
      if (view.link.outgoing) capturedOutgoing++;
      if (view.link.etherType !== EtherType.IPV4 || !view.link.outgoing || !view.ipv4Header) continue;
      const dscp = view.ip.dscp;
      const st = DSCP.find(([c]) => c === dscp)?.[1] ?? 'UNTRACKED';
      const k = packetKey(view);
      const q = seen.get(k);
      if (q) q.push(st);
      else seen.set(k, [st]);
    }
    const states = packets.map((p): KernelCtState => {
      if (p.skipped) return 'dropped';
      const q = seen.get(packetKey(view.decodeIpv4(p.bytes)));
      return q && q.length ? q.shift()! : 'dropped';
    });
    const lost = packetsLost({ injected: inject.length, receivedByR: received, sentByR: sent, capturedOutgoing, tcpdumpLog: dumpErr });
    return { states, entries, wallSeconds, pps, lost };
  } finally {
    if (dump) await stopCapture(dump); // never leave the capture running (it would keep us alive)
    if (opts.onKeptScratch) {
      lab.keepScratch(dir);
      opts.onKeptScratch({ dir, tcpdumpLog: dumpErr });
    } else {
      lab.removeScratch(dir);
    }
  }
}

/** What a run counted on its way: the inputs of its loss figure. */
export interface RunCounts {
  injected: number;
  /** Packets R's two lab interfaces received during the run. */
  receivedByR: number;
  /** Packets R's two lab interfaces sent during the run. */
  sentByR: number;
  /** Outgoing packets (any interface, any protocol) in the capture of R. */
  capturedOutgoing: number;
  /** tcpdump's own messages (its closing statistics). */
  tcpdumpLog: string;
}

/**
 * Packets a run lost outside conntrack: injected but never received by R (a full veth backlog),
 * dropped by the capture (tcpdump's statistics), or sent by R but missing from the capture (it
 * was stopped before tcpdump read its socket's tail: a guest that stalled longer than the settling
 * wait; those packets would otherwise read as 'dropped' verdicts). IPv6 neighbour discovery may
 * add packets to the counters, so only a shortfall counts.
 */
export function packetsLost(c: RunCounts): number {
  const count = (what: string) => Number(new RegExp(`(\\d+) packets? ${what}`).exec(c.tcpdumpLog)?.[1] ?? 0);
  const notReceived = Math.max(0, c.injected - c.receivedByR);
  const captureDropped = count('dropped by kernel') + Math.max(0, count('received by filter') - count('captured'));
  const notCaptured = Math.max(0, c.sentByR - c.capturedOutgoing);
  return notReceived + captureDropped + notCaptured;
}

/** Resolves when `file` has not grown for 1.5 s (at most 30 s): a loaded guest's tcpdump pauses. */
async function settled(file: string): Promise<void> {
  const size = () => (existsSync(file) ? statSync(file).size : 0);
  let last = size();
  let still = 0;
  for (let waited = 0; still < 15 && waited < 30_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    const now = size();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** Stops tcpdump (SIGINT lets it flush), killing it if it does not exit within 5 s. */
function stopCapture(p: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve();
    }, 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGINT');
  });
}

/** Parses `conntrack -L` lines for TCP. */
export function parseConntrackList(text: string): KernelEntry[] {
  const out: KernelEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^tcp\s+6\s+(\d+)\s+(\S+)\s+src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({
      timeoutSecs: Number(m[1]), state: m[2], src: parseIpv4Address(m[3]), dst: parseIpv4Address(m[4]), sport: Number(m[5]), dport: Number(m[6]),
      unreplied: m[7].includes('[UNREPLIED]'), assured: m[7].includes('[ASSURED]'),
    });
  }
  return out;
}
