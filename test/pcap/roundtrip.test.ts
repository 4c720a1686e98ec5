// Write packets, read them back: both formats, both pcap byte orders, µs and ns, arbitrary
// packets (fast-check), and every way of feeding the reader (bytes, file, stream, chunks).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink, MemorySink, PcapWriter, PcapngWriter, readCaptureFile, readCaptureStream } from '../../src/pcap/index.js';
import type { CaptureRecord, PacketDirection } from '../../src/pcap/index.js';
import { DATA, SYN, SYN_ACK, decodeAll, ethernet, pcapFile } from './fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-pcap-rt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PACKETS = [SYN, SYN_ACK, DATA, ethernet(DATA), new Uint8Array(0), new Uint8Array(1500).fill(0xab)];
const T0 = 1_700_000_000_000_000_000n;

function timestamps(n: number): bigint[] {
  // Mix whole seconds, sub-µs digits and a far-future second to exercise every field.
  return Array.from({ length: n }, (_, i) => T0 + BigInt(i) * 1_000_000_007n + BigInt(i % 3) * 999n);
}

describe('pcap round trip', () => {
  it.each([true, false])('nanosecond=%s', (nanosecond) => {
    const sink = new MemorySink();
    const writer = new PcapWriter(sink, { linkType: 1, snaplen: 65535, nanosecond });
    const ts = timestamps(PACKETS.length);
    PACKETS.forEach((p, i) => writer.writePacket(ts[i], p, i === 2 ? 1000 : undefined));
    writer.close();
    const records = decodeAll(sink.bytes());
    expect(records.map((r) => r.data)).toEqual(PACKETS);
    expect(records.map((r) => r.timestampNs)).toEqual(ts.map((t) => (nanosecond ? t : t - (t % 1000n))));
    expect(records.map((r) => r.originalLength)).toEqual(PACKETS.map((p, i) => (i === 2 ? 1000 : p.length)));
    expect(records.map((r) => r.index)).toEqual(PACKETS.map((_, i) => i));
    expect(records[0].iface).toEqual({ linkType: 1, snaplen: 65535, tsresol: nanosecond ? 9 : 6, tsresolNs: nanosecond ? 1 : 1000 });
  });

  it('reads big-endian files like little-endian ones', () => {
    for (const nano of [true, false]) {
      const records = PACKETS.map((data, i) => ({ seconds: 1_700_000_000 + i, fraction: i * 1001, data }));
      const le = decodeAll(pcapFile({ le: true, nano, linkTypeField: 101, records }));
      const be = decodeAll(pcapFile({ le: false, nano, linkTypeField: 101, records }));
      expect(be).toEqual(le);
      expect(be[3].timestampNs).toBe(1_700_000_003_000_000_000n + 3003n * (nano ? 1n : 1000n));
    }
  });

  it('masks the FCS bits off the link-type field and reports the FCS length', () => {
    // f bit (26) set, FCS length 2 sixteen-bit words in bits 28-31, LINKTYPE_ETHERNET.
    const field = (2 << 28) | 0x04000000 | 1;
    const [record] = decodeAll(pcapFile({ le: false, nano: true, linkTypeField: field >>> 0, records: [{ seconds: 0, fraction: 0, data: SYN }] }));
    expect(record.iface).toMatchObject({ linkType: 1, fcsLength: 4 });
    // Reserved bits alone do not invent an FCS length.
    const [plain] = decodeAll(pcapFile({ le: true, nano: true, linkTypeField: 0x00030065, records: [{ seconds: 0, fraction: 0, data: SYN }] }));
    expect(plain.iface.linkType).toBe(101);
    expect(plain.iface.fcsLength).toBeUndefined();
  });
});

describe('pcapng round trip', () => {
  it('keeps interfaces, comments, directions and ns timestamps', () => {
    const sink = new MemorySink();
    const writer = new PcapngWriter(sink, { application: 'ctsim test' });
    const lo = writer.addInterface({ linkType: 101, name: 'pod/lo', description: 'loopback' });
    const eth = writer.addInterface({ linkType: 1, name: 'pod/eth0', snaplen: 0 });
    const ts = timestamps(PACKETS.length);
    const directions: Array<PacketDirection | undefined> = ['inbound', 'outbound', undefined];
    PACKETS.forEach((data, i) =>
      writer.writePacket({
        interfaceId: i % 2 === 0 ? lo : eth,
        timestampNs: ts[i],
        data,
        originalLength: data.length + i,
        comment: i % 3 === 0 ? `packet ${i} ✓` : undefined,
        direction: directions[i % 3],
      }),
    );
    writer.close();
    const records = decodeAll(sink.bytes());
    expect(records.map((r) => [r.interfaceId, r.iface.name, r.timestampNs, r.data, r.originalLength, r.comment, r.direction])).toEqual(
      PACKETS.map((data, i) => [
        i % 2,
        i % 2 === 0 ? 'pod/lo' : 'pod/eth0',
        ts[i],
        data,
        data.length + i,
        i % 3 === 0 ? `packet ${i} ✓` : undefined,
        directions[i % 3],
      ]),
    );
    expect(records[1].iface).toEqual({ linkType: 1, name: 'pod/eth0', snaplen: 0, tsresol: 9, tsresolNs: 1 });
  });

  const packetArb = fc.record({
    interfaceId: fc.integer({ min: 0, max: 2 }),
    timestampNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    data: fc.uint8Array({ maxLength: 80 }),
    extra: fc.nat(100),
    comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: undefined }),
    direction: fc.option(fc.constantFrom<PacketDirection>('inbound', 'outbound'), { nil: undefined }),
  });

  it('property: arbitrary packets survive write + read (pcapng)', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 30 }), (packets) => {
        const sink = new MemorySink();
        const writer = new PcapngWriter(sink);
        for (let i = 0; i < 3; i++) writer.addInterface({ linkType: 101, name: `if${i}`, snaplen: 0 });
        for (const p of packets) writer.writePacket({ ...p, originalLength: p.data.length + p.extra });
        writer.close();
        const back = decodeAll(sink.bytes());
        expect(back.map(({ interfaceId, timestampNs, data, originalLength, comment, direction }) => ({ interfaceId, timestampNs, data, originalLength, comment, direction }))).toEqual(
          packets.map(({ interfaceId, timestampNs, data, extra, comment, direction }) => ({ interfaceId, timestampNs, data, originalLength: data.length + extra, comment, direction })),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('property: arbitrary packets survive write + read (pcap, µs and ns)', () => {
    const maxNs = (1n << 32n) * 1_000_000_000n - 1n;
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.bigInt({ min: 0n, max: maxNs }), fc.uint8Array({ maxLength: 80 })), { maxLength: 30 }), (nanosecond, packets) => {
        const sink = new MemorySink();
        const writer = new PcapWriter(sink, { linkType: 228, nanosecond });
        for (const [ts, data] of packets) writer.writePacket(ts, data);
        writer.close();
        const back = decodeAll(sink.bytes());
        expect(back.map((r) => [r.timestampNs, r.data])).toEqual(packets.map(([ts, data]) => [nanosecond ? ts : ts - (ts % 1000n), data]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('reader entry points agree', () => {
  function sampleFile(): Uint8Array {
    const sink = new MemorySink();
    const writer = new PcapngWriter(sink);
    const id = writer.addInterface({ linkType: 101 });
    timestamps(50).forEach((t, i) => writer.writePacket({ interfaceId: id, timestampNs: t, data: PACKETS[i % PACKETS.length], comment: `c${i}` }));
    writer.close();
    return sink.bytes();
  }
  const strip = (records: CaptureRecord[]) => records.map((r) => ({ ...r, iface: r.iface.linkType }));

  it('readCaptureFile with odd chunk sizes equals readCaptureBytes', () => {
    const bytes = sampleFile();
    const file = path.join(tmp, 'sample.pcapng');
    fs.writeFileSync(file, bytes);
    const expected = strip(decodeAll(bytes));
    for (const chunk of [1, 7, 64, 1000, 1 << 20]) expect(strip([...readCaptureFile(file, chunk)])).toEqual(expected);
  });

  it('readCaptureStream reads an async byte stream (stdin-like)', async () => {
    const bytes = sampleFile();
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 333) chunks.push(Buffer.from(bytes.subarray(i, i + 333)));
    const records: CaptureRecord[] = [];
    for await (const r of readCaptureStream(Readable.from(chunks))) records.push(r);
    expect(strip(records)).toEqual(strip(decodeAll(bytes)));
  });

  it('readCaptureStream reports a truncated stream', async () => {
    const bytes = sampleFile();
    const consume = async () => {
      for await (const _ of readCaptureStream(Readable.from([Buffer.from(bytes.subarray(0, bytes.length - 5))]))) void _;
    };
    await expect(consume()).rejects.toMatchObject({ kind: 'truncated-record' });
  });

  it('FileSink produces the same bytes as MemorySink, including writes larger than its buffer', () => {
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const file = path.join(tmp, 'big.pcapng');
    const write = (sink: MemorySink | FileSink) => {
      const writer = new PcapngWriter(sink, { application: 'x' });
      const id = writer.addInterface({ linkType: 1, snaplen: 0 });
      for (let i = 0; i < 5000; i++) writer.writePacket({ interfaceId: id, timestampNs: BigInt(i), data: i % 1000 === 0 ? big : SYN });
      writer.close();
    };
    const memory = new MemorySink();
    write(memory);
    write(new FileSink(file));
    expect(Buffer.compare(fs.readFileSync(file), Buffer.from(memory.bytes()))).toBe(0);
  });
});
