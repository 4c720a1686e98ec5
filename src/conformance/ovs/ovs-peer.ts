// Open vSwitch's userspace conntrack as a conformance peer. Cases run in batches on one OVS:
// each case's addresses are mapped one to one onto addresses of its own (clients of NAT cases in
// 198.18.128.0/17, of other cases in 198.18.0.0/17, servers in 198.19.0.0/16 but the sidecar's
// /24, which stays), so a batch's cases never share an entry; the table is flushed between
// batches. The batch's packets are merged on one clock (each case's time from its own first
// packet) and injected millisecond by millisecond: the datapath's clock is stopped and moved with
// time/warp to each packet's millisecond (conntrack's time_msec() resolution). After each group
// a marker frame follows the packets through the same port and queue; once it appears on p2,
// every packet before it has been processed, and the outputs before it are matched to the
// group's packets in order (a packet OVS did not output counts as dropped).
import { EtherType, Ipv4Packet, ethernetDstLowByte, ethernetParts, formatIpv4Address, inPrefix, ip, ipv4Endpoints, withIpv4Endpoints } from '../../wire/index.js';
import { PeerError } from '../errors.js';
import type { Peer, PeerProgress } from '../peer.js';
import type { SuiteCase } from '../suite-case.js';
import type { VerdictLine, VerdictName } from '../verdict-line.js';
import { CtState, ctStateText, ovsFlows } from './ovs-flows.js';
import { OvsLab, type OvsLabOptions } from './ovs-lab.js';
import { GROUP_MAX, OvsPort, ipv4Frame } from './ovs-port.js';

const BATCH_CASES = 400;

const CLIENT_NET = ip('198.18.0.0');
const NAT_CLIENT_BASE = ip('198.18.128.0');
const SERVER_NET = ip('198.19.0.0');
const SIDECAR_NET = ip('198.19.255.0');

interface Injected {
  caseIndex: number;
  n: number;
  timeNs: number;
  frame: Uint8Array;
  /** Total length and IPv4 identification: enough to pair an output with its input in order. */
  fingerprint: string;
}

function fingerprint(ipBytes: Uint8Array): string {
  return ipBytes.length >= 6 ? `${ipBytes.length}:${new Ipv4Packet(ipBytes).identification}` : `${ipBytes.length}`;
}

/** One-to-one address maps for the cases of a batch. */
class AddressPlan {
  private clients = 0;
  private natClients = 0;
  private servers = 0;

  /** The case's address map (original -> batch address); sidecar and foreign addresses stay. */
  mapCase(c: SuiteCase): Map<number, number> {
    const m = new Map<number, number>();
    for (const p of c.packets) {
      const e = ipv4Endpoints(p.bytes);
      if (!e) continue;
      for (const a of [e.src, e.dst]) {
        if (m.has(a)) continue;
        if (inPrefix(a, CLIENT_NET, 16)) m.set(a, c.nat ? (NAT_CLIENT_BASE + 1 + this.natClients++) >>> 0 : (CLIENT_NET + 1 + this.clients++) >>> 0);
        else if (inPrefix(a, SERVER_NET, 16) && !inPrefix(a, SIDECAR_NET, 24)) m.set(a, (SERVER_NET + 1 + this.servers++) >>> 0);
        else m.set(a, a);
      }
    }
    return m;
  }

  get full(): boolean {
    return this.clients > 32000 || this.natClients > 32000 || this.servers > 64000;
  }
}

function tupleKeys(c: SuiteCase, m: Map<number, number>): string[] {
  const keys = new Set<string>();
  for (const p of c.packets) {
    const e = ipv4Endpoints(p.bytes);
    if (!e) continue;
    const a = `${m.get(e.src)}:${e.sport}`;
    const b = `${m.get(e.dst)}:${e.dport}`;
    keys.add(a < b ? `${a}|${b}` : `${b}|${a}`);
  }
  return [...keys];
}

function verdictOf(bits: number): { verdict: VerdictName; dir: 'original' | 'reply' | null } {
  if (!(bits & CtState.TRK)) return { verdict: 'untracked', dir: null };
  if (bits & CtState.INV) return { verdict: 'invalid', dir: null };
  const dir = bits & CtState.RPL ? 'reply' : 'original';
  if (bits & CtState.NEW) return { verdict: 'new', dir };
  if (bits & CtState.EST) return { verdict: 'established', dir };
  if (bits & CtState.REL) return { verdict: 'related', dir };
  return { verdict: 'invalid', dir: null };
}

export class OvsPeer implements Peer {
  readonly name: string;
  private readonly port: OvsPort;
  private closed = false;
  /** Warps done and packets injected (for the benchmark's fixed-cost estimate). */
  readonly stats = { warps: 0, groups: 0, packets: 0 };

  private constructor(readonly lab: OvsLab) {
    this.port = new OvsPort(lab);
    this.name = `${lab.version.replace(/^ovs-vswitchd \(Open vSwitch\) /, 'Open vSwitch ')} userspace conntrack (dummy datapath)`;
  }

  static async start(o: Omit<OvsLabOptions, 'flows'> = {}): Promise<OvsPeer> {
    const lab = await OvsLab.start({ ...o, flows: ovsFlows() });
    try {
      // OVS's fragment reassembly (ipf) would hold IPv4 fragments and release them with a later
      // packet; ctsim models conntrack of whole packets (fragments are not tracked, category
      // malformed). Without ipf every packet leaves in its own group, fragments marked +inv.
      await lab.rpc.call('dpctl/ipf-set-disabled', 'v4');
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return new OvsPeer(lab);
  }

  /** Injects one group and returns, per packet, its output frame (null: not output). */
  private async inject(group: readonly Injected[]): Promise<Array<Uint8Array | null>> {
    const outs = await this.port.send(group.map((g) => g.frame));
    this.stats.groups++;
    this.stats.packets += group.length;
    const markerAt = outs.length;
    const result: Array<Uint8Array | null> = [];
    let o = 0;
    for (const g of group) {
      const e = o < markerAt ? ethernetParts(outs[o]) : null;
      if (e && e.etherType === EtherType.IPV4 && fingerprint(e.payload) === g.fingerprint) {
        result.push(outs[o++]);
      } else {
        result.push(null);
      }
    }
    if (o !== markerAt) {
      const got = outs.map((f) => fingerprint(ethernetParts(f)?.payload ?? f));
      throw new PeerError(`OVS output ${markerAt - o} frames that match no injected packet: out [${got.join(' ')}], in [${group.map((g) => g.fingerprint).join(' ')}]`);
    }
    return result;
  }

  private async runBatch(cases: readonly SuiteCase[], offset: number, out: VerdictLine[][]): Promise<void> {
    const rpc = this.lab.rpc;
    await rpc.call('dpctl/flush-conntrack');
    const plan = new AddressPlan();
    const maps: Array<Map<number, number>> = [];
    const inverse: Array<Map<number, number>> = [];
    const all: Injected[] = [];
    cases.forEach((c, ci) => {
      const m = plan.mapCase(c);
      maps.push(m);
      inverse.push(new Map([...m].map(([a, b]) => [b, a])));
      const t0 = c.packets.length ? c.packets[0].timeNs : 0;
      c.packets.forEach((p, pi) => {
        const e = ipv4Endpoints(p.bytes);
        const bytes = e ? withIpv4Endpoints(p.bytes, { src: m.get(e.src)!, dst: m.get(e.dst)! }) : p.bytes;
        all.push({ caseIndex: ci, n: pi + 1, timeNs: p.timeNs - t0, frame: ipv4Frame(bytes), fingerprint: fingerprint(bytes) });
      });
      out[offset + ci] = new Array<VerdictLine>(c.packets.length);
    });
    // Stable: each case's packets keep their order.
    all.sort((a, b) => a.timeNs - b.timeNs);
    let clockMs = 0;
    for (let i = 0; i < all.length;) {
      const ms = Math.floor(all[i].timeNs / 1e6);
      let j = i;
      while (j < all.length && j - i < GROUP_MAX && Math.floor(all[j].timeNs / 1e6) === ms) j++;
      if (ms > clockMs) {
        await rpc.call('time/warp', String(ms - clockMs));
        this.stats.warps++;
        clockMs = ms;
      }
      const group = all.slice(i, j);
      const frames = await this.inject(group);
      group.forEach((g, k) => {
        const c = cases[g.caseIndex];
        const f = frames[k];
        let line: VerdictLine;
        if (f === null) {
          line = { case: c.id, n: g.n, verdict: 'dropped', dir: null, detail: { ovs: 'not output' } };
          if (c.nat) line.nat = null;
        } else {
          const parts = ethernetParts(f)!;
          const bits = ethernetDstLowByte(f);
          const v = verdictOf(bits);
          line = { case: c.id, n: g.n, verdict: v.verdict, dir: v.dir, detail: { ct_state: ctStateText(bits) } };
          if (c.nat) {
            // The packet as it left: attached packets always; others only when OVS rewrote them anyway.
            const e = ipv4Endpoints(parts.payload);
            const before = ipv4Endpoints(ethernetParts(g.frame)!.payload);
            const rewritten = e !== null && before !== null && (e.src !== before.src || e.dst !== before.dst || e.sport !== before.sport || e.dport !== before.dport);
            const back = (a: number) => inverse[g.caseIndex].get(a) ?? a;
            line.nat = e && (v.dir !== null || rewritten) ? { src: formatIpv4Address(back(e.src)), sport: e.sport, dst: formatIpv4Address(back(e.dst)), dport: e.dport } : null;
          }
        }
        out[offset + g.caseIndex][g.n - 1] = line;
      });
      i = j;
    }
    // Let the next batch start on a clock past every entry of this one (they are flushed anyway).
    await rpc.call('time/warp', '1');
  }

  async run(cases: readonly SuiteCase[], onProgress?: (p: PeerProgress) => void): Promise<VerdictLine[][]> {
    if (this.closed) throw new PeerError('the OVS peer is closed');
    const out: VerdictLine[][] = new Array(cases.length);
    let done = 0;
    let packets = 0;
    while (done < cases.length) {
      // A batch: up to BATCH_CASES cases whose (mapped) tuples do not meet.
      const plan = new AddressPlan();
      const taken = new Set<string>();
      const batch: SuiteCase[] = [];
      let k = done;
      for (; k < cases.length && batch.length < BATCH_CASES && !plan.full; k++) {
        const keys = tupleKeys(cases[k], plan.mapCase(cases[k]));
        if (keys.some((x) => taken.has(x))) break; // it starts the next batch
        for (const x of keys) taken.add(x);
        batch.push(cases[k]);
      }
      await this.runBatch(batch, done, out);
      done += batch.length;
      for (const c of batch) packets += c.packets.length;
      onProgress?.({ cases: done, total: cases.length, packets });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.port.close();
    await this.lab.stop();
  }
}
