// The full packet path: raw IPv4/TCP bytes -> parse -> lookup -> tcp_in_window -> state update ->
// REDIRECT rewrite with RFC 1624 incremental checksums, over connections that went through a real
// handshake in the engine (app -> service REDIRECTed to 127.0.0.1:15001). Packets alternate
// between directions; ops = packets. Baseline: the naive pipeline (parse to objects, Map<string>,
// re-emit with full checksums).
import { Conntrack } from '../src/conntrack/conntrack.js';
import { Outcome } from '../src/conntrack/verdict.js';
import { IPV4_MIN_HEADER_LEN, IpProtocol, Ipv4Packet, TcpFlag, TcpSegment, emitIpv4Tcp, ip, parseIpv4Tcp } from '../src/wire/index.js';
import { StringMapTable, type BaselineEntry } from './baselines.js';
import { runSuite, type SuiteOptions } from './harness.js';
import type { BenchRecord } from './record.js';
import { makeTuples } from './workload-keys.js';

const LO = ip('127.0.0.1');
const PROXY_PORT = 15001;
const BATCH = 1024;

const ipv = new Ipv4Packet(new Uint8Array(0));
const seg = new TcpSegment(new Uint8Array(0));

/** A 40-byte IPv4+TCP template rewritten in place (checksums filled): Linux's defaults, DF set. */
function writePacket(b: Uint8Array, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, win: number): void {
  b.fill(0);
  const ip = ipv.reset(b, 0);
  ip.version = 4;
  ip.headerLength = IPV4_MIN_HEADER_LEN;
  ip.totalLength = 40;
  ip.flagsFragment = 0x4000;
  ip.ttl = 64;
  ip.protocol = IpProtocol.TCP;
  ip.src = src >>> 0;
  ip.dst = dst >>> 0;
  ip.fillChecksum();
  const tcp = seg.reset(b, IPV4_MIN_HEADER_LEN, 20);
  tcp.srcPort = sport;
  tcp.dstPort = dport;
  tcp.seq = seq >>> 0;
  tcp.ack = ack >>> 0;
  tcp.dataOffset = 5;
  tcp.flags = flags;
  tcp.window = win;
  tcp.fillChecksum(src >>> 0, dst >>> 0);
}

export interface FullPathSetup {
  ct: Conntrack;
  orig: Uint8Array[];
  reply: Uint8Array[];
  k: number;
}

/** Establishes `entries` REDIRECTed connections through the engine; keeps packets for up to 65536 of them. */
export function setupFullPath(entries: number): FullPathSetup {
  const ct = new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${entries}`], initialCapacity: entries, seed: 7 });
  const t = makeTuples(entries);
  const b = new Uint8Array(40);
  const k = Math.min(entries, 1 << 16);
  const orig: Uint8Array[] = [];
  const reply: Uint8Array[] = [];
  const { SYN, ACK } = TcpFlag;
  for (let i = 0; i < entries; i++) {
    const cs = 1000 + i;
    const ss = 5000 + i;
    writePacket(b, t.src[i], t.dst[i], t.sport[i], t.dport[i], cs, 0, SYN, 64240);
    const v = ct.track(b, 0, 40, 0, 'output');
    if (v.outcome !== Outcome.ACCEPT) throw new Error(`setup SYN ${i}: ${ct.reasonText(v)}`);
    const e = v.entry;
    ct.bindNat(e, 'dnat', LO, PROXY_PORT);
    ct.natManip(b, 0, e, 0, 'dst');
    ct.confirm(e, 0);
    writePacket(b, LO, t.src[i], PROXY_PORT, t.sport[i], ss, cs + 1, SYN | ACK, 65483);
    ct.track(b, 0, 40, 0, 'output');
    writePacket(b, t.src[i], t.dst[i], t.sport[i], t.dport[i], cs + 1, ss + 1, ACK, 502);
    ct.track(b, 0, 40, 0, 'output');
    if (i < k) {
      const o = new Uint8Array(40);
      writePacket(o, t.src[i], t.dst[i], t.sport[i], t.dport[i], cs + 1, ss + 1, ACK, 502);
      const r = new Uint8Array(40);
      writePacket(r, LO, t.src[i], PROXY_PORT, t.sport[i], ss + 1, cs + 1, ACK, 512);
      orig.push(o);
      reply.push(r);
    }
  }
  return { ct, orig, reply, k };
}

/** Runs n packets through the path (alternating directions over the kept connections). */
export function fullPathLoop(s: FullPathSetup): (n: number) => number {
  const work = new Uint8Array(40);
  let c = 0;
  let now = 1;
  return (n: number) => {
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const dir = i & 1;
      work.set(dir ? s.reply[c] : s.orig[c]);
      if (dir && ++c === s.k) c = 0;
      const v = s.ct.track(work, 0, 40, now, 'output');
      if (v.entry >= 0) {
        s.ct.natManip(work, 0, v.entry, v.dir, v.dir === 0 ? 'dst' : 'src');
        accepted++;
      }
    }
    now++;
    return accepted;
  };
}

export function benchFullPath(entries: number, opts: SuiteOptions): BenchRecord {
  const s = setupFullPath(entries);
  const loop = fullPathLoop(s);
  // naive baseline over the same packets
  const smap = new StringMapTable();
  const t = makeTuples(s.k);
  const entriesB: BaselineEntry[] = [];
  for (let i = 0; i < s.k; i++) {
    const e = { id: i, state: 3, timeoutAt: 0, src: t.src[i] >>> 0, dst: t.dst[i] >>> 0, sport: t.sport[i], dport: t.dport[i] };
    entriesB.push(e);
    smap.insert(e);
    smap.insert({ ...e, src: LO, sport: PROXY_PORT, dst: t.src[i] >>> 0, dport: t.sport[i] });
  }
  let c = 0;
  const naive = () => {
    for (let i = 0; i < BATCH; i++) {
      const dir = i & 1;
      const r = parseIpv4Tcp(dir ? s.reply[c] : s.orig[c]);
      if (dir && ++c === s.k) c = 0;
      const ref = smap.lookup(r.ip.src, r.ip.dst, r.tcp.srcPort, r.tcp.dstPort);
      if (!ref) throw new Error('baseline miss');
      ref.entry.state = 3;
      ref.entry.timeoutAt = Date.now() + 432000e3;
      if (dir === 0) {
        r.ip.dst = LO;
        r.tcp.dstPort = PROXY_PORT;
      } else {
        r.ip.src = ref.entry.dst;
        r.tcp.srcPort = ref.entry.dport;
      }
      emitIpv4Tcp(r);
    }
  };
  let acc = 0;
  const res = runSuite(`full path at ${entries} entries (packets/s)`, {
    ctsim: () => {
      acc += loop(BATCH);
    },
    'naive (repr + Map<string> + full checksums)': naive,
  }, opts).map((r) => r.opsPerSec * BATCH);
  if (acc === 0) throw new Error('full path accepted nothing');
  return { workload: 'full-path', entries, opsPerSec: res[0], baselineOpsPerSec: res[1], ratio: res[0] / res[1], bytesPerEntry: null };
}
