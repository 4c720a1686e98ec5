// Property tests: whatever bytes arrive, the decoder either yields records or throws a
// CaptureError (never a RangeError/TypeError), and how the input is chunked never matters.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureDecoder, CaptureError, MemorySink, PcapWriter, PcapngWriter } from '../../src/pcap/index.js';
import type { CaptureRecord } from '../../src/pcap/index.js';
import { DATA, SYN, SYN_ACK, concat, ngBlock, ngIdb, ngPb, ngShb, ngSpb, u32, u8 } from './fixtures.js';

interface Outcome {
  records: Array<Omit<CaptureRecord, 'iface'> & { linkType: number }>;
  error?: { kind: string; offset: number };
}

/** Decodes `bytes` fed in the given chunk sizes; anything but a CaptureError propagates. */
function decode(bytes: Uint8Array, chunkSizes: number[] = []): Outcome {
  const decoder = new CaptureDecoder();
  const outcome: Outcome = { records: [] };
  const collect = () => {
    for (let r = decoder.next(); r !== null; r = decoder.next()) {
      const { iface, ...rest } = r;
      outcome.records.push({ ...rest, linkType: iface.linkType });
    }
  };
  try {
    let at = 0;
    for (const size of chunkSizes) {
      if (at >= bytes.length) break;
      decoder.push(bytes.subarray(at, at + size));
      at += size;
      collect();
    }
    if (at < bytes.length) decoder.push(bytes.subarray(at));
    decoder.end();
    collect();
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    outcome.error = { kind: err.kind, offset: err.offset };
    expect(err.message).toContain(`byte offset ${err.offset}`);
  }
  return outcome;
}

function validPcap(nanosecond: boolean): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: 101, nanosecond });
  [SYN, SYN_ACK, DATA].forEach((p, i) => w.writePacket(BigInt(i) * 1_000_000_123n, p));
  w.close();
  return sink.bytes();
}

function validPcapng(): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { application: 'fuzz' });
  const a = w.addInterface({ linkType: 101, name: 'a' });
  const b = w.addInterface({ linkType: 1, name: 'b', description: 'bee' });
  w.writePacket({ interfaceId: a, timestampNs: 1n, data: SYN, comment: 'one', direction: 'inbound' });
  w.writePacket({ interfaceId: b, timestampNs: 2n, data: SYN_ACK, direction: 'outbound' });
  w.close();
  // Append a big-endian section with the other block kinds.
  return concat(
    sink.bytes(),
    ngShb(false),
    ngIdb(false, 101, 64, [[9, u8(0x80 | 20)]]),
    ngBlock(5, new Uint8Array(12), false),
    ngSpb(false, DATA.length, DATA),
    ngPb(false, { interfaceId: 0, units: 3n, data: DATA, options: [[2, u32(1, false)]] }),
  );
}

const SEEDS = [validPcap(true), validPcap(false), validPcapng()];

/** A valid file with a few bytes overwritten and maybe cut short. */
const mutatedArb = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ seed, edits, cut }) => {
    const bytes = seed.slice();
    for (const [at, value] of edits) bytes[at % bytes.length] = value;
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

/** Plausible headers followed by garbage, so the fuzzing gets past the magic. */
const prefixedArb = fc
  .tuple(fc.constantFrom(SEEDS[0].subarray(0, 24), SEEDS[1].subarray(0, 24), SEEDS[2].subarray(0, 28), ngShb(false)), fc.uint8Array({ maxLength: 300 }))
  .map(([head, tail]) => concat(head, tail));

const inputArb = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedArb, prefixedArb);

describe('decoder robustness', () => {
  it('property: never throws anything but CaptureError', () => {
    fc.assert(
      fc.property(inputArb, (bytes) => {
        decode(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: chunking never changes the records or the error', () => {
    fc.assert(
      fc.property(inputArb, fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }), (bytes, chunks) => {
        expect(decode(bytes, chunks)).toEqual(decode(bytes));
      }),
      { numRuns: 1500 },
    );
  });

  it('the seeds themselves decode cleanly', () => {
    expect(SEEDS.map((s) => decode(s).error)).toEqual([undefined, undefined, undefined]);
    expect(decode(SEEDS[2]).records.map((r) => r.linkType)).toEqual([101, 1, 101, 101]);
  });
});
