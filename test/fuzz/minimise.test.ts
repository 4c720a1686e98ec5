// Properties of the minimiser: the result still fails, is never bigger (packets, bytes, time
// span), keeps the packets' order, is 1-minimal (dropping any single packet makes the failure go
// away), shrinks gaps down to the smallest failing one, and is deterministic. Then on real
// findings: a deliberately broken engine's failures shrink to a couple of packets.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CaseGenerator, makeFault, minimise, runCase, type FuzzCase, type FuzzPacket } from '../../src/fuzz/index.js';
import { withPayload } from '../../src/fuzz/minimise.js';
import { TcpFlag, encodeSegment, ip, parseIpv4Tcp, readU32 } from '../../src/wire/index.js';

function packet(timeNs: number, marker: number, len: number): FuzzPacket {
  return {
    timeNs,
    bytes: encodeSegment({ src: ip('198.18.0.1'), dst: ip('198.19.0.1'), srcPort: 40000, dstPort: 80, seq: marker, ack: 1, flags: TcpFlag.ACK, payload: new Uint8Array(len).fill(7) }),
  };
}

const marker = (p: FuzzPacket): number => readU32(p.bytes, 24);
const payloadLen = (p: FuzzPacket): number => parseIpv4Tcp(p.bytes).tcp.payload.length;

function caseOf(packets: FuzzPacket[]): FuzzCase {
  return { kernel: '6.18', sysctls: [], seed: 0, index: 0, mode: 'structured', packets, tags: [] };
}

/** Random cases: markers 0..9, payloads 0..40 bytes, increasing times. */
const arbCase = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5e9 })), { minLength: 1, maxLength: 30 })
  .map((xs) => {
    let t = 0;
    return caseOf(xs.map(([m, len, gap], i) => packet((t += i ? gap : 0), m, len)));
  });

/** Fails when a packet with marker a is followed (later or same time) by one with marker b at least `gap` ns after, and b carries >= minLen bytes. */
function orderedPair(a: number, b: number, gap: number, minLen: number) {
  return (c: FuzzCase): boolean => {
    const ps = c.packets;
    for (let i = 0; i < ps.length; i++) {
      if (marker(ps[i]) !== a) continue;
      for (let j = i + 1; j < ps.length; j++) if (marker(ps[j]) === b && ps[j].timeNs - ps[i].timeNs >= gap && payloadLen(ps[j]) >= minLen) return true;
    }
    return false;
  };
}

function span(c: FuzzCase): number {
  return c.packets.length ? c.packets[c.packets.length - 1].timeNs - c.packets[0].timeNs : 0;
}

function bytes(c: FuzzCase): number {
  return c.packets.reduce((n, p) => n + p.bytes.length, 0);
}

describe('minimise (properties)', () => {
  it('keeps the failure, never grows, keeps order, is 1-minimal and deterministic', () => {
    fc.assert(fc.property(arbCase, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 3e9 }), fc.integer({ min: 0, max: 20 }),
      (c, a, b, gap, minLen) => {
        const pred = orderedPair(a, b, gap, minLen);
        fc.pre(pred(c));
        const { case: m } = minimise(c, pred);
        expect(pred(m)).toBe(true);
        expect(m.packets.length).toBeLessThanOrEqual(c.packets.length);
        expect(bytes(m)).toBeLessThanOrEqual(bytes(c));
        expect(span(m)).toBeLessThanOrEqual(span(c));
        expect(m.packets[0].timeNs).toBe(0);
        // An ordered pair is all it takes: exactly two packets, the second shrunk to minLen bytes, the gap to `gap`.
        expect(m.packets.map(marker)).toEqual([a, b]);
        const kept = payloadLen(m.packets[1]);
        expect(kept).toBeGreaterThanOrEqual(minLen);
        expect(kept).toBeLessThan(minLen === 0 ? 1 : 2 * minLen + 2); // emptied, or halved until half would be too short
        expect(payloadLen(m.packets[0])).toBe(0);
        expect(span(m)).toBe(gap);
        for (let k = 0; k < m.packets.length; k++) expect(pred(caseOf(m.packets.filter((_, i) => i !== k)))).toBe(false);
        const again = minimise(c, pred).case;
        expect(again.packets.map((p) => [p.timeNs, Buffer.from(p.bytes).toString('hex')])).toEqual(m.packets.map((p) => [p.timeNs, Buffer.from(p.bytes).toString('hex')]));
      }), { numRuns: 150 });
  });

  it('finds a 1-minimal subset for "these markers must all be present"', () => {
    fc.assert(fc.property(arbCase, fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }), (c, need) => {
      const pred = (x: FuzzCase) => need.every((m) => x.packets.some((p) => marker(p) === m));
      fc.pre(pred(c));
      const { case: m } = minimise(c, pred);
      expect(pred(m)).toBe(true);
      expect(m.packets).toHaveLength(need.length);
      expect(m.packets.every((p) => payloadLen(p) === 0)).toBe(true);
      expect(span(m)).toBe(0);
      // Order preserved: the markers appear as a subsequence of the input's.
      let i = 0;
      for (const p of c.packets) if (i < m.packets.length && marker(p) === marker(m.packets[i])) i++;
      expect(i).toBe(m.packets.length);
    }), { numRuns: 150 });
  });

  it('a predicate that stops failing leaves the case alone; the run budget is honoured', () => {
    const c = caseOf([packet(0, 1, 5), packet(10, 2, 5), packet(20, 3, 5)]);
    let runs = 0;
    const r = minimise(c, () => (runs++, false), { maxRuns: 7 });
    expect(r.case.packets).toHaveLength(3);
    expect(runs).toBeLessThanOrEqual(8);
    const budget = minimise(c, () => true, { maxRuns: 3 });
    expect(budget.runs).toBeLessThanOrEqual(4);
  });

  it('withPayload keeps a valid checksum valid and a wrong one wrong', () => {
    const good = packet(0, 5, 30).bytes;
    const cut = withPayload(good, 3)!;
    expect(parseIpv4Tcp(cut).tcp.payload).toHaveLength(3);
    const bad = good.slice();
    bad[36] ^= 0x40; // TCP checksum
    expect(() => parseIpv4Tcp(withPayload(bad, 3)!)).toThrow(/checksum/);
    expect(withPayload(good, 30)).toBeNull();
  });
});

describe('minimise on real findings', () => {
  it.each(['transition', 'index', 'timeout', 'nat-checksum', 'exception'] as const)('fault %s shrinks to a few packets that still fail', (fault) => {
    const g = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 4, mode: 'structured' });
    const f = makeFault(fault);
    let done = 0;
    for (let i = 0; i < 80 && done < 3; i++) {
      const c = g.generate(i);
      const v = runCase(c, { fault: f }).violation;
      if (!v) continue;
      const { case: m } = minimise(c, (x) => runCase(x, { fault: f }).violation?.invariant === v.invariant);
      expect(runCase(m, { fault: f }).violation?.invariant).toBe(v.invariant);
      expect(m.packets.length).toBeLessThanOrEqual(Math.min(c.packets.length, 4));
      done++;
    }
    expect(done).toBeGreaterThan(0);
  });
});
