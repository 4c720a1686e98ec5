// Aligning ctsim's packets of a flow with the kernel's: in order, then a packet captured on the
// other side of packets it crossed in flight is paired again; an order the two really differ in is not.
import { describe, expect, it } from 'vitest';
import { align, pairCrossed } from '../../src/kerneldiff/align.js';

interface P { t: number; from: string; text: string }
const p = (t: number, from: string, what: string): P => ({ t, from, text: `${from} ${what}` });
const same = (x: P, y: P) => x.text === y.text;
const keys = { timeA: (x: P) => x.t, timeB: (y: P) => y.t, dirA: (x: P) => x.from, dirB: (y: P) => y.from };
const show = (rows: Array<{ a: P | null; b: P | null; crossed: boolean }>) => rows.map((r) => `${r.a?.text ?? '-'} | ${r.b?.text ?? '-'}${r.crossed ? ' (crossed)' : ''}`);

describe('align and pairCrossed', () => {
  it('two packets crossing in flight, captured in the other order: both paired, one marked crossed', () => {
    const ctsim = [p(0, 'app', 'S'), p(1e6, 'srv', 'data'), p(1.1e6, 'app', 'ack'), p(5e6, 'app', 'F')];
    const kernel = [p(0, 'app', 'S'), p(1.2e6, 'app', 'ack'), p(1.3e6, 'srv', 'data'), p(5e6, 'app', 'F')];
    const rows = pairCrossed(align(ctsim, kernel, same), same, keys, 50e6);
    expect(rows.every((r) => r.a && r.b)).toBe(true);
    expect(rows.filter((r) => r.crossed)).toHaveLength(1);
    expect(show(rows)).toHaveLength(4);
  });

  it('one sender\'s two packets in another order is a real difference: not paired', () => {
    const ctsim = [p(0, 'app', 'data1'), p(5e6, 'app', 'F')];
    const kernel = [p(0, 'app', 'F'), p(5e6, 'app', 'data1')];
    const rows = pairCrossed(align(ctsim, kernel, same), same, keys, 50e6);
    expect(rows.filter((r) => !r.a || !r.b)).toHaveLength(2);
    expect(rows.some((r) => r.crossed)).toBe(false);
  });

  it('one sender\'s packets sent at one instant (two timers racing): paired when instantNs allows it', () => {
    const ctsim = [p(0, 'up', 'data'), p(0.1e6, 'up', 'ack')];
    const kernel = [p(0, 'up', 'ack'), p(0.1e6, 'up', 'data')];
    expect(pairCrossed(align(ctsim, kernel, same), same, keys, 50e6).some((r) => r.crossed)).toBe(false);
    expect(pairCrossed(align(ctsim, kernel, same), same, { ...keys, instantNs: 1e6 }, 50e6).filter((r) => !r.a || !r.b)).toEqual([]);
  });

  it('too far apart in time, or different packets: left as gaps', () => {
    const ctsim = [p(0, 'srv', 'data'), p(1e6, 'app', 'ack')];
    const far = [p(1e6, 'app', 'ack'), p(900e6, 'srv', 'data')];
    expect(pairCrossed(align(ctsim, far, same), same, keys, 50e6).filter((r) => !r.a || !r.b)).toHaveLength(2);
    const other = [p(1e6, 'app', 'ack'), p(1.1e6, 'srv', 'other')];
    expect(pairCrossed(align(ctsim, other, same), same, keys, 50e6).filter((r) => !r.a || !r.b)).toHaveLength(2);
  });
});
