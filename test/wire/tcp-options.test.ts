import { describe, expect, it } from 'vitest';
import { TcpOptionScan, emitTcpOptions, isAlignedTimestampOnly, parseTcpOptions, scanTcpOptions, tcpOptionsLength, type TcpOption } from '../../src/wire/index.js';

describe('TCP options', () => {
  it('round-trips every kind, SACK blocks, EOL with trailing bytes and unknown kinds untouched', () => {
    const opts: TcpOption[] = [
      { kind: 'nop' }, { kind: 'nop' },
      { kind: 'sack', blocks: [[1, 2], [0xfffffff0, 0x10]] },
      { kind: 'unknown', type: 30, data: Uint8Array.from([1, 2, 3, 4]) }, // MPTCP-like, passed through
      { kind: 'unknown', type: 2, data: Uint8Array.from([5]) }, // MSS with a wrong length stays raw
      { kind: 'eol', rest: Uint8Array.from([0, 0, 7]) },
    ];
    const n = tcpOptionsLength(opts);
    const b = new Uint8Array(n);
    expect(emitTcpOptions(opts, b, 0)).toBe(n);
    expect(parseTcpOptions(b, 0, n)).toEqual(opts);
  });

  it('scan (hot path) finds wscale, sackOK, mss, timestamps and the SACK edges', () => {
    const opts: TcpOption[] = [
      { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: 7, tsecr: 9 },
      { kind: 'wscale', shift: 14 }, { kind: 'sack', blocks: [[0xfffffff0, 0xfffffff8], [0xfffffff8, 0x00000010]] },
    ];
    const b = new Uint8Array(tcpOptionsLength(opts));
    emitTcpOptions(opts, b, 0);
    const s = scanTcpOptions(b, 0, b.length, new TcpOptionScan());
    expect(s).toMatchObject({ mss: 1460, sackPermitted: true, hasTimestamp: true, tsval: 7, tsecr: 9, wscale: 14, sackBlocks: 2 });
    expect(s.sackFrom(0xfffffff0) >>> 0).toBe(0x10);
  });

  it('recognises only the aligned timestamp layout as tcp_sack()\'s fast path (no SACK block can hide in it)', () => {
    const area = (opts: TcpOption[]) => {
      const b = new Uint8Array(tcpOptionsLength(opts));
      emitTcpOptions(opts, b, 0);
      return b;
    };
    const ts = area([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: 1, tsecr: 2 }]);
    expect(isAlignedTimestampOnly(ts, 0, ts.length)).toBe(true);
    // Same length, one SACK block: must be scanned (and its edge counts).
    const sack = area([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[10, 20]] }]);
    expect(sack.length).toBe(ts.length);
    expect(isAlignedTimestampOnly(sack, 0, sack.length)).toBe(false);
    expect(scanTcpOptions(sack, 0, sack.length, new TcpOptionScan()).sackFrom(5)).toBe(20);
    // Timestamp plus SACK (longer area), and the timestamp unaligned at the front: scanned.
    const tsSack = area([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: 1, tsecr: 2 }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[10, 20]] }]);
    expect(isAlignedTimestampOnly(tsSack, 0, tsSack.length)).toBe(false);
    const unaligned = area([{ kind: 'timestamp', tsval: 1, tsecr: 2 }, { kind: 'nop' }, { kind: 'nop' }]);
    expect(isAlignedTimestampOnly(unaligned, 0, unaligned.length)).toBe(false);
  });

  it('sackFrom() folds right edges over the ack in packet order, like tcp_sack() (found by kernel-diff)', () => {
    // From a fuzz case the 6.18 kernel judged INVALID: the first edge is not after the ack
    // (2^31 + 59000 ahead), the second is; a pairwise maximum of the edges picked the wrong one.
    const opts: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[3214033468, 3214093722], [3099603482, 3099637046]] }];
    const b = new Uint8Array(tcpOptionsLength(opts));
    emitTcpOptions(opts, b, 0);
    expect(scanTcpOptions(b, 0, b.length, new TcpOptionScan()).sackFrom(1066549820) >>> 0).toBe(3099637046);
    // Exactly 2^31 apart counts as after (the kernel's (s32)(b - a) < 0).
    const half: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[0, 0x80000000]] }];
    const h = new Uint8Array(tcpOptionsLength(half));
    emitTcpOptions(half, h, 0);
    expect(scanTcpOptions(h, 0, h.length, new TcpOptionScan()).sackFrom(0) >>> 0).toBe(0x80000000);
    // Only the first SACK option counts.
    const two: TcpOption[] = [{ kind: 'sack', blocks: [[1, 5]] }, { kind: 'sack', blocks: [[5, 900]] }];
    const t = new Uint8Array(tcpOptionsLength(two));
    emitTcpOptions(two, t, 0);
    expect(scanTcpOptions(t, 0, t.length, new TcpOptionScan()).sackFrom(1)).toBe(5);
  });

  it('scan stops quietly at malformed options, like the kernel (no exception)', () => {
    const b = Uint8Array.from([3, 3, 5, 2, 1, 4, 2]); // WS 5, then a length-1 option, then SACK_PERM never reached
    const s = scanTcpOptions(b, 0, b.length, new TcpOptionScan());
    expect(s.wscale).toBe(5);
    expect(s.sackPermitted).toBe(false);
    const overrun = Uint8Array.from([4, 2, 3, 9, 1]);
    expect(scanTcpOptions(overrun, 0, overrun.length, new TcpOptionScan())).toMatchObject({ sackPermitted: true, wscale: -1 });
  });
});
