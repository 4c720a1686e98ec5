// Malformed and truncated input: always a CaptureError with the right kind and the file
// offset of the structure at fault, never a silently dropped tail.
import { describe, expect, it } from 'vitest';
import { CaptureDecoder, CaptureError, MemorySink, PcapWriter, PcapngWriter, readCaptureStream } from '../../src/pcap/index.js';
import { DATA, SYN, SYN_ACK, concat, decodeAll, decodeError, hex, ngBlock, ngEpb, ngIdb, ngShb, pcapFile, u32 } from './fixtures.js';

function pcapOf(packets: Uint8Array[]): Uint8Array {
  const sink = new MemorySink();
  const writer = new PcapWriter(sink, { linkType: 101 });
  packets.forEach((p, i) => writer.writePacket(BigInt(i) * 1000n, p));
  writer.close();
  return sink.bytes();
}

function pcapngOf(packets: Uint8Array[]): { bytes: Uint8Array; epbOffsets: number[] } {
  const sink = new MemorySink();
  const writer = new PcapngWriter(sink);
  const id = writer.addInterface({ linkType: 101 });
  const epbOffsets: number[] = [];
  for (const p of packets) {
    epbOffsets.push(writer.bytesWritten);
    writer.writePacket({ interfaceId: id, timestampNs: 1n, data: p });
  }
  writer.close();
  return { bytes: sink.bytes(), epbOffsets };
}

describe('file headers', () => {
  it('rejects empty input as a truncated header', () => {
    expect(decodeError(new Uint8Array(0))).toMatchObject({ kind: 'truncated-header', offset: 0 });
  });

  it('rejects a truncated pcap global header', () => {
    const file = pcapOf([]);
    expect(file).toHaveLength(24);
    for (const cut of [2, 4, 10, 23]) {
      expect(decodeError(file.subarray(0, cut))).toMatchObject({ kind: 'truncated-header', offset: 0 });
    }
    expect(decodeAll(file)).toEqual([]); // the bare header is a valid empty capture
  });

  it('rejects a truncated first SHB', () => {
    const { bytes } = pcapngOf([]); // SHB (28 bytes, no options) + IDB
    for (const cut of [4, 11, 20, 27]) {
      expect(decodeError(bytes.subarray(0, cut))).toMatchObject({ kind: 'truncated-header', offset: 0 });
    }
  });

  it('rejects an unknown magic', () => {
    const err = decodeError(hex('7f454c46 02010100 0000000000000000'));
    expect(err).toMatchObject({ kind: 'bad-magic', offset: 0 });
    expect(err.message).toContain('0x7f454c46');
    expect(err.message).toContain('byte offset 0');
  });

  it('rejects pcap major versions other than 2 and the modified-pcap magic', () => {
    expect(decodeError(pcapFile({ le: true, nano: false, linkTypeField: 1, major: 3, records: [] }))).toMatchObject({
      kind: 'unsupported-version',
    });
    expect(decodeError(hex('34cdb2a1 02000400'))).toMatchObject({ kind: 'unsupported-version', offset: 0 });
  });

  it('rejects pcapng major version 2 and a bad byte-order magic', () => {
    expect(decodeError(ngShb(true, [], 2))).toMatchObject({ kind: 'unsupported-version', offset: 0 });
    const shb = ngShb(true).slice();
    shb[8] = 0x11;
    expect(decodeError(shb)).toMatchObject({ kind: 'bad-magic', offset: 0 });
    // A later SHB with a bad magic is reported at its own offset.
    const first = concat(ngShb(true), ngIdb(true, 101, 0));
    expect(decodeError(concat(first, shb))).toMatchObject({ kind: 'bad-magic', offset: first.length });
  });
});

describe('truncated records', () => {
  it('reports a pcap file cut inside the last record, at that record', () => {
    const file = pcapOf([SYN, SYN_ACK, DATA]);
    const lastRecord = 24 + 2 * (16 + 40);
    for (const cut of [lastRecord + 1, lastRecord + 15, lastRecord + 16, file.length - 1]) {
      const err = decodeError(file.subarray(0, cut));
      expect(err).toMatchObject({ kind: 'truncated-record', offset: lastRecord });
      expect(err.message).toContain(`byte offset ${lastRecord}`);
    }
    expect(decodeAll(file.subarray(0, lastRecord))).toHaveLength(2);
  });

  it('delivers the complete records before reporting the truncated one', () => {
    const file = pcapOf([SYN, SYN_ACK, DATA]);
    const decoder = new CaptureDecoder();
    decoder.push(file.subarray(0, file.length - 3));
    decoder.end();
    expect(decoder.next()?.data).toEqual(SYN);
    expect(decoder.next()?.data).toEqual(SYN_ACK);
    expect(() => decoder.next()).toThrow(CaptureError);
    // The failure is sticky.
    expect(() => decoder.next()).toThrow(/truncated-record at byte offset 136/);
  });

  it('reports a pcapng file cut inside the last block, at that block', () => {
    const { bytes, epbOffsets } = pcapngOf([SYN, DATA]);
    const last = epbOffsets[1];
    for (const cut of [last + 2, last + 8, bytes.length - 4, bytes.length - 1]) {
      expect(decodeError(bytes.subarray(0, cut))).toMatchObject({ kind: 'truncated-record', offset: last });
    }
  });

  it('reports a cut inside a skipped (uninterpreted) block, at that block', () => {
    const head = concat(ngShb(true), ngIdb(true, 101, 0));
    const file = concat(head, ngBlock(5, new Uint8Array(64), true));
    for (const cut of [head.length + 9, head.length + 40, file.length - 2]) {
      expect(decodeError(file.subarray(0, cut))).toMatchObject({ kind: 'truncated-record', offset: head.length });
    }
  });
});

describe('bad pcapng blocks', () => {
  const head = concat(ngShb(true), ngIdb(true, 101, 0));
  const epb = ngEpb(true, { interfaceId: 0, units: 1n, data: SYN });

  it.each([
    ['not a multiple of 4', 45],
    ['shorter than 12', 8],
    ['zero', 0],
  ])('rejects a Block Total Length %s', (_what, total) => {
    const bad = ngBlock(6, new Uint8Array(32), true, { total });
    expect(decodeError(concat(head, bad))).toMatchObject({ kind: 'bad-block-length', offset: head.length });
  });

  it('rejects a trailing length that differs from the leading one', () => {
    const bad = ngBlock(6, epb.subarray(8, epb.length - 4), true, { trailer: epb.length + 4 });
    const err = decodeError(concat(head, epb, bad));
    expect(err).toMatchObject({ kind: 'bad-block-length', offset: head.length + epb.length });
    // Same check for blocks we skip without interpreting.
    const skipped = ngBlock(0x0bad, new Uint8Array(16), true, { trailer: 16 });
    expect(decodeError(concat(head, skipped))).toMatchObject({ kind: 'bad-block-length', offset: head.length });
  });

  it('rejects an EPB for an interface the section never declared', () => {
    const stray = ngEpb(true, { interfaceId: 1, units: 1n, data: SYN });
    const err = decodeError(concat(head, epb, stray));
    expect(err).toMatchObject({ kind: 'unknown-interface', offset: head.length + epb.length });
    expect(decodeError(concat(ngShb(true), epb))).toMatchObject({ kind: 'unknown-interface', offset: 28 });
  });

  it('rejects an EPB whose captured length overruns the block', () => {
    const bad = epb.slice();
    new DataView(bad.buffer).setUint32(20, 41, true);
    expect(decodeError(concat(head, bad))).toMatchObject({ kind: 'bad-block', offset: head.length });
  });

  it('rejects a block too short for its fixed part', () => {
    expect(decodeError(concat(head, ngBlock(6, new Uint8Array(8), true)))).toMatchObject({ kind: 'bad-block', offset: head.length });
    expect(decodeError(concat(ngShb(true), ngBlock(1, new Uint8Array(4), true)))).toMatchObject({ kind: 'bad-block', offset: 28 });
  });

  it('rejects an option that overruns its block, at the option', () => {
    // IDB body: linktype, reserved, snaplen, then an if_name claiming 200 bytes.
    const idb = ngBlock(1, concat(u32(101, true), u32(0, true), u32(0x00c80002, true), new Uint8Array(8)), true);
    const err = decodeError(concat(ngShb(true), idb));
    expect(err).toMatchObject({ kind: 'bad-option', offset: 28 + 16 });
  });

  it('rejects if_tsresol and epb_flags of the wrong size', () => {
    const idb = ngIdb(true, 101, 0, [[9, new Uint8Array(2)]]);
    expect(decodeError(concat(ngShb(true), idb))).toMatchObject({ kind: 'bad-option', offset: 28 + 16 });
    const flags = ngEpb(true, { interfaceId: 0, units: 1n, data: SYN, options: [[2, new Uint8Array(2)]] });
    expect(decodeError(concat(head, flags))).toMatchObject({ kind: 'bad-option', offset: head.length + 28 + 40 });
  });
});

describe('oversized records (issue 18: one crafted pcapng of seven 256 MiB blocks took 1.12 GB)', () => {
  it('refuses a pcap record larger than 256 KiB (libpcap\'s largest snapshot length) without buffering it', () => {
    const file = pcapFile({ le: true, nano: true, linkTypeField: 101, records: [{ seconds: 1, fraction: 0, data: SYN, capturedLength: 262_145 }] });
    expect(decodeError(file)).toMatchObject({ kind: 'record-too-large', offset: 24 });
    const d = new CaptureDecoder();
    d.push(pcapFile({ le: true, nano: true, linkTypeField: 101, records: [{ seconds: 1, fraction: 0, data: new Uint8Array(0), capturedLength: 0x10000000 }] }));
    expect(() => d.next()).toThrow(/record-too-large/); // at once: no waiting for 256 MiB to arrive
  });

  it('tolerates caplen > snaplen below the limit', () => {
    const file = pcapFile({ le: false, nano: false, linkTypeField: 101, snaplen: 20, records: [{ seconds: 1, fraction: 2, data: SYN }] });
    expect(decodeAll(file)[0]).toMatchObject({ data: SYN, timestampNs: 1_000_002_000n });
  });

  it('reads a 256 KiB packet, refuses one byte more', () => {
    const head = concat(ngShb(true), ngIdb(true, 101, 0));
    expect(decodeAll(concat(head, ngEpb(true, { interfaceId: 0, units: 1n, data: new Uint8Array(262_144) })))[0].data).toHaveLength(262_144);
    expect(decodeError(concat(head, ngEpb(true, { interfaceId: 0, units: 1n, data: new Uint8Array(262_145) })))).toMatchObject({ kind: 'record-too-large', offset: head.length });
  });

  it('refuses a pcapng block the reader would have to buffer beyond 393,248 bytes, as soon as its header arrives', () => {
    const head = concat(ngShb(true), ngIdb(true, 101, 0));
    for (const type of [6, 1, 2, 3]) {
      const d = new CaptureDecoder();
      d.push(concat(head, u32(type, true), u32(256 * 1024 * 1024, true)));
      expect(() => d.next()).toThrow(/record-too-large at byte offset 48/);
    }
    const huge = concat(u32(6, true), u32(0x10000010, true), new Uint8Array(64));
    expect(decodeError(concat(head, huge))).toMatchObject({ kind: 'record-too-large', offset: head.length });
  });

  it('skips blocks it does not interpret as they stream by, whatever their size: seven 256 MiB blocks in bounded memory', async () => {
    const head = concat(ngShb(true), ngIdb(true, 101, 0));
    const zeros = new Uint8Array(1 << 20);
    const SIZE = 256 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    let peak = 0;
    async function* stream(): AsyncGenerator<Uint8Array> {
      yield head;
      for (let b = 0; b < 7; b++) {
        yield concat(u32(0x00000bad, true), u32(SIZE, true));
        for (let left = SIZE - 12; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left);
        yield u32(SIZE, true);
        peak = Math.max(peak, process.memoryUsage().rss - before);
      }
      yield ngEpb(true, { interfaceId: 0, units: 7n, data: SYN });
    }
    const records = [];
    for await (const r of readCaptureStream(stream())) records.push(r);
    expect(records.map((r) => r.timestampNs)).toEqual([7000n]);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });
});
