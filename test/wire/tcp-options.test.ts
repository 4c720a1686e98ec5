import { describe, expect, it } from 'vitest';
import { TcpOptionScan, emitTcpOptions, parseTcpOptions, scanTcpOptions, tcpOptionsLength, type TcpOption } from '../../src/wire/index.js';

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

  it('scan (hot path) finds wscale, sackOK, mss, timestamps and the highest SACK edge in sequence space', () => {
    const opts: TcpOption[] = [
      { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: 7, tsecr: 9 },
      { kind: 'wscale', shift: 14 }, { kind: 'sack', blocks: [[0xfffffff0, 0xfffffff8], [0xfffffff8, 0x00000010]] },
    ];
    const b = new Uint8Array(tcpOptionsLength(opts));
    emitTcpOptions(opts, b, 0);
    const s = scanTcpOptions(b, 0, b.length, new TcpOptionScan());
    expect(s).toMatchObject({ mss: 1460, sackPermitted: true, hasTimestamp: true, tsval: 7, tsecr: 9, wscale: 14, sackBlocks: 2, sackRightMax: 0x10 });
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
