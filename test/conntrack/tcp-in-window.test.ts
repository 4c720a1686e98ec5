// tcp_in_window(): each of the four checks at its exact bound (one inside, at, one outside), on
// an entry whose sequence numbers wrap past 2^32 and whose windows are scaled (wscale 7). The
// bounds are read from the tracked state, then each probe runs on a fresh copy of the entry.
import { describe, expect, it } from 'vitest';
import { TcpSeenFlag } from '../../src/conntrack/entry-records.js';
import { ACK, PSH, c2s } from '../support/segments.js';
import { CI, Driver, SI, handshake } from '../support/ct-driver.js';

function fresh(kernel: string, sysctls: string[] = []): Driver {
  const d = new Driver({ kernel, sysctls });
  handshake(d);
  return d;
}

function bounds(d: Driver) {
  const c = d.ct.records;
  // sender = client (side 0), receiver = server (side 1)
  // columns hold sequence numbers as int32: read them back unsigned
  return { sEnd: c.tdEnd(0) >>> 0, sMaxend: c.tdMaxend(0) >>> 0, sMaxwin: c.tdMaxwin(0), rEnd: c.tdEnd(1) >>> 0, rMaxwin: c.tdMaxwin(1) };
}

const u = (n: number) => n >>> 0;

describe('tcp_in_window after a scaled handshake across the 2^32 wrap', () => {
  it('tracks the handshake as the kernel does (scale 7 both ways, max window from the scaled ACK)', () => {
    const d = fresh('6.18');
    const c = d.ct.records;
    expect(bounds(d)).toEqual({ sEnd: u(CI + 1), sMaxend: u(CI + 1 + 65160), sMaxwin: 502 << 7, rEnd: u(SI + 1), rMaxwin: 65160 });
    expect(c.tdScale(0)).toBe(7);
    expect(c.tdScale(1)).toBe(7);
    expect(c.tdFlags(0) & TcpSeenFlag.WINDOW_SCALE).toBeTruthy();
    expect(c.tdMaxend(1) >>> 0).toBe(u(SI + 1 + (502 << 7)));
  });

  const probe = (kernel: string, mk: (b: ReturnType<typeof bounds>) => Uint8Array, sysctls: string[] = []) => {
    const d = fresh(kernel, sysctls);
    return d.send(mk(bounds(d)));
  };

  for (const kernel of ['5.4', '6.18']) {
    const v6 = kernel === '6.18';
    describe(`on ${kernel}`, () => {
      it('I: seq <= sender.td_maxend', () => {
        expect(probe(kernel, (b) => c2s({ seq: b.sMaxend - 1, ack: b.rEnd, flags: ACK })).outcome).toBe('ACCEPT');
        expect(probe(kernel, (b) => c2s({ seq: b.sMaxend, ack: b.rEnd, flags: ACK })).outcome).toBe('ACCEPT');
        const over = probe(kernel, (b) => c2s({ seq: b.sMaxend + 1, ack: b.rEnd, flags: ACK }));
        if (v6) {
          // 6.0+ "work around exceeded receive window": 2 bytes over, within the receiver's window
          expect(over).toMatchObject({ outcome: 'IGNORE', reason: '2 bytes more than expected' });
        } else {
          expect(over).toMatchObject({ outcome: 'INVALID', reason: 'SEQ is over the upper bound (over the window of the receiver)' });
        }
        const far = probe(kernel, (b) => c2s({ seq: b.sMaxend + 70000, ack: b.rEnd, flags: ACK }));
        expect(far.outcome).toBe('INVALID');
        if (v6) expect(far.reason).toBe(`SEQ is over upper bound ${u(CI + 1 + 65160 + 1)} (over the window of the receiver)`);
      });

      it('III: sack <= receiver.td_end', () => {
        expect(probe(kernel, (b) => c2s({ seq: b.sEnd, ack: b.rEnd, flags: ACK })).outcome).toBe('ACCEPT');
        const r = probe(kernel, (b) => c2s({ seq: b.sEnd, ack: b.rEnd + 1, flags: ACK }));
        expect(r.outcome).toBe('INVALID');
        expect(r.reason).toBe(v6 ? `ACK is over upper bound ${u(SI + 2)} (ACKed data not seen yet)` : 'ACK is over the upper bound (ACKed data not seen yet)');
      });

      it('II: end >= sender.td_end - receiver.td_maxwin', () => {
        expect(probe(kernel, (b) => c2s({ seq: b.sEnd - b.rMaxwin + 1, ack: b.rEnd, flags: ACK })).outcome).toBe('ACCEPT');
        expect(probe(kernel, (b) => c2s({ seq: b.sEnd - b.rMaxwin, ack: b.rEnd, flags: ACK })).outcome).toBe('ACCEPT');
        const r = probe(kernel, (b) => c2s({ seq: b.sEnd - b.rMaxwin - 1, ack: b.rEnd, flags: ACK }));
        // 6.1+: an old retransmission is let through unlearnt (IGNORE); before: INVALID
        expect(r.outcome).toBe(v6 ? 'IGNORE' : 'INVALID');
        expect(r.reason).toBe(v6 ? `SEQ is under lower bound ${u(CI + 1 - 65160 - 1)} (already ACKed data retransmitted)` : 'SEQ is under the lower bound (already ACKed data retransmitted)');
      });

      it('IV: sack >= receiver.td_end - MAXACKWINDOW(sender) (max(td_maxwin, 66000))', () => {
        expect(probe(kernel, (b) => c2s({ seq: b.sEnd, ack: b.rEnd - 66000 + 1, flags: ACK })).outcome).toBe('ACCEPT');
        expect(probe(kernel, (b) => c2s({ seq: b.sEnd, ack: b.rEnd - 66000, flags: ACK })).outcome).toBe('ACCEPT');
        const r = probe(kernel, (b) => c2s({ seq: b.sEnd, ack: b.rEnd - 66000 - 1, flags: ACK }));
        expect(r.outcome).toBe(v6 ? 'IGNORE' : 'INVALID');
        expect(r.reason).toBe(v6 ? `ignored ACK under lower bound ${u(SI + 1 - 66000 - 1)} (possible overly delayed)` : 'ACK is under the lower bound (possible overly delayed ACK)');
      });

      it('be_liberal turns every failure into ACCEPT without learning the packet', () => {
        const d = fresh(kernel, ['nf_conntrack_tcp_be_liberal=1']);
        const b = bounds(d);
        expect(d.send(c2s({ seq: b.sMaxend + 70000, ack: b.rEnd, flags: ACK | PSH, len: 10 })).outcome).toBe('ACCEPT');
        expect(d.ct.records.tdEnd(0) >>> 0).toBe(b.sEnd); // not advanced
      });
    });
  }

  it('5.15.68 has the overshoot workaround but, being boolean, still says INVALID (after learning td_end)', () => {
    const d = fresh('5.15.68');
    const b = bounds(d);
    expect(d.send(c2s({ seq: b.sMaxend + 1, ack: b.rEnd, flags: ACK }))).toMatchObject({ outcome: 'INVALID', reason: '2 bytes more than expected' });
    expect(d.ct.records.tdEnd(0) >>> 0).toBe(u(b.sMaxend + 1));
    expect(probe('5.15.67', (x) => c2s({ seq: x.sMaxend + 1, ack: x.rEnd, flags: ACK })).reason).toBe('SEQ is over the upper bound (over the window of the receiver)');
  });

  it('data advances td_end and sets DATA_UNACKNOWLEDGED until the peer ACKs it (unacknowledged timeout 300 s)', () => {
    const d = fresh('6.18');
    const s = d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: ACK | PSH, len: 1000 }));
    expect(s.timeout).toBe(300);
    expect(d.ct.records.tdEnd(0) >>> 0).toBe(u(CI + 1001));
    expect(d.ct.records.tdFlags(0) & TcpSeenFlag.DATA_UNACKNOWLEDGED).toBeTruthy();
  });
});
