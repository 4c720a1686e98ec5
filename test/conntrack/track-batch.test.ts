// Conntrack.trackBatch: a burst of packets gives, packet for packet, what tracking them one by one
// gives (track, the NAT binding for a new entry, the DNAT and SNAT rewrites, confirm), however the
// packets of one burst interact: a flow opened, re-opened after TIME_WAIT, reset or timed out by
// an earlier packet of the same burst, two flows clashing on one REDIRECT reply tuple, packets
// that are not TCP or not whole. And it allocates nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { BatchVerdicts, PacketBatch } from '../../src/conntrack/packet-batch.js';
import { Reason } from '../../src/conntrack/reasons.js';
import { Outcome, type Verdict } from '../../src/conntrack/verdict.js';
import { TcpFlag, encodeSegment, ip } from '../../src/wire/index.js';

const APP = ip('198.18.0.10');
const SVC = [ip('198.19.0.20'), ip('198.19.0.21')];
const LO = ip('127.0.0.1');
const PROXY = 15001;
const { SYN, ACK, FIN, RST, PSH } = TcpFlag;

interface Step {
  port: number; // app port index: few ports, heavy reuse
  svc: number;
  kind: number;
  seqJitter: number;
  payload: number;
}

/** Packets for the steps, with per-flow sequence counters so that most of them are in window. */
function packets(steps: Step[]): Uint8Array[] {
  const seqs = new Map<string, { c: number; s: number }>();
  return steps.map((st) => {
    const port = 40000 + st.port;
    const key = `${st.port}:${st.svc}`;
    const f = seqs.get(key) ?? { c: 1000 + st.port * 7919, s: 5000 + st.svc * 104729 };
    seqs.set(key, f);
    const svc = SVC[st.svc];
    const payload = new Uint8Array(st.payload);
    const orig = (flags: number, p = payload) => {
      const seg = encodeSegment({ src: APP, dst: svc, srcPort: port, dstPort: 8080, seq: (f.c + st.seqJitter) >>> 0, ack: flags & ACK ? f.s >>> 0 : 0, flags, window: 502, payload: p });
      f.c += p.length + (flags & (SYN | FIN) ? 1 : 0);
      return seg;
    };
    const reply = (flags: number, p = payload) => {
      const seg = encodeSegment({ src: LO, dst: APP, srcPort: PROXY, dstPort: port, seq: (f.s + st.seqJitter) >>> 0, ack: flags & ACK ? f.c >>> 0 : 0, flags, window: 512, payload: p });
      f.s += p.length + (flags & (SYN | FIN) ? 1 : 0);
      return seg;
    };
    switch (st.kind) {
      case 0: f.c = 1000 + st.port * 7919 + st.seqJitter * 64; return orig(SYN, new Uint8Array(0));
      case 1: return reply(SYN | ACK, new Uint8Array(0));
      case 2: return orig(ACK);
      case 3: return orig(ACK | PSH);
      case 4: return reply(ACK);
      case 5: return orig(FIN | ACK, new Uint8Array(0));
      case 6: return reply(FIN | ACK, new Uint8Array(0));
      case 7: return orig(RST, new Uint8Array(0));
      case 8: return reply(RST | ACK, new Uint8Array(0));
      case 9: { const p = orig(ACK); return p.subarray(0, 26); } // cut inside the TCP header
      case 10: { const p = orig(ACK); p[9] = 17; return p; } // not TCP
      default: { const p = orig(ACK); p[6] = 0x20; return p; } // a fragment (MF)
    }
  });
}

interface Row { outcome: number; ctinfo: number; entry: number; dir: number; state: number; reason: number; rewritten: number }

const redirect = (ct: Conntrack) => (v: Verdict) => ct.bindNat(v.entry, 'dnat', LO, PROXY);

function oneByOne(ct: Conntrack, p: Uint8Array, now: number): Row {
  const v = ct.track(p, 0, p.length, now, 'output');
  let rewritten = false;
  if (v.entry >= 0) {
    const created = v.created && v.outcome !== Outcome.INVALID && v.outcome !== Outcome.DROP;
    if (created) redirect(ct)(v);
    rewritten = ct.natManip(p, 0, v.entry, v.dir, 'dst');
    rewritten = ct.natManip(p, 0, v.entry, v.dir, 'src') || rewritten;
    if (created && !ct.confirm(v.entry, now)) {
      v.outcome = Outcome.DROP;
      v.entry = -1;
      v.setReason(Reason.INSERT_CLASH);
    }
  }
  return { outcome: v.outcome, ctinfo: v.ctinfo, entry: v.entry, dir: v.dir, state: v.stateAfter, reason: v.reason.code, rewritten: rewritten ? 1 : 0 };
}

/** The packets laid end to end in one buffer, in bursts of the given sizes. */
function viaBatches(ct: Conntrack, ps: Uint8Array[], sizes: number[], times: number[]): { rows: Row[]; bytes: Uint8Array[] } {
  const total = ps.reduce((a, p) => a + p.length, 0);
  const buf = new Uint8Array(total);
  const offs: number[] = [];
  let o = 0;
  for (const p of ps) {
    buf.set(p, o);
    offs.push(o);
    o += p.length;
  }
  const rows: Row[] = [];
  const batch = new PacketBatch(64, buf);
  const out = new BatchVerdicts(64);
  const onNew = redirect(ct);
  let i = 0;
  for (let b = 0; i < ps.length; b++) {
    batch.clear();
    const n = Math.min(sizes[b % sizes.length], ps.length - i);
    for (let k = 0; k < n; k++) batch.push(offs[i + k], ps[i + k].length);
    ct.trackBatch(batch, times[b], 'output', onNew, out);
    for (let k = 0; k < n; k++) {
      rows.push({ outcome: out.outcome[k], ctinfo: out.ctinfo[k], entry: out.entry[k], dir: out.dir[k], state: out.state[k], reason: out.reason[k], rewritten: out.rewritten[k] });
    }
    i += n;
  }
  return { rows, bytes: ps.map((p, k) => buf.slice(offs[k], offs[k] + p.length)) };
}

const step = fc.record({
  port: fc.nat(3),
  svc: fc.nat(1),
  kind: fc.oneof(fc.nat(8), fc.nat(8), fc.nat(8), fc.nat(11)),
  seqJitter: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: -70000, max: 70000 })),
  payload: fc.oneof(fc.constant(0), fc.nat(100)),
});

describe('trackBatch', () => {
  it('gives exactly what tracking the packets one by one gives: verdicts, rewritten bytes, table, counters (property)', () => {
    fc.assert(fc.property(
      fc.array(step, { minLength: 1, maxLength: 150 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.oneof(fc.nat(3), fc.constant(200)), { minLength: 1, maxLength: 8 }),
      (steps, sizes, gaps) => {
        // Time advances per burst; a gap of 200 s lets SYN_SENT/TIME_WAIT/CLOSE entries expire.
        const ps = packets(steps);
        const times: number[] = [];
        for (let b = 0, t = 0; b <= ps.length; b++, t += gaps[b % gaps.length] * 1e9) times.push(t);
        const a = new Conntrack({ kernel: '6.18', seed: 3, initialCapacity: 16 });
        const want: Row[] = [];
        const copies = ps.map((p) => p.slice());
        let i = 0;
        for (let b = 0; i < copies.length; b++) {
          const n = Math.min(sizes[b % sizes.length], copies.length - i);
          for (let k = 0; k < n; k++) want.push(oneByOne(a, copies[i + k], times[b]));
          i += n;
        }
        const bct = new Conntrack({ kernel: '6.18', seed: 3, initialCapacity: 16 });
        const got = viaBatches(bct, ps, sizes, times);
        expect(got.rows).toEqual(want);
        expect(got.bytes).toEqual(copies);
        expect(bct.stats).toEqual(a.stats);
        const end = times[times.length - 1];
        expect(bct.dump(end)).toEqual(a.dump(end));
      },
    ), { numRuns: 300 });
  });

  it('a burst of established flows allocates nothing', async () => {
    const { PerformanceObserver } = await import('node:perf_hooks');
    const ct = new Conntrack({ kernel: '6.18', initialCapacity: 256 });
    const flows = 64;
    const buf = new Uint8Array(flows * 40);
    const batch = new PacketBatch(flows, buf);
    for (let f = 0; f < flows; f++) {
      const port = 40000 + f;
      for (const [p, now] of [
        [encodeSegment({ src: APP, dst: SVC[0], srcPort: port, dstPort: 8080, seq: 1, flags: SYN }), 0],
        [encodeSegment({ src: LO, dst: APP, srcPort: PROXY, dstPort: port, seq: 9, ack: 2, flags: SYN | ACK }), 0],
      ] as const) oneByOne(ct, p, now);
      buf.set(encodeSegment({ src: APP, dst: SVC[0], srcPort: port, dstPort: 8080, seq: 2, ack: 10, flags: ACK }), f * 40);
      batch.push(f * 40, 40);
    }
    const template = buf.slice();
    const out = new BatchVerdicts(flows);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        buf.set(template);
        ct.trackBatch(batch, 1 + i, 'output', null, out);
      }
    };
    run(2_000);
    expect(Array.from(out.outcome).every((o) => o === Outcome.ACCEPT)).toBe(true);
    expect(out.rewritten[0]).toBe(1);
    let scavenges = 0;
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++; });
    obs.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    run(5_000); // 320,000 packets: 16 bytes each would be 5 MB
    const growth = process.memoryUsage().heapUsed - before;
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    expect(scavenges).toBeLessThanOrEqual(1);
    expect(growth).toBeLessThan(1024 * 1024);
  });

  it('refuses a result buffer smaller than the batch', () => {
    const ct = new Conntrack({ kernel: '6.18' });
    const batch = new PacketBatch(4, new Uint8Array(160));
    for (let i = 0; i < 4; i++) batch.push(i * 40, 40);
    expect(() => ct.trackBatch(batch, 0, 'output', null, new BatchVerdicts(2))).toThrow(RangeError);
  });
});
