// Properties of the table and the packet path: both-direction lookups agree with a model under
// random churn with heavy port reuse; NAT rewrites keep checksums equal to a full recomputation;
// the hot path (track -> NAT rewrite) allocates nothing.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PerformanceObserver } from 'node:perf_hooks';
import { ConnTable, MAX_TABLE_ENTRIES, NO_REF } from '../../src/conntrack/conn-table.js';
import { ConfigError } from '../../src/conntrack/errors.js';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { Outcome } from '../../src/conntrack/verdict.js';
import { Ipv4Packet, TcpFlag, TcpSegment, encodeSegment, ip } from '../../src/wire/index.js';

describe('ConnTable under churn', () => {
  it('finds every live entry from both directions and nothing else (model check, port reuse)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(63), fc.nat(3)), { minLength: 50, maxLength: 600 }), fc.integer(), (ops, seed) => {
      const t = new ConnTable({ maxEntries: 256, initialCapacity: 16, seed });
      const model = new Map<string, number>(); // "port:svc" -> entry
      const A = 0xc6120001;
      const svc = (k: number) => 0xc6130000 + k;
      for (const [ins, port, s] of ops) {
        const key = `${port}:${s}`;
        const sport = 40000 + port; // only 64 source ports: heavy reuse
        if (ins && !model.has(key)) {
          const e = t.allocate();
          t.setTuple(e, 0, A, svc(s), sport, 80, 6 << 16);
          t.setTuple(e, 1, svc(s), A, 80, sport, 6 << 16);
          expect(t.link(e)).toBe(true);
          model.set(key, e);
        } else if (!ins && model.has(key)) {
          t.release(model.get(key)!, true);
          model.delete(key);
        }
      }
      expect(t.count).toBe(model.size);
      for (let port = 0; port < 64; port++) {
        for (let s = 0; s < 4; s++) {
          const e = model.get(`${port}:${s}`);
          const o = t.lookup(A, svc(s), 40000 + port, 80, 6 << 16);
          const r = t.lookup(svc(s), A, 80, 40000 + port, 6 << 16);
          if (e === undefined) {
            expect(o).toBe(NO_REF);
            expect(r).toBe(NO_REF);
          } else {
            expect(o).toBe(e * 2);
            expect(r).toBe(e * 2 + 1);
          }
        }
      }
    }), { numRuns: 300 });
  });

  it('a million insert/delete cycles of the same tuples leave probe lengths as short as a fresh table (no tombstones)', () => {
    const t = new ConnTable({ maxEntries: 1 << 12, initialCapacity: 1 << 12, seed: 1 });
    const live: number[] = [];
    for (let i = 0; i < 2048; i++) {
      const e = t.allocate();
      t.setTuple(e, 0, 1, 2, i, 80, 6 << 16);
      t.setTuple(e, 1, 2, 1, 80, i, 6 << 16);
      t.link(e);
      live.push(e);
    }
    const fresh = { max: t.maxProbeDistance(), mean: t.meanProbeDistance(), home: t.homeLineShare() };
    for (let c = 0; c < 1_000_000; c++) {
      const i = c % 2048;
      t.release(live[i], true);
      const e = t.allocate();
      t.setTuple(e, 0, 1, 2, i, 80, 6 << 16);
      t.setTuple(e, 1, 2, 1, 80, i, 6 << 16);
      t.link(e);
      live[i] = e;
    }
    expect(t.count).toBe(2048);
    expect(t.maxProbeDistance()).toBeLessThanOrEqual(fresh.max + 4);
    expect(t.meanProbeDistance()).toBeLessThanOrEqual(fresh.mean + 0.1);
    // Most keys (about 4 in 5 at load 0.6) are found in the one cache line their hash names, and
    // churn does not change that.
    expect(fresh.home).toBeGreaterThan(0.75);
    expect(t.homeLineShare()).toBeGreaterThan(fresh.home - 0.03);
  });

  it('keys 30 and more slots from home (saturated distance field) are found, displaced and deleted correctly (model check)', () => {
    fc.assert(fc.property(fc.integer(), fc.array(fc.tuple(fc.boolean(), fc.nat(79)), { minLength: 100, maxLength: 400 }), (seed, ops) => {
      const t = new ConnTable({ maxEntries: 128, initialCapacity: 128, seed });
      // 80 ORIGINAL tuples whose hashes all name the same home bucket: one long probe run.
      const homeOf = (port: number) => Math.floor(((t.hash(1, 2, (port << 16) | 80, 6 << 16) >>> 0) * t.indexSlots) / 2 ** 32 / 4);
      const target = homeOf(1);
      const ports: number[] = [];
      for (let p = 1; ports.length < 80; p++) if (homeOf(p) === target) ports.push(p);
      const model = new Map<number, number>();
      for (const [ins, k] of ops) {
        const port = ports[k];
        if (ins && !model.has(port)) {
          const e = t.allocate();
          t.setTuple(e, 0, 1, 2, port, 80, 6 << 16);
          t.setTuple(e, 1, 2, 1, 80, port, 6 << 16);
          expect(t.link(e)).toBe(true);
          model.set(port, e);
        } else if (!ins && model.has(port)) {
          t.release(model.get(port)!, true);
          model.delete(port);
        }
      }
      for (const port of ports) {
        const e = model.get(port);
        expect(t.lookup(1, 2, port, 80, 6 << 16)).toBe(e === undefined ? NO_REF : e * 2);
        expect(t.lookup(2, 1, 80, port, 6 << 16)).toBe(e === undefined ? NO_REF : e * 2 + 1);
      }
      if (model.size > 40) expect(t.maxProbeDistance()).toBeGreaterThanOrEqual(30);
    }), { numRuns: 60 });
  });

  it('a table above 1 MiB of index (cache-line aligned) finds all of 100,000 entries from both directions', () => {
    const n = 100_000;
    const t = new ConnTable({ maxEntries: n, initialCapacity: 1024, seed: 9 });
    for (let i = 0; i < n; i++) {
      const e = t.allocate();
      t.setTuple(e, 0, 0xc6120000 + (i & 1023), 0xc6130001, 1024 + (i >> 10), 443, 6 << 16);
      t.setTuple(e, 1, 0x7f000001, 0xc6120000 + (i & 1023), 15001, 1024 + (i >> 10), 6 << 16);
      expect(t.link(e)).toBe(true);
    }
    expect(t.memoryBytes().index).toBeGreaterThanOrEqual(1 << 20);
    expect(t.memoryBytes().index / n).toBeLessThanOrEqual(64);
    for (let i = 0; i < n; i += 7) {
      expect(t.lookup(0xc6120000 + (i & 1023), 0xc6130001, 1024 + (i >> 10), 443, 6 << 16) >> 1).toBe(t.lookup(0x7f000001, 0xc6120000 + (i & 1023), 15001, 1024 + (i >> 10), 6 << 16) >> 1);
    }
    expect(t.lookup(0xc6120000, 0xc6130001, 1024, 444, 6 << 16)).toBe(NO_REF);
  });
});

describe('table size limit', () => {
  it('nf_conntrack_max up to 2^26 is accepted; above it is a ConfigError naming the limit (the kernel takes any u32)', () => {
    expect(MAX_TABLE_ENTRIES).toBe(2 ** 26);
    expect(new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${MAX_TABLE_ENTRIES}`] }).sysctls.nf_conntrack_max).toBe(MAX_TABLE_ENTRIES);
    expect(new Conntrack({ kernel: '6.18', sysctls: ['nf_conntrack_max=8388609'] }).sysctls.nf_conntrack_max).toBe(8388609);
    let err: unknown;
    try {
      new Conntrack({ kernel: '6.18', sysctls: [`nf_conntrack_max=${MAX_TABLE_ENTRIES + 1}`] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/nf_conntrack_max=67108865: .*at most 67108864 entries/);
  });
});

describe('NAT rewrite', () => {
  it('REDIRECT both directions: RFC 1624 checksums equal a full recomputation (property)', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ maxLength: 80 }), (app, dst, sport, dport, toPort, payload) => {
      fc.pre(app !== dst);
      const lo = ip('127.0.0.1');
      const ct = new Conntrack({ kernel: '6.18' });
      const syn = encodeSegment({ src: app, dst, srcPort: sport, dstPort: dport, seq: 1, flags: TcpFlag.SYN, payload });
      const v = ct.track(syn, 0, syn.length, 0, 'output');
      expect(v.outcome).toBe(Outcome.ACCEPT);
      const e = v.entry;
      ct.bindNat(e, 'dnat', lo, toPort);
      expect(ct.natManip(syn, 0, e, 0, 'dst')).toBe(true);
      expect(ct.confirm(e, 0)).toBe(true);
      const ipv = Ipv4Packet.checked(syn);
      const seg = TcpSegment.checked(syn, 20, syn.length - 20);
      expect([ipv.dst, seg.dstPort]).toEqual([lo, toPort]);
      expect(ipv.verifyChecksum()).toBe(true);
      expect(seg.verifyChecksum(ipv.src, ipv.dst)).toBe(true);
      // the proxy's SYN/ACK from 127.0.0.1:toPort is un-NATed back to dst:dport
      const sa = encodeSegment({ src: lo, dst: app, srcPort: toPort, dstPort: sport, seq: 7, ack: 2, flags: TcpFlag.SYN | TcpFlag.ACK, payload });
      const r = ct.track(sa, 0, sa.length, 1, 'prerouting');
      expect(r.dir).toBe(1);
      expect(ct.natManip(sa, 0, r.entry, 1, 'src')).toBe(true);
      const ipr = Ipv4Packet.checked(sa);
      const sr = TcpSegment.checked(sa, 20, sa.length - 20);
      expect([ipr.src, sr.srcPort]).toEqual([dst, dport]);
      expect(ipr.verifyChecksum() && sr.verifyChecksum(ipr.src, ipr.dst)).toBe(true);
      expect(ct.originalDst(lo, toPort, app, sport, 1)).toEqual({ addr: dst, port: dport });
    }), { numRuns: 500 });
  });
});

describe('hot path allocation', () => {
  it('1e6 packets through track + NAT rewrite trigger no scavenge and no heap growth', async () => {
    const ct = new Conntrack({ kernel: '6.18' });
    const app = ip('198.18.0.1');
    const svc = ip('198.19.0.9');
    const lo = ip('127.0.0.1');
    const syn = encodeSegment({ src: app, dst: svc, srcPort: 40000, dstPort: 80, seq: 100, flags: TcpFlag.SYN });
    const v = ct.track(syn, 0, syn.length, 0, 'output');
    ct.bindNat(v.entry, 'dnat', lo, 15001);
    ct.natManip(syn, 0, v.entry, 0, 'dst');
    ct.confirm(v.entry, 0);
    const sa = encodeSegment({ src: lo, dst: app, srcPort: 15001, dstPort: 40000, seq: 500, ack: 101, flags: TcpFlag.SYN | TcpFlag.ACK });
    ct.track(sa, 0, sa.length, 1, 'prerouting');
    const ackPkt = encodeSegment({ src: app, dst: svc, srcPort: 40000, dstPort: 80, seq: 101, ack: 501, flags: TcpFlag.ACK });
    const template = ackPkt.slice();
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        ackPkt.set(template);
        const r = ct.track(ackPkt, 0, ackPkt.length, 2 + i, 'output');
        ct.natManip(ackPkt, 0, r.entry, r.dir, 'dst');
      }
    };
    run(200_000); // warm up the JIT
    let scavenges = 0;
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++; });
    obs.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    run(1_000_000);
    const growth = process.memoryUsage().heapUsed - before;
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    // An allocation of even 16 bytes per packet would be 16 MB here: several scavenges.
    expect(scavenges).toBeLessThanOrEqual(1);
    expect(growth).toBeLessThan(2 * 1024 * 1024);
  });
});
