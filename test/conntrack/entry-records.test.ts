import { describe, expect, it } from 'vitest';
import { EntryRecords, TcpSeenFlag } from '../../src/conntrack/entry-records.js';

// Every field of the hand-laid 64-byte record, with a setter, a getter and a value that fills
// its width (so an overlap with a neighbour shows as a changed value).
type Field = { name: string; get: (r: EntryRecords, i: number) => number; set: (r: EntryRecords, i: number, v: number) => void; value: (k: number) => number };
const u8 = (k: number) => (k * 37 + 11) & 0xff;
const u16 = (k: number) => (k * 4099 + 7) & 0xffff;
const i32 = (k: number) => Math.imul(k + 1, 0x9e3779b1);
const u32 = (k: number) => i32(k) >>> 0;
const ENTRY_FIELDS: Field[] = [
  { name: 'status', get: (r, e) => r.status(e), set: (r, e, v) => r.setStatus(e, v), value: u16 },
  { name: 'timeoutAt', get: (r, e) => r.timeoutAt(e), set: (r, e, v) => r.setTimeoutAt(e, v), value: (k) => 1.5e15 + k * 1e9 + 0.25 },
  { name: 'state', get: (r, e) => r.state(e), set: (r, e, v) => r.setState(e, v), value: u8 },
  { name: 'retrans', get: (r, e) => r.retrans(e), set: (r, e, v) => r.setRetrans(e, v), value: (k) => u8(k + 1) },
  { name: 'lastIndex', get: (r, e) => r.lastIndex(e), set: (r, e, v) => r.setLastIndex(e, v), value: (k) => u8(k + 2) },
  { name: 'lastDir', get: (r, e) => r.lastDir(e), set: (r, e, v) => r.setLastDir(e, v), value: (k) => u8(k + 3) },
  { name: 'lastSeq', get: (r, e) => r.lastSeq(e), set: (r, e, v) => r.setLastSeq(e, v), value: i32 },
  { name: 'lastAck', get: (r, e) => r.lastAck(e), set: (r, e, v) => r.setLastAck(e, v), value: (k) => i32(k + 5) },
  { name: 'lastEnd', get: (r, e) => r.lastEnd(e), set: (r, e, v) => r.setLastEnd(e, v), value: (k) => i32(k + 9) },
  { name: 'lastWin', get: (r, e) => r.lastWin(e), set: (r, e, v) => r.setLastWin(e, v), value: (k) => u16(k + 1) },
  { name: 'lastWscale', get: (r, e) => r.lastWscale[e], set: (r, e, v) => { r.lastWscale[e] = v; }, value: (k) => u8(k + 4) },
  { name: 'lastFlags', get: (r, e) => r.lastFlags[e], set: (r, e, v) => { r.lastFlags[e] = v; }, value: (k) => u8(k + 5) },
];
const SIDE_FIELDS: Field[] = [
  { name: 'tdEnd', get: (r, s) => r.tdEnd(s), set: (r, s, v) => r.setTdEnd(s, v), value: (k) => i32(k + 13) },
  { name: 'tdMaxend', get: (r, s) => r.tdMaxend(s), set: (r, s, v) => r.setTdMaxend(s, v), value: (k) => i32(k + 17) },
  { name: 'tdMaxwin', get: (r, s) => r.tdMaxwin(s), set: (r, s, v) => r.setTdMaxwin(s, v), value: (k) => u32(k + 19) },
  { name: 'tdMaxack', get: (r, s) => r.tdMaxack(s), set: (r, s, v) => r.setTdMaxack(s, v), value: (k) => i32(k + 23) },
  { name: 'tdScale', get: (r, s) => r.tdScale(s), set: (r, s, v) => r.setTdScale(s, v), value: (k) => u8(k + 6) },
  { name: 'tdFlags', get: (r, s) => r.tdFlags(s), set: (r, s, v) => r.setTdFlags(s, v), value: (k) => u8(k + 7) },
];

function fill(r: EntryRecords, entries: number[]): void {
  for (const e of entries) {
    ENTRY_FIELDS.forEach((f, i) => f.set(r, e, f.value(e * 31 + i)));
    for (const s of [e * 2, e * 2 + 1]) SIDE_FIELDS.forEach((f, i) => f.set(r, s, f.value(s * 29 + i)));
  }
}

function expectFilled(r: EntryRecords, entries: number[]): void {
  for (const e of entries) {
    ENTRY_FIELDS.forEach((f, i) => expect(f.get(r, e), `entry ${e} ${f.name}`).toBe(f.value(e * 31 + i)));
    for (const s of [e * 2, e * 2 + 1]) SIDE_FIELDS.forEach((f, i) => expect(f.get(r, s), `side ${s} ${f.name}`).toBe(f.value(s * 29 + i)));
  }
}

describe('EntryRecords: one 64-byte record per entry', () => {
  it('keeps every field of every entry and side apart (no two fields share a byte)', () => {
    const r = new EntryRecords(8);
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    fill(r, all);
    expectFilled(r, all);
    // Rewriting one entry's fields with other values leaves its neighbours as they were.
    for (const f of ENTRY_FIELDS) f.set(r, 3, f.value(1000));
    for (const s of [6, 7]) for (const f of SIDE_FIELDS) f.set(r, s, f.value(2000));
    expectFilled(r, [0, 1, 2, 4, 5, 6, 7]);
  });

  it('keeps the records through growth, from ordinary buffers into aligned ones', () => {
    const r = new EntryRecords(4);
    fill(r, [0, 1, 2, 3]);
    r.resize(40_000); // 2.5 MB: past the aligned-buffer threshold
    expect(r.capacity).toBe(40_000);
    expectFilled(r, [0, 1, 2, 3]);
    fill(r, [39_999]);
    expectFilled(r, [0, 1, 2, 3, 39_999]);
    expect(r.memoryBytes()).toBeGreaterThanOrEqual(40_000 * 66);
  });

  it('clears the TCP part (memset of ct->proto.tcp) and leaves status and timeout', () => {
    const r = new EntryRecords(2);
    fill(r, [0, 1]);
    r.clearTcp(0);
    expect(r.status(0)).toBe(ENTRY_FIELDS[0].value(0));
    expect(r.timeoutAt(0)).toBe(ENTRY_FIELDS[1].value(1));
    for (const f of ENTRY_FIELDS.slice(2)) expect(f.get(r, 0), f.name).toBe(0);
    for (const s of [0, 1]) for (const f of SIDE_FIELDS) expect(f.get(r, s), `side ${s} ${f.name}`).toBe(0);
    expectFilled(r, [1]);
  });

  it('resets one direction keeping BE_LIBERAL when asked (nf_ct_tcp_state_reset)', () => {
    const r = new EntryRecords(1);
    r.setTdFlags(1, TcpSeenFlag.BE_LIBERAL | TcpSeenFlag.SACK_PERM);
    r.setTdEnd(1, 5);
    r.clearSide(1, true);
    expect(r.tdFlags(1)).toBe(TcpSeenFlag.BE_LIBERAL);
    expect(r.tdEnd(1)).toBe(0);
    r.setTdFlags(1, TcpSeenFlag.BE_LIBERAL);
    r.clearSide(1, false);
    expect(r.tdFlags(1)).toBe(0);
  });
});
