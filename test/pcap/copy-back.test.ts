// Whatever the reader accepts, the copy (`ctsim replay --out`, CaptureCopier) writes back, and
// the copy reads back the same: packet bytes (even past snaplen), timestamps (any pcapng
// resolution and offset, any pcap fraction), original lengths (even below the captured length),
// directions and interfaces. Captures come from the independent test encoder (fixtures.ts), in
// both byte orders, with EPBs, obsolete PBs, SPBs and several sections.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureCopier, MemorySink, fitOption, readCaptureBytes, type CaptureRecord } from '../../src/pcap/index.js';
import { ascii, concat, i64, ngEpb, ngIdb, ngOption, ngPb, ngShb, ngSpb, pcapFile, u32, u8 } from './fixtures.js';

function copy(records: Iterable<CaptureRecord>, comment = (r: CaptureRecord) => `packet ${r.index}`): Uint8Array {
  const sink = new MemorySink();
  const c = new CaptureCopier(sink, { application: 'copy-back test' });
  for (const r of records) c.write(r, comment(r));
  c.close();
  return sink.bytes();
}

/** What a copy must keep of each record. */
function essence(r: CaptureRecord) {
  const i = r.iface;
  return {
    data: Buffer.from(r.data).toString('hex'), timestampNs: r.timestampNs, originalLength: r.originalLength, direction: r.direction,
    iface: { linkType: i.linkType, snaplen: i.snaplen, tsresol: i.tsresol, tsoffsetSec: i.tsoffsetSec ?? 0n, name: i.name, description: i.description, fcsLength: i.fcsLength },
  };
}

function expectSameCapture(original: Uint8Array): void {
  const before = [...readCaptureBytes(original)];
  const after = [...readCaptureBytes(copy(before))];
  expect(after.map(essence)).toEqual(before.map(essence));
  expect(after.map((r) => r.comment)).toEqual(before.map((r) => `packet ${r.index}`));
}

const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
const dataArb = fc.uint8Array({ maxLength: 200 });

describe('copy back what was read', () => {
  it('pcap: any fraction, any original length (also below the captured length), caplen above snaplen', () => {
    fc.assert(
      fc.property(
        fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.record({ seconds: u32Arb, fraction: u32Arb, data: dataArb, originalLength: u32Arb }), { maxLength: 12 }),
        (le, nano, snaplen, linkType, records) => expectSameCapture(pcapFile({ le, nano, snaplen, linkTypeField: linkType, records })),
      ),
      { numRuns: 200 },
    );
  });

  it('pcapng: any if_tsresol and if_tsoffset, EPB/PB/SPB, directions, several sections', () => {
    const tsresolArb = fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 70 }).map((n) => 0x80 | n));
    const ifaceArb = fc.record({
      linkType: fc.integer({ min: 0, max: 0xffff }), snaplen: fc.integer({ min: 0, max: 300 }), tsresol: fc.option(tsresolArb, { nil: undefined }),
      tsoffset: fc.option(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), { nil: undefined }), name: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      fcslen: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    });
    const packetArb = fc.record({
      kind: fc.constantFrom('epb', 'pb', 'spb'), iface: fc.nat(), units: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), data: dataArb,
      originalLength: u32Arb, flags: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    });
    const sectionArb = fc.record({ le: fc.boolean(), ifaces: fc.array(ifaceArb, { minLength: 1, maxLength: 3 }), packets: fc.array(packetArb, { maxLength: 8 }) });
    fc.assert(
      fc.property(fc.array(sectionArb, { minLength: 1, maxLength: 3 }), (sections) => {
        const parts: Uint8Array[] = [];
        for (const s of sections) {
          parts.push(ngShb(s.le));
          for (const i of s.ifaces) {
            const opts: Array<[number, Uint8Array]> = [];
            if (i.name !== undefined) opts.push([2, ascii(i.name)]);
            if (i.tsresol !== undefined) opts.push([9, u8(i.tsresol)]);
            if (i.fcslen !== undefined) opts.push([13, u8(i.fcslen)]);
            if (i.tsoffset !== undefined) opts.push([14, i64(i.tsoffset, s.le)]);
            parts.push(ngIdb(s.le, i.linkType, i.snaplen, opts));
          }
          for (const p of s.packets) {
            const interfaceId = p.iface % s.ifaces.length;
            const options: Array<[number, Uint8Array]> = p.flags === undefined ? [] : [[2, u32(p.flags, s.le)]];
            if (p.kind === 'epb') parts.push(ngEpb(s.le, { interfaceId, units: p.units, data: p.data, originalLength: p.originalLength, options }));
            else if (p.kind === 'pb') parts.push(ngPb(s.le, { interfaceId, units: p.units, data: p.data, options }));
            else parts.push(ngSpb(s.le, p.data.length, p.data));
          }
        }
        expectSameCapture(concat(...parts));
      }),
      { numRuns: 200 },
    );
  });

  it('a timestamp whose nanoseconds do not fit 64 bits (if_tsresol 0: whole seconds) and a negative one (if_tsoffset) write back', () => {
    const file = concat(
      ngShb(true),
      ngIdb(true, 101, 0, [[9, u8(0)]]),
      ngIdb(true, 101, 0, [[14, i64(-1_000_000n, true)]]),
      ngEpb(true, { interfaceId: 0, units: (1n << 64n) - 1n, data: new Uint8Array(20) }),
      ngEpb(true, { interfaceId: 1, units: 5n, data: new Uint8Array(20), originalLength: 10 }),
    );
    const records = [...readCaptureBytes(file)];
    expect(records[0].timestampNs).toBe(((1n << 64n) - 1n) * 1_000_000_000n);
    expect(records[1].timestampNs).toBe(-1_000_000n * 1_000_000_000n + 5000n);
    expectSameCapture(file);
  });

  it('comments and names longer than an option can hold are cut, on a character boundary', () => {
    const long = 'é'.repeat(40_000); // 80,000 bytes of UTF-8
    const cut = fitOption(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(0xffff);
    expect(cut.endsWith(' [cut]')).toBe(true);
    expect(cut.slice(0, -6)).toBe('é'.repeat(cut.slice(0, -6).length));
    const file = concat(ngShb(true), ngIdb(true, 101, 0, [[2, new Uint8Array(40_000).fill(0xff)]]), ngEpb(true, { interfaceId: 0, units: 1n, data: new Uint8Array(4) }));
    const records = [...readCaptureBytes(file)];
    expect(records[0].iface.name!.length).toBe(40_000); // 40,000 U+FFFD: 120,000 bytes once re-encoded
    const back = [...readCaptureBytes(copy(records, () => long))];
    expect(back[0].comment).toBe(cut);
    expect(Buffer.byteLength(back[0].iface.name!)).toBeLessThanOrEqual(0xffff);
    expect(ngOption(1, ascii('x'), true).length).toBe(8);
  });
});
