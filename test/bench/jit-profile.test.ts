// `bench:instructions --profile`: reading node's jitdump and callgrind's per-address counts, and
// giving each counted instruction the name of the generated code that holds it.
import { describe, expect, it } from 'vitest';
import { OUTSIDE_JIT, ProfileFormatError, attribute, functionLabel, instructionsByAddress, parseJitdump, perPacketByFunction } from '../../bench/jit-profile.js';

/** A jitdump file as node --perf-prof writes it (x86-64, little-endian). */
function jitdump(records: Uint8Array[]): Uint8Array {
  const header = new DataView(new ArrayBuffer(40));
  header.setUint32(0, 0x4a695444, true); // "JiTD"
  header.setUint32(4, 1, true); // version
  header.setUint32(8, 40, true); // header size
  header.setUint32(12, 62, true); // EM_X86_64
  const parts = [new Uint8Array(header.buffer), ...records];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function record(id: number, body: Uint8Array): Uint8Array {
  const r = new Uint8Array(16 + body.length);
  const dv = new DataView(r.buffer);
  dv.setUint32(0, id, true);
  dv.setUint32(4, r.length, true);
  r.set(body, 16);
  return r;
}

function load(addr: number, size: number, index: number, name: string): Uint8Array {
  const n = new TextEncoder().encode(name);
  const body = new Uint8Array(40 + n.length + 1 + size);
  const dv = new DataView(body.buffer);
  dv.setBigUint64(8, BigInt(addr), true); // vma
  dv.setBigUint64(16, BigInt(addr), true); // code_addr
  dv.setBigUint64(24, BigInt(size), true);
  dv.setBigUint64(32, BigInt(index), true);
  body.set(n, 40);
  return record(0, body);
}

function move(oldAddr: number, newAddr: number, size: number, index: number): Uint8Array {
  const body = new Uint8Array(48);
  const dv = new DataView(body.buffer);
  dv.setBigUint64(16, BigInt(oldAddr), true);
  dv.setBigUint64(24, BigInt(newAddr), true);
  dv.setBigUint64(32, BigInt(size), true);
  dv.setBigUint64(40, BigInt(index), true);
  return record(1, body);
}

const TRACK_TUPLE = 'JS:*trackTuple file:///w/dist/src/conntrack/conntrack.js:253:15';
const HASH = 'JS:^hash file:///w/dist/src/conntrack/conn-table.js:107:9';

describe('jitdump', () => {
  it('reads code loads and moves, and skips records it does not need (debug info)', () => {
    const dump = jitdump([load(0x1000, 0x100, 7, TRACK_TUPLE), record(2, new Uint8Array(24)), load(0x1000, 0x80, 8, HASH), move(0x1000, 0x9000, 0x100, 7)]);
    expect(parseJitdump(dump)).toEqual([
      { start: 0x1000, size: 0x100, name: TRACK_TUPLE, order: 0 },
      { start: 0x1000, size: 0x80, name: HASH, order: 1 },
      { start: 0x9000, size: 0x100, name: TRACK_TUPLE, order: 2 },
    ]);
  });

  it('refuses a file that is not a jitdump, and a cut record', () => {
    expect(() => parseJitdump(new Uint8Array(64))).toThrow(ProfileFormatError);
    const dump = jitdump([load(0x1000, 0x100, 7, TRACK_TUPLE)]);
    expect(() => parseJitdump(dump.subarray(0, dump.length - 10))).toThrow(/cut/);
  });
});

describe('callgrind counts by address', () => {
  const OUT = [
    'version: 1',
    'positions: instr line',
    'events: Ir',
    'fl=???',
    'fn=0x0000000000001000',
    '0x1000 0 10',
    '0x1004 0 5',
    'cfn=0x0000000000002000',
    'calls=3 0x2000 0',
    '0x1008 0 999',
    '0x1008 0 2',
    'fn=0x0000000000001000',
    '0x1000 0 1',
    '',
  ].join('\n');

  it('adds each address\'s own Ir, not the inclusive cost of the calls it makes', () => {
    expect([...instructionsByAddress(OUT)]).toEqual([[0x1000, 11], [0x1004, 5], [0x1008, 2]]);
  });

  it('refuses output without addresses or with compressed positions', () => {
    expect(() => instructionsByAddress(OUT.replace('positions: instr line', 'positions: line'))).toThrow(/--dump-instr=yes/);
    expect(() => instructionsByAddress(OUT.replace('0x1004 0 5', '+4 0 5'))).toThrow(/--compress-pos=no/);
  });
});

describe('attribution', () => {
  it('names functions by tier, name and file', () => {
    expect(functionLabel(TRACK_TUPLE)).toBe('*trackTuple (conntrack.js)');
    expect(functionLabel(HASH)).toBe('^hash (conn-table.js)');
    expect(functionLabel('JS:* file:///w/dist/bench/x.js:1:1')).toBe('*(anonymous) (x.js)');
    expect(functionLabel('Builtin:TypedArrayPrototypeSet')).toBe('V8 Builtin TypedArrayPrototypeSet');
  });

  it('gives an address to the code that held it last, and the rest to native code', () => {
    const codes = parseJitdump(jitdump([load(0x1000, 0x100, 7, TRACK_TUPLE), load(0x1000, 0x80, 8, HASH)]));
    const counts = new Map([[0x1004, 10], [0x1090, 20], [0x10ff, 1], [0x1100, 4], [0x5000, 7]]);
    expect(attribute(codes, counts)).toEqual(new Map([
      ['^hash (conn-table.js)', 10],
      ['*trackTuple (conntrack.js)', 21],
      [OUTSIDE_JIT, 11],
    ]));
  });

  it('costs the extra packets of the longer run per function, largest first', () => {
    const short = new Map([['a', 100], ['b', 1000], ['c', 50]]);
    const long = new Map([['a', 500], ['b', 1200], ['c', 50], ['d', 40]]);
    expect(perPacketByFunction(short, long, 100)).toEqual([{ fn: 'a', instructions: 4 }, { fn: 'b', instructions: 2 }, { fn: 'd', instructions: 0.4 }]);
    expect(() => perPacketByFunction(short, long, 0)).toThrow(RangeError);
  });
});
