// One differential run: inject the prepared packets into the router namespace in order (client
// side packets on one veth, server side on the other), let R's conntrack judge them, and read
// back what it decided: a mangle FORWARD rule per ctstate stamps the packet's DSCP field, a
// capture of R's outgoing packets reads the stamps, and `conntrack -L` gives the entries' final
// state. Packets R did not forward (dropped before FORWARD) show up as 'dropped'.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySink, PcapWriter, readCaptureBytes } from '../pcap/index.js';
import { EtherType, LinkType, decodeLinkLayer, emitEthernet, readU16, readU32 } from '../wire/index.js';
import { LabError, type NetnsLab } from './netns-lab.js';
import type { InjectedPacket } from './prepare-cases.js';

export type KernelCtState = 'INVALID' | 'NEW' | 'ESTABLISHED' | 'RELATED' | 'UNTRACKED' | 'dropped';

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
   * Packets the run lost outside conntrack: injected but never received by R's interfaces (a
   * full veth backlog on a slow or loaded machine), dropped by the capture, or sent by R but
   * missing from the capture (stopped before it was drained). A lossy run says
   * nothing about conntrack; the caller retries it slower.
   */
  lost: number;
}

/** Packets per second injected: spaced so both veths' packets reach R's conntrack in order. */
export const INJECT_PPS = 4000;

function packetKey(b: Uint8Array, off: number): string {
  const hl = (b[off] & 0x0f) << 2;
  const total = readU16(b, off + 2);
  // Fields the router does not change (TTL, DSCP and the IP checksum are excluded).
  return `${readU32(b, off + 12)}>${readU32(b, off + 16)}|${readU16(b, off + 4)}|${total}|${b[off + 9]}|${total >= hl + 14 ? `${readU16(b, off + hl)}:${readU16(b, off + hl + 2)}:${readU32(b, off + hl + 4)}:${readU32(b, off + hl + 8)}:${b[off + hl + 13]}` : ''}`;
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

export async function runKernelBatch(lab: NetnsLab, packets: InjectedPacket[], pps: number = INJECT_PPS): Promise<KernelBatchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-kd-'));
  let dump: ReturnType<typeof spawn> | null = null;
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
      const f = new Uint8Array(14 + p.bytes.length);
      emitEthernet({ src: p.side === 'a' ? lab.ea.mac : lab.eb.mac, dst: p.side === 'a' ? lab.ra.mac : lab.rb.mac, etherType: EtherType.IPV4 }, f);
      f.set(p.bytes, 14);
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
    dump = spawn('ip', ['netns', 'exec', lab.r, 'tcpdump', '-i', 'any', '--immediate-mode', '-U', '-n', '-s', '256', '-w', cap], { stdio: ['ignore', 'ignore', 'pipe'] });
    let dumpErr = '';
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
    // (IPv6 neighbour discovery may add a few packets; only a shortfall means loss.)
    const notReceived = Math.max(0, inject.length - (receivedByR(lab) - rx0));
    const sent = sentByR(lab) - tx0;
    const wallSeconds = (performance.now() - t0) / 1000;
    await stopCapture(d0);
    dump = null;
    const count = (what: string) => Number(new RegExp(`(\\d+) packets? ${what}`).exec(dumpErr)?.[1] ?? 0);
    const captureDropped = count('dropped by kernel') + Math.max(0, count('received by filter') - count('captured'));

    if (process.env.CTSIM_KD_KEEP) process.stderr.write(`kernel-diff: tcpdump said: ${dumpErr}\n`);
    // Match what left R to what went in, in order per identical packet.
    const seen = new Map<string, KernelCtState[]>();
    let capturedOutgoing = 0;
    for (const rec of readCaptureBytes(readFileSync(cap))) {
      const l = decodeLinkLayer(rec.iface.linkType, rec.data);
      if (l.outgoing) capturedOutgoing++;
      if (l.etherType !== EtherType.IPV4 || !l.outgoing) continue;
      const off = l.networkOffset;
      const dscp = rec.data[off + 1] >>> 2;
      const st = DSCP.find(([c]) => c === dscp)?.[1] ?? 'UNTRACKED';
      const k = packetKey(rec.data, off);
      const q = seen.get(k);
      if (q) q.push(st);
      else seen.set(k, [st]);
    }
    const states = packets.map((p): KernelCtState => {
      if (p.skipped) return 'dropped';
      const q = seen.get(packetKey(p.bytes, 0));
      return q && q.length ? q.shift()! : 'dropped';
    });
    // A capture stopped before tcpdump read its socket's tail (a guest stalled longer than the
    // settling wait) holds fewer packets than R sent: those would read as 'dropped'.
    const notCaptured = Math.max(0, sent - capturedOutgoing);
    return { states, entries, wallSeconds, pps, lost: notReceived + captureDropped + notCaptured };
  } finally {
    if (dump) await stopCapture(dump); // never leave the capture running (it would keep us alive)
    if (process.env.CTSIM_KD_KEEP) process.stderr.write(`kernel-diff: kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
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
function stopCapture(p: ReturnType<typeof spawn>): Promise<void> {
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
    const toNum = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) >>> 0;
    out.push({
      timeoutSecs: Number(m[1]), state: m[2], src: toNum(m[3]), dst: toNum(m[4]), sport: Number(m[5]), dport: Number(m[6]),
      unreplied: m[7].includes('[UNREPLIED]'), assured: m[7].includes('[ASSURED]'),
    });
  }
  return out;
}
