// pcapng reading beyond what our writer emits: big-endian sections, several sections,
// timestamp resolutions and offsets, SPB, the obsolete PB, and blocks we only skip.
import { describe, expect, it } from 'vitest';
import { CaptureDecoder } from '../../src/pcap/index.js';
import {
  DATA,
  SYN,
  SYN_ACK,
  ascii,
  concat,
  decodeAll,
  decodeError,
  i64,
  ngBlock,
  ngEpb,
  ngIdb,
  ngPb,
  ngShb,
  ngSpb,
  u32,
  u8,
} from './fixtures.js';

describe.each([true, false])('pcapng section, littleEndian=%s', (le) => {
  it('reads SHB options, IDB options and EPB options in the section byte order', () => {
    const file = concat(
      ngShb(le, [
        [2, ascii('x86_64')],
        [3, ascii('Linux 6.1')],
        [4, ascii('dumpcap')],
        [1, ascii('section note')],
      ]),
      ngIdb(le, 1, 1500, [
        [2, ascii('eth0')],
        [3, ascii('uplink')],
        [9, u8(9)],
      ]),
      ngEpb(le, {
        interfaceId: 0,
        units: 1_700_000_000_000_000_001n,
        data: SYN,
        originalLength: 60,
        options: [
          [1, ascii('first')],
          [1, ascii('second')],
          [2, u32(0x1, le)],
        ],
      }),
    );
    const decoder = new CaptureDecoder();
    decoder.push(file);
    decoder.end();
    const record = decoder.next()!;
    expect(decoder.section).toEqual({
      byteOrder: le ? 'little' : 'big',
      versionMajor: 1,
      versionMinor: 0,
      hardware: 'x86_64',
      os: 'Linux 6.1',
      application: 'dumpcap',
      comment: 'section note',
    });
    expect(decoder.interfaces).toEqual([{ linkType: 1, snaplen: 1500, name: 'eth0', description: 'uplink', tsresol: 9, tsresolNs: 1 }]);
    expect(record).toMatchObject({
      timestampNs: 1_700_000_000_000_000_001n,
      data: SYN,
      originalLength: 60,
      comment: 'first', // the first of several opt_comment wins
      direction: 'inbound',
    });
    expect(decoder.next()).toBeNull();
  });
});

describe('pcapng timestamps', () => {
  const cases: Array<{ what: string; options: Array<[number, Uint8Array]>; units: bigint; ns: bigint; nsPerUnit: number }> = [
    { what: 'default 10^-6 without if_tsresol', options: [], units: 1_700_000_000_123_456n, ns: 1_700_000_000_123_456_000n, nsPerUnit: 1000 },
    { what: '10^-3', options: [[9, u8(3)]], units: 1_700_000_000_123n, ns: 1_700_000_000_123_000_000n, nsPerUnit: 1e6 },
    { what: '10^-9', options: [[9, u8(9)]], units: 1_700_000_000_123_456_789n, ns: 1_700_000_000_123_456_789n, nsPerUnit: 1 },
    // 10^-12: picoseconds, truncated to ns.
    { what: '10^-12', options: [[9, u8(12)]], units: 1_000_000_000_001_999n, ns: 1_000_000_000_001n, nsPerUnit: 0.001 },
    // 2^-10: 1024 units per second; 1536 units = 1.5 s.
    { what: '2^-10', options: [[9, u8(0x80 | 10)]], units: 1536n, ns: 1_500_000_000n, nsPerUnit: 1e9 / 1024 },
    // 2^-30: 3 units = 2.79... ns, truncated.
    { what: '2^-30', options: [[9, u8(0x80 | 30)]], units: 3n, ns: 2n, nsPerUnit: 1e9 / 2 ** 30 },
    {
      what: 'if_tsoffset adds whole seconds',
      options: [
        [9, u8(9)],
        [14, i64(1_000_000_000n, true)],
      ],
      units: 5n,
      ns: 1_000_000_000_000_000_005n,
      nsPerUnit: 1,
    },
  ];
  it.each(cases)('$what', ({ options, units, ns, nsPerUnit }) => {
    const file = concat(ngShb(true), ngIdb(true, 101, 0, options), ngEpb(true, { interfaceId: 0, units, data: SYN }));
    const [record] = decodeAll(file);
    expect(record.timestampNs).toBe(ns);
    expect(record.iface.tsresolNs).toBeCloseTo(nsPerUnit, 12);
  });

  it('reports if_tsoffset on the interface', () => {
    const file = concat(ngShb(true), ngIdb(true, 101, 0, [[14, i64(-3n, true)]]), ngEpb(true, { interfaceId: 0, units: 5_000_000n, data: SYN }));
    const [record] = decodeAll(file);
    expect(record.iface.tsoffsetSec).toBe(-3n);
    expect(record.timestampNs).toBe(2_000_000_000n);
  });
});

describe('pcapng structure', () => {
  it('resets interfaces at every SHB and numbers packets across sections', () => {
    const file = concat(
      ngShb(true),
      ngIdb(true, 101, 0, [[2, ascii('a0')]]),
      ngIdb(true, 1, 0, [[2, ascii('a1')]]),
      ngEpb(true, { interfaceId: 1, units: 1n, data: SYN }),
      ngShb(false),
      ngIdb(false, 228, 0, [[2, ascii('b0')]]),
      ngEpb(false, { interfaceId: 0, units: 2n, data: SYN_ACK }),
    );
    const records = decodeAll(file);
    expect(records.map((r) => [r.index, r.interfaceId, r.iface.name, r.iface.linkType])).toEqual([
      [0, 1, 'a1', 1],
      [1, 0, 'b0', 228],
    ]);
    // Interface 1 existed only in the first section.
    const stale = concat(file, ngEpb(false, { interfaceId: 1, units: 3n, data: DATA }));
    expect(decodeError(stale)).toMatchObject({ kind: 'unknown-interface', offset: file.length });
  });

  it('skips blocks it does not interpret (NRB, ISB, custom, unknown) by their length', () => {
    const file = concat(
      ngShb(true),
      ngBlock(4, concat(u32(0, true)), true), // Name Resolution Block, empty
      ngIdb(true, 101, 0),
      ngBlock(5, new Uint8Array(20), true), // Interface Statistics Block
      ngEpb(true, { interfaceId: 0, units: 7n, data: SYN }),
      ngBlock(0x00000bad, ascii('custom block payload'), true),
      ngBlock(0x12345678, new Uint8Array(0), true),
      ngEpb(true, { interfaceId: 0, units: 8n, data: DATA }),
    );
    expect(decodeAll(file).map((r) => r.data)).toEqual([SYN, DATA]);
  });

  it('reads Simple Packet Blocks on interface 0, cut to its snaplen', () => {
    const file = concat(ngShb(true), ngIdb(true, 101, 30), ngSpb(true, 40, SYN.subarray(0, 30)), ngIdb(true, 1, 0));
    const [record, ...rest] = decodeAll(file);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ interfaceId: 0, timestampNs: 0n, originalLength: 40, data: SYN.subarray(0, 30) });
    expect(record.comment).toBeUndefined();
  });

  it('reads SPB data up to the original length even when padding follows', () => {
    const file = concat(ngShb(true), ngIdb(true, 101, 0), ngSpb(true, 46, DATA));
    expect(decodeAll(file)[0].data).toEqual(DATA);
  });

  it('reads the obsolete Packet Block with pack_flags and a comment', () => {
    const file = concat(
      ngShb(true),
      ngIdb(true, 101, 0, [[9, u8(9)]]),
      ngPb(true, { interfaceId: 0, units: 42n, data: SYN_ACK, options: [[1, ascii('old')], [2, u32(2, true)]] }),
    );
    expect(decodeAll(file)[0]).toMatchObject({ timestampNs: 42n, data: SYN_ACK, comment: 'old', direction: 'outbound' });
  });

  it('accepts an option list without opt_endofopt and ignores direction 11', () => {
    const le = true;
    const epbBody = concat(u32(0, le), u32(0, le), u32(9, le), u32(40, le), u32(40, le), SYN, concat(u32(0x00040002, le), u32(3, le)));
    const file = concat(ngShb(le), ngIdb(le, 101, 0), ngBlock(6, epbBody, le));
    const [record] = decodeAll(file);
    expect(record.timestampNs).toBe(9000n);
    expect(record.direction).toBeUndefined();
  });

  it('decodes incrementally, one byte at a time', () => {
    const file = concat(ngShb(false), ngIdb(false, 101, 0), ngBlock(5, new Uint8Array(8), false), ngEpb(false, { interfaceId: 0, units: 1n, data: DATA }));
    const decoder = new CaptureDecoder();
    const records = [];
    for (let i = 0; i < file.length; i++) {
      decoder.push(file.subarray(i, i + 1));
      if (i < 3) expect(decoder.format).toBeUndefined();
      for (let r = decoder.next(); r !== null; r = decoder.next()) records.push(r);
    }
    expect(records).toHaveLength(1);
    decoder.end();
    expect(decoder.next()).toBeNull();
    expect(records[0].data).toEqual(DATA);
  });
});
