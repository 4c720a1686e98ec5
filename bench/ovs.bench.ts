// The same packets through Open vSwitch's userspace conntrack and through ctsim's table. Debian
// ships no `ovstest test-conntrack`, so OVS is timed through its dummy datapath (ovs-vswitchd
// --enable-dummy, started in a temporary folder) and its fixed per-packet cost is subtracted:
// every group of packets goes in twice, alternately, through p1, whose flows send TCP through
// ct() (track, commit new connections, drop), and through p3, whose flows drop the same packets
// without ct(). Interleaving group by group lets load changes hit both equally. The difference
// is what ct() costs per packet (conntrack lookup, TCP tracking, commit, and the recirculation
// ct(table=1) implies); the fixed cost (control socket, hex parsing, flow extraction, megaflow
// lookup, main-loop wake-ups) is in both and cancels. ctsim tracks the same bytes with
// Conntrack.track (+ confirm for new entries) in the same run. Without OVS the benchmark says
// why and records nothing.
import { Conntrack } from '../src/conntrack/conntrack.js';
import { Outcome } from '../src/conntrack/verdict.js';
import { OvsLab, SIDE_PORT, findOvs } from '../src/conformance/ovs/ovs-lab.js';
import { GROUP_MAX, OvsPort, ipv4Frame } from '../src/conformance/ovs/ovs-port.js';
import { TcpFlag, encodeSegment, ip } from '../src/wire/index.js';
import type { BenchRecord } from './record.js';

const FLOWS = [
  'table=0,priority=20,tcp,in_port=3,actions=resubmit(,2)',
  'table=0,priority=10,tcp,in_port=1,actions=ct(table=1)',
  'table=0,priority=0,actions=output:2',
  'table=1,priority=20,ct_state=+trk+new,tcp,actions=ct(commit)',
  'table=1,priority=0,actions=drop',
  'table=2,priority=0,actions=drop',
  '',
].join('\n');

/** `conns` connections: handshake, then `rounds` of 100 bytes client -> server and the ACK back. */
export function ovsBenchPackets(conns: number, rounds: number): Uint8Array[] {
  const { SYN, ACK, PSH } = TcpFlag;
  const server = ip('198.19.0.1');
  const data = new Uint8Array(100);
  const flows = Array.from({ length: conns }, (_, i) => ({ c: (ip('198.18.0.0') + 1 + i) >>> 0, port: 40000 + (i % 20000), cs: (i * 7919 + 1) >>> 0, ss: (i * 104729 + 5) >>> 0 }));
  const seg = (src: number, dst: number, sp: number, dp: number, seq: number, ack: number, flags: number, payload?: Uint8Array) =>
    encodeSegment({ src, dst, srcPort: sp, dstPort: dp, seq: seq >>> 0, ack: ack >>> 0, flags, window: 502, payload });
  const out: Uint8Array[] = [];
  for (const f of flows) {
    out.push(seg(f.c, server, f.port, 80, f.cs, 0, SYN), seg(server, f.c, 80, f.port, f.ss, f.cs + 1, SYN | ACK), seg(f.c, server, f.port, 80, f.cs + 1, f.ss + 1, ACK));
  }
  for (let r = 0; r < rounds; r++) {
    for (const f of flows) {
      const seq = f.cs + 1 + r * 100;
      out.push(seg(f.c, server, f.port, 80, seq, f.ss + 1, ACK | PSH, data), seg(server, f.c, 80, f.port, f.ss + 1, seq + 100, ACK));
    }
  }
  return out;
}

/** ns per packet through p1 (ct) and p3 (no ct), group by group. */
async function timeOvs(port: OvsPort, frames: Uint8Array[]): Promise<{ ct: number; plain: number }> {
  let ct = 0n;
  let plain = 0n;
  for (let i = 0; i < frames.length; i += GROUP_MAX) {
    const g = frames.slice(i, i + GROUP_MAX);
    const t0 = process.hrtime.bigint();
    await port.send(g);
    const t1 = process.hrtime.bigint();
    await port.send(g, SIDE_PORT);
    plain += process.hrtime.bigint() - t1;
    ct += t1 - t0;
  }
  return { ct: Number(ct) / frames.length, plain: Number(plain) / frames.length };
}

function timeCtsim(packets: Uint8Array[]): number {
  const ct = new Conntrack({ kernel: '6.18', initialCapacity: 4096 });
  const t0 = process.hrtime.bigint();
  for (const p of packets) {
    const v = ct.track(p, 0, p.length, 0, 'prerouting');
    if (v.created && v.outcome === Outcome.ACCEPT) ct.confirm(v.entry, 0);
  }
  return Number(process.hrtime.bigint() - t0) / packets.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchOvs(quick: boolean): Promise<BenchRecord[]> {
  const tools = findOvs();
  if (typeof tools === 'string') {
    process.stderr.write(`  vs-ovs: skipped (${tools})\n`);
    return [];
  }
  const conns = quick ? 200 : 1000;
  const packets = ovsBenchPackets(conns, quick ? 10 : 40);
  const frames = packets.map(ipv4Frame);
  const lab = await OvsLab.start({ flows: FLOWS, tools, stopClock: false });
  const port = new OvsPort(lab);
  const withCt: number[] = [];
  const without: number[] = [];
  const ctsim: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      await lab.rpc.call('dpctl/flush-conntrack');
      const t = await timeOvs(port, frames);
      withCt.push(t.ct);
      without.push(t.plain);
      for (let k = 0; k < 5; k++) ctsim.push(timeCtsim(packets));
    }
  } finally {
    port.close();
    await lab.stop();
  }
  const ovsCt = median(withCt) - median(without);
  const ctsimNs = median(ctsim);
  const version = lab.version.replace(/^ovs-vswitchd \(Open vSwitch\) /, '');
  process.stderr.write(`  vs-ovs: OVS ${version} dummy datapath ${median(withCt).toFixed(0)} ns/packet with ct(), ${median(without).toFixed(0)} without: ct() ${ovsCt.toFixed(0)} ns; ctsim ${ctsimNs.toFixed(0)} ns/packet\n`);
  const detail = { runsWithCtNs: withCt, runsWithoutCtNs: without, packets: packets.length, connections: conns, ovsVersion: version, ovsWithCtNs: median(withCt), ovsWithoutCtNs: median(without), ovsCtNs: ovsCt, ctsimNs, method: 'dummy datapath: each group through ct() (p1) and without (p3), alternating; medians of 3 runs' };
  const definition = {
    operation: 'one packet through conntrack: ctsim track (+ confirm) against the per-packet cost OVS\'s ct() adds in its userspace datapath',
    keys: 'the same packets for both (1 handshake and rounds of data + ACK per connection)',
    flows: `${conns} connections, packets in order`,
    harness: 'OVS: dummy datapath timed group by group with and without ct() (difference of medians of 3 runs); ctsim: median of 15 timed runs',
  };
  return [{
    workload: 'vs-ovs', variant: `OVS ${version} ct() (dummy datapath difference)`, entries: conns, unit: 'packets/s', definition, opsPerSec: 1e9 / ctsimNs,
    results: [{ impl: 'ctsim track', opsPerSec: 1e9 / ctsimNs, nsPerOp: ctsimNs }, ...(ovsCt > 0 ? [{ impl: `OVS ${version} ct()`, opsPerSec: 1e9 / ovsCt, nsPerOp: ovsCt }] : [])],
    bytesPerEntry: null, detail,
  }];
}
