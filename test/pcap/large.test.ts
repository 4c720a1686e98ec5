// A million packets through FileSink and back through readCaptureFile: both directions must
// stream (heap stays flat after GC) whatever the file size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink, PcapngWriter, readCaptureFile } from '../../src/pcap/index.js';
import { DATA, SYN } from './fixtures.js';

const PACKETS = 1_000_000;
const HEAP_BUDGET = 32 * 1024 * 1024;
const T0 = 1_700_000_000_000_000_000n;

// Measure retained memory, not garbage: a forced full GC before each sample. --expose-gc
// cannot be passed to vitest's workers from here, so enable it at runtime.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-pcap-large-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, 'million.pcapng');

describe('1,000,000 packets', () => {
  it('writes to a FileSink without heap growth', () => {
    const before = heapAfterGc();
    let peak = 0;
    const writer = new PcapngWriter(new FileSink(file), { application: 'ctsim large test' });
    const a = writer.addInterface({ linkType: 101, name: 'pod/lo' });
    const b = writer.addInterface({ linkType: 101, name: 'pod/eth0' });
    for (let i = 0; i < PACKETS; i++) {
      writer.writePacket({
        interfaceId: i & 1 ? b : a,
        timestampNs: T0 + BigInt(i) * 1000n,
        data: i % 10 === 0 ? DATA : SYN,
        direction: i & 1 ? 'inbound' : 'outbound',
      });
      if (i % 200_000 === 199_999) peak = Math.max(peak, heapAfterGc() - before);
    }
    writer.close();
    peak = Math.max(peak, heapAfterGc() - before);
    expect(writer.packetsWritten).toBe(PACKETS);
    // SHB + 2 IDBs, then EPB = 28 fixed + data (40 or 48 padded) + epb_flags 8 + endofopt 4 + trailer 4.
    expect(fs.statSync(file).size).toBe(writer.bytesWritten);
    expect(peak).toBeLessThan(HEAP_BUDGET);
  });

  it('reads back streaming with bounded memory', () => {
    const before = heapAfterGc();
    let peak = 0;
    let count = 0;
    let previous = -1n;
    for (const record of readCaptureFile(file)) {
      if (record.index !== count) throw new Error(`index ${record.index} at packet ${count}`);
      if (record.timestampNs !== T0 + BigInt(count) * 1000n || record.timestampNs <= previous) throw new Error(`bad timestamp at ${count}`);
      if (record.data.length !== (count % 10 === 0 ? DATA.length : SYN.length)) throw new Error(`bad length at ${count}`);
      if (record.direction !== (count & 1 ? 'inbound' : 'outbound')) throw new Error(`bad direction at ${count}`);
      previous = record.timestampNs;
      count++;
      if (count % 200_000 === 0) peak = Math.max(peak, heapAfterGc() - before);
    }
    expect(count).toBe(PACKETS);
    expect(peak).toBeLessThan(HEAP_BUDGET);
  });
});
