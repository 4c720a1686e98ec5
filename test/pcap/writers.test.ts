// Writer behaviour beyond the golden bytes: snaplen cuts, argument checks, close semantics.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError, FileSink, MemorySink, PcapWriter, PcapngWriter } from '../../src/pcap/index.js';
import { OutputError } from '../../src/output/index.js';
import { SYN, decodeAll } from './fixtures.js';

function expectCaptureError(fn: () => void, kind: string, offset?: number): CaptureError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CaptureError);
    expect(err).toMatchObject(offset === undefined ? { kind } : { kind, offset });
    return err as CaptureError;
  }
  throw new Error(`expected CaptureError ${kind}`);
}

describe('PcapWriter', () => {
  it('cuts packets to snaplen and keeps the original length', () => {
    const sink = new MemorySink();
    const writer = new PcapWriter(sink, { linkType: 101, snaplen: 20 });
    writer.writePacket(5n, SYN);
    writer.close();
    expect(decodeAll(sink.bytes())[0]).toMatchObject({ data: SYN.subarray(0, 20), originalLength: 40 });
    expect(writer.packetsWritten).toBe(1);
    expect(writer.bytesWritten).toBe(24 + 16 + 20);
  });

  it('rejects values the format cannot hold, naming the file offset', () => {
    const writer = new PcapWriter(new MemorySink(), { linkType: 1 });
    expectCaptureError(() => writer.writePacket(-1n, SYN), 'timestamp-range', 24);
    expectCaptureError(() => writer.writePacket(4_294_967_296_000_000_000n, SYN), 'timestamp-range', 24);
    writer.writePacket(4_294_967_295_999_999_999n, SYN); // last representable ns (year 2106)
    expectCaptureError(() => writer.writePacket(0n, SYN, -1), 'bad-argument', 24 + 56);
    writer.writePacket(0n, SYN, 39); // below the captured length: written as given (captures in the wild have it)
    expectCaptureError(() => new PcapWriter(new MemorySink(), { linkType: 70000 }), 'bad-argument', 0);
    expectCaptureError(() => new PcapWriter(new MemorySink(), { linkType: 1, snaplen: -1 }), 'bad-argument', 0);
    writer.close();
    expectCaptureError(() => writer.writePacket(0n, SYN), 'closed');
  });
});

describe('PcapngWriter', () => {
  it('rejects an unknown interfaceId with a CaptureError at the current offset', () => {
    const writer = new PcapngWriter(new MemorySink());
    const err = expectCaptureError(() => writer.writePacket({ interfaceId: 0, timestampNs: 0n, data: SYN }), 'unknown-interface', 28);
    expect(err.message).toContain('interfaceId 0');
    writer.addInterface({ linkType: 101 });
    expectCaptureError(() => writer.writePacket({ interfaceId: 1, timestampNs: 0n, data: SYN }), 'unknown-interface');
    expectCaptureError(() => writer.writePacket({ interfaceId: -1, timestampNs: 0n, data: SYN }), 'unknown-interface');
  });

  it('cuts packets to the interface snaplen (0 = unlimited)', () => {
    const sink = new MemorySink();
    const writer = new PcapngWriter(sink);
    const cut = writer.addInterface({ linkType: 101, snaplen: 21 });
    const full = writer.addInterface({ linkType: 101, snaplen: 0 });
    writer.writePacket({ interfaceId: cut, timestampNs: 1n, data: SYN });
    writer.writePacket({ interfaceId: full, timestampNs: 2n, data: SYN });
    writer.close();
    const [a, b] = decodeAll(sink.bytes());
    expect(a).toMatchObject({ data: SYN.subarray(0, 21), originalLength: 40 });
    expect(b).toMatchObject({ data: SYN, originalLength: 40 });
    expect(writer.interfaces.map((i) => i.snaplen)).toEqual([21, 0]);
  });

  it('rejects bad arguments and oversize options before writing anything', () => {
    const sink = new MemorySink();
    const writer = new PcapngWriter(sink);
    const id = writer.addInterface({ linkType: 1 });
    const before = writer.bytesWritten;
    expectCaptureError(() => writer.writePacket({ interfaceId: id, timestampNs: 1n << 64n, data: SYN }), 'timestamp-range', before);
    expectCaptureError(() => writer.writePacket({ interfaceId: id, timestampNs: 0n, data: SYN, originalLength: 2 ** 32 }), 'bad-argument', before);
    expectCaptureError(() => writer.writePacket({ interfaceId: id, timestampNs: -1n, data: SYN }), 'timestamp-range', before);
    expectCaptureError(() => writer.writePacket({ interfaceId: id, timestampNs: 0n, data: SYN, comment: 'x'.repeat(70_000) }), 'bad-option', before);
    expectCaptureError(() => writer.addInterface({ linkType: 1 << 16 }), 'bad-argument', before);
    expect(writer.bytesWritten).toBe(before);
    expect(sink.bytes()).toHaveLength(before);
    writer.writePacket({ interfaceId: id, timestampNs: (1n << 64n) - 1n, data: SYN });
    writer.close();
    writer.close(); // idempotent
    expect(decodeAll(sink.bytes())[0].timestampNs).toBe((1n << 64n) - 1n);
    expectCaptureError(() => writer.addInterface({ linkType: 1 }), 'closed');
  });
});

describe('FileSink', () => {
  it('reports a path that cannot be written as an OutputError (bad-path)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-writers-'));
    const sink = new FileSink(path.join(dir, 'missing', 'folders', 'x.pcap')); // missing folders are created
    sink.abort();
    expect(fs.readdirSync(path.join(dir, 'missing', 'folders'))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
    let err: unknown;
    try {
      new FileSink('/proc/ctsim-no-such/x.pcap');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputError);
    expect(err).toMatchObject({ kind: 'bad-path' });
  });
});
