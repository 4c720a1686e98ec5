// The checks themselves: each invariant fires on a deliberately broken engine (faults.ts) and
// stays quiet on the real one; the transition rules come from the table; hand-written cases
// (challenge-ACK exchange, re-open, timeouts at the exact boundary) pass every check.
import { describe, expect, it } from 'vitest';
import { CaseGenerator, FAULTS, INVARIANTS, makeFault, runCase, type FaultName, type FuzzCase, type FuzzPacket } from '../../src/fuzz/index.js';
import { acceptedTransition, newEntryState, reopenAllowed } from '../../src/fuzz/transition-rules.js';
import { Dir, TcpCtState, TcpPacketClass } from '../../src/conntrack/tcp-states.js';
import { TcpFlag, encodeSegment, ip, type TcpOption } from '../../src/wire/index.js';

const { SYN, ACK, FIN, RST } = TcpFlag;
const C = ip('198.18.0.10');
const S = ip('198.19.0.20');
const SYN_OPTS: TcpOption[] = [{ kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: 1, tsecr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }];

function c2s(t: number, seq: number, ack: number, flags: number, len = 0, options: TcpOption[] = []): FuzzPacket {
  return { timeNs: t, bytes: encodeSegment({ src: C, dst: S, srcPort: 44410, dstPort: 8080, seq, ack, flags, options, payload: new Uint8Array(len), window: 502 }) };
}
function s2c(t: number, seq: number, ack: number, flags: number, len = 0, options: TcpOption[] = []): FuzzPacket {
  return { timeNs: t, bytes: encodeSegment({ src: S, dst: C, srcPort: 8080, dstPort: 44410, seq, ack, flags, options, payload: new Uint8Array(len), window: 509 }) };
}
function hand(kernel: string, packets: FuzzPacket[], sysctls: string[] = []): FuzzCase {
  return { kernel, sysctls, seed: 0, index: 0, mode: 'structured', packets, tags: [] };
}

const SEC = 1e9;
/** The seed incident's port collision: half-close, 70 s, a new SYN, challenge ACK, RST (seq = its ack). */
function collision(): FuzzPacket[] {
  const oc = 0x40000000;
  const os = 0x70000000;
  const nc = (oc + 101 - 0x10000000) >>> 0;
  return [
    c2s(0, oc, 0, SYN, 0, SYN_OPTS), s2c(100_000, os, oc + 1, SYN | ACK, 0, SYN_OPTS), c2s(200_000, oc + 1, os + 1, ACK),
    c2s(1e6, oc + 1, os + 1, ACK, 100), s2c(1.1e6, os + 1, oc + 101, ACK, 200), c2s(1.2e6, oc + 101, os + 201, ACK),
    s2c(0.5 * SEC, os + 201, oc + 101, FIN | ACK), c2s(0.5 * SEC + 1e5, oc + 101, os + 202, ACK),
    c2s(70 * SEC, nc, 0, SYN, 0, SYN_OPTS), s2c(70 * SEC + 5e4, os + 202, oc + 101, ACK), c2s(70 * SEC + 1e5, oc + 101, 0, RST),
    c2s(71 * SEC, nc, 0, SYN, 0, SYN_OPTS),
  ];
}

describe('transition rules', () => {
  it('take table cells, and only the documented overrides', () => {
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.FIN, TcpCtState.ESTABLISHED, TcpCtState.FIN_WAIT)).toBe('table');
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.FIN, TcpCtState.ESTABLISHED, TcpCtState.CLOSE_WAIT)).toBeNull();
    expect(acceptedTransition(Dir.REPLY, TcpPacketClass.SYNACK, TcpCtState.ESTABLISHED, TcpCtState.SYN_RECV)).toBe('resync');
    expect(acceptedTransition(Dir.REPLY, TcpPacketClass.SYNACK, TcpCtState.TIME_WAIT, TcpCtState.SYN_RECV)).toBe('resync');
    expect(acceptedTransition(Dir.REPLY, TcpPacketClass.ACK, TcpCtState.SYN_RECV, TcpCtState.ESTABLISHED)).toBe('simultaneous-open');
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.ACK, TcpCtState.SYN_RECV, TcpCtState.ESTABLISHED)).toBe('table');
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.RST, TcpCtState.ESTABLISHED, TcpCtState.ESTABLISHED)).toBe('rst-keeps-state');
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.RST, TcpCtState.ESTABLISHED, TcpCtState.CLOSE)).toBe('table');
    // An ignored cell never becomes a state by itself; SYN on TIME_WAIT is a re-open, not a table move.
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.SYN, TcpCtState.ESTABLISHED, TcpCtState.SYN_SENT)).toBeNull();
    expect(acceptedTransition(Dir.ORIGINAL, TcpPacketClass.SYN, TcpCtState.TIME_WAIT, TcpCtState.SYN_SENT)).toBeNull();
    expect(reopenAllowed(Dir.ORIGINAL, TcpPacketClass.SYN, TcpCtState.TIME_WAIT)).toBe(true);
    expect(reopenAllowed(Dir.REPLY, TcpPacketClass.SYN, TcpCtState.TIME_WAIT)).toBe(true);
    expect(reopenAllowed(Dir.REPLY, TcpPacketClass.SYN, TcpCtState.CLOSE)).toBe(false);
    expect(reopenAllowed(Dir.ORIGINAL, TcpPacketClass.SYN, TcpCtState.CLOSE_WAIT)).toBe(false);
    expect(newEntryState(TcpPacketClass.SYN)).toBe(TcpCtState.SYN_SENT);
    expect(newEntryState(TcpPacketClass.ACK)).toBe(TcpCtState.ESTABLISHED);
    expect(newEntryState(TcpPacketClass.FIN)).toBe(TcpCtState.INVALID);
  });
});

describe('hand-written cases pass every check', () => {
  it.each(['4.19', '5.4', 'sles-15-sp4', '6.1.8', '6.18'])('the port-collision exchange on %s', (k) => {
    const r = runCase(hand(k, collision()));
    expect(r.violation).toBeNull();
    expect(r.rows).toHaveLength(12);
  });

  it('a re-open from TIME_WAIT, and entries expiring exactly at their timeout (boundary ns)', () => {
    const ci = 0xfffffff0;
    const si = 1000;
    const close = [
      c2s(0, ci, 0, SYN, 0, SYN_OPTS), s2c(1e5, si, ci + 1, SYN | ACK, 0, SYN_OPTS), c2s(2e5, ci + 1, si + 1, ACK),
      c2s(3e5, ci + 1, si + 1, FIN | ACK), s2c(4e5, si + 1, ci + 2, FIN | ACK), c2s(5e5, ci + 2, si + 2, ACK),
    ];
    const reopen = [...close, c2s(1 * SEC, 0x12345678, 0, SYN, 0, SYN_OPTS)];
    const r = runCase(hand('6.18', reopen));
    expect(r.violation).toBeNull();
    expect(r.rows.at(-1)).toMatchObject({ reopened: true, state: 'SYN_SENT', ctinfo: 'NEW' });
    // TIME_WAIT is 120 s: at exactly +120 s the entry is gone, at +120 s - 1 ns it is not.
    for (const gap of [120 * SEC - 1, 120 * SEC, 120 * SEC + 1]) {
      const late = [...close, c2s(5e5 + gap, ci + 2, si + 2, ACK)];
      const rr = runCase(hand('6.18', late));
      expect(rr.violation).toBeNull();
      expect(rr.rows.at(-1)!.ctinfo).toBe(gap < 120 * SEC ? 'ESTABLISHED' : 'NEW');
    }
  });

  it('non-TCP, truncated and corrupt packets are reported, never thrown', () => {
    const syn = c2s(0, 1, 0, SYN, 0, SYN_OPTS).bytes;
    const short = syn.slice(0, 30);
    short[3] = 30; // IPv4 total length 30: 10 bytes of TCP, ports but no flags
    const bad = [syn.slice(0, 10), short, Uint8Array.from([0x60, ...syn.slice(1)]), (() => { const b = syn.slice(); b[9] = 17; return b; })()];
    const r = runCase(hand('6.18', bad.map((bytes, i) => ({ timeNs: i, bytes }))));
    expect(r.violation).toBeNull();
    expect(r.rows.map((x) => x.ctinfo)).toEqual(['UNTRACKED', 'INVALID', 'UNTRACKED', 'UNTRACKED']);
  });
});

describe('each invariant fires on a deliberately broken engine', () => {
  const expected: Record<FaultName, string> = {
    transition: 'transition', index: 'index', timeout: 'timeout', exception: 'exception', 'nat-checksum': 'nat-checksum', determinism: 'determinism',
  };
  it.each(FAULTS)('fault %s', (fault) => {
    const g = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 2, mode: 'structured' });
    let hits = 0;
    for (let i = 0; i < 60; i++) {
      const r = runCase(g.generate(i), { fault: makeFault(fault) });
      if (r.violation) {
        expect(r.violation.invariant).toBe(expected[fault]);
        expect(INVARIANTS).toContain(r.violation.invariant);
        hits++;
      }
    }
    expect(hits).toBeGreaterThan(5);
  });

  it('and none fires on the real engine for the same cases', () => {
    const g = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: 2, mode: 'structured' });
    for (let i = 0; i < 60; i++) expect(runCase(g.generate(i)).violation).toBeNull();
  });
});
