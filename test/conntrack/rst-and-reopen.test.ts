// The RST rules of nf_conntrack_tcp_packet (exact vs inexact seq, below the peer's max ACK,
// closing states), and re-opening an entry from TIME_WAIT/CLOSE with a new SYN.
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';
import { CI, Driver, SI, handshake } from '../support/ct-driver.js';
import type { ConntrackEvent } from '../../src/conntrack/events.js';

function est(kernel: string, sysctls: string[] = []): Driver {
  const d = new Driver({ kernel, sysctls });
  handshake(d);
  // some data both ways so each side has a max ACK
  d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: ACK | PSH, len: 100 }));
  d.send(s2c({ seq: SI + 1, ack: CI + 101, flags: ACK | PSH, len: 50 }));
  d.send(c2s({ seq: CI + 101, ack: SI + 51, flags: ACK }));
  return d;
}

describe('RST validation', () => {
  it('exact RST (seq == the peer\'s max ACK) closes on every kernel, 10 s CLOSE timeout', () => {
    for (const k of ['4.19', '5.4', '5.15', '6.1', '6.18']) {
      const d = est(k);
      expect(d.send(c2s({ seq: CI + 101, flags: RST, win: 0 })), k).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE', timeout: 10 });
    }
  });

  it('in-window inexact RST keeps ESTABLISHED from 5.3 on ("only close if RST matches exact sequence"); 4.19.0 closes', () => {
    for (const k of ['5.4', '5.15', '6.1', '6.18', '4.19.238']) {
      const d = est(k);
      expect(d.send(c2s({ seq: CI + 101 + 1000, flags: RST, win: 0 })), k).toMatchObject({ outcome: 'ACCEPT', state: 'ESTABLISHED', timeout: 10 });
    }
    expect(est('4.19').send(c2s({ seq: CI + 101 + 1000, flags: RST, win: 0 }))).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE' });
  });

  it('"RST train": an RST right after the sender\'s own last data is treated as exact', () => {
    const d = est('6.18');
    d.send(c2s({ seq: CI + 101, ack: SI + 51, flags: ACK | PSH, len: 10 }));
    expect(d.send(c2s({ seq: CI + 111, flags: RST, win: 0 }))).toMatchObject({ state: 'CLOSE' });
  });

  it('RST below the peer\'s max ACK is "invalid rst"; nf_conntrack_tcp_ignore_invalid_rst=1 (5.14+) lets it reach the window check', () => {
    for (const k of ['5.4', '5.15', '6.18']) expect(est(k).send(c2s({ seq: CI + 50, flags: RST, win: 0 })), k).toMatchObject({ outcome: 'INVALID', reason: 'invalid rst' });
    const r = est('6.18', ['nf_conntrack_tcp_ignore_invalid_rst=1']).send(c2s({ seq: CI + 50, flags: RST, win: 0 }));
    expect(r).toMatchObject({ outcome: 'ACCEPT', state: 'ESTABLISHED' }); // inexact: keeps state
  });

  it('be_liberal does not bypass "invalid rst"', () => {
    expect(est('6.18', ['nf_conntrack_tcp_be_liberal=1']).send(c2s({ seq: CI + 50, flags: RST, win: 0 })).reason).toBe('invalid rst');
  });

  it('RST in a closing state: 5.14+ accepts it without any check, 5.4 validates it', () => {
    const closing = (k: string) => {
      const d = est(k);
      d.send(s2c({ seq: SI + 51, ack: CI + 101, flags: FIN | ACK }));
      d.send(c2s({ seq: CI + 101, ack: SI + 52, flags: ACK }));
      return d; // CLOSE_WAIT
    };
    expect(closing('6.18').send(c2s({ seq: CI + 5, flags: RST, win: 0 }))).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE' });
    expect(closing('5.15').send(c2s({ seq: CI + 5, flags: RST, win: 0 }))).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE' });
    expect(closing('5.4').send(c2s({ seq: CI + 5, flags: RST, win: 0 }))).toMatchObject({ outcome: 'INVALID', reason: 'invalid rst' });
  });

  it('an RST answering our SYN before any reply deletes the entry at once (connection refused)', () => {
    const d = new Driver({ kernel: '6.18' });
    d.send(c2s({ seq: 1000, flags: SYN, options: SYN_OPTS }));
    expect(d.send(s2c({ seq: 0, ack: 1001, flags: RST | ACK, win: 0 }))).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE', destroyed: true });
    expect(d.ct.count).toBe(0);
  });
});

describe('re-open from TIME_WAIT / CLOSE (RFC 1122 4.2.2.13)', () => {
  function timeWait(k: string, events?: ConntrackEvent[]): Driver {
    const d = new Driver({ kernel: k });
    if (events) d.ct.onEvent = (e) => events.push(e);
    handshake(d);
    d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: FIN | ACK }));
    d.send(s2c({ seq: SI + 1, ack: CI + 2, flags: FIN | ACK }));
    d.send(c2s({ seq: CI + 2, ack: SI + 2, flags: ACK }));
    return d;
  }

  it('a new SYN after a FIN close kills the old entry and starts a new one (DESTROY, NEW)', () => {
    for (const k of ['4.19', '5.4', '6.18']) {
      const events: ConntrackEvent[] = [];
      const d = timeWait(k, events);
      expect(d.dump()[0], k).toMatch(/TIME_WAIT/);
      const s = d.send(c2s({ seq: CI + 100000, flags: SYN, options: SYN_OPTS }), 5);
      expect(s, k).toMatchObject({ outcome: 'ACCEPT', state: 'SYN_SENT', reopened: true, created: true });
      expect(events.map((e) => `${e.type}${e.destroyReason ? `:${e.destroyReason}` : ''}`).slice(-2), k).toEqual(['DESTROY:reopen', 'NEW']);
      expect(d.dump(), k).toHaveLength(1);
    }
  });

  it('CLOSE reached by the peer\'s RST: our SYN is ignored, not a re-open (no FIN, RST not ours)', () => {
    const d = new Driver({ kernel: '6.18' });
    handshake(d);
    d.send(s2c({ seq: SI + 1, flags: RST, win: 0 }));
    expect(d.send(c2s({ seq: CI + 5000, flags: SYN, options: SYN_OPTS }))).toMatchObject({ outcome: 'IGNORE', state: 'CLOSE', reopened: false });
  });

  it('CLOSE reached by our own RST: our next SYN re-opens', () => {
    const d = new Driver({ kernel: '6.18' });
    handshake(d);
    d.send(c2s({ seq: CI + 1, flags: RST, win: 0 }));
    expect(d.send(c2s({ seq: CI + 5000, flags: SYN, options: SYN_OPTS }))).toMatchObject({ outcome: 'ACCEPT', state: 'SYN_SENT', reopened: true });
  });

  it('SYN on an ESTABLISHED entry is ignored; the server\'s challenge ACK passes in window; the exact RST closes; the SYN again re-opens', () => {
    for (const k of ['5.4', 'sles-15-sp4', '6.1.8', '6.18']) {
      const d = est(k);
      expect(d.send(c2s({ seq: 0x12345678, flags: SYN, options: SYN_OPTS })), k).toMatchObject({ outcome: 'IGNORE', state: 'ESTABLISHED' });
      expect(d.send(s2c({ seq: SI + 51, ack: CI + 101, flags: ACK })), k).toMatchObject({ outcome: 'ACCEPT', state: 'ESTABLISHED' });
      expect(d.send(c2s({ seq: CI + 101, flags: RST, win: 0 })), k).toMatchObject({ outcome: 'ACCEPT', state: 'CLOSE' });
      expect(d.send(c2s({ seq: 0x12345678, flags: SYN, options: SYN_OPTS }), 1), k).toMatchObject({ state: 'SYN_SENT', reopened: true });
    }
  });

  it('a SYN/ACK answering an ignored SYN resynchronises the entry (SYN_SENT -> SYN_RECV)', () => {
    const d = est('6.18');
    d.send(c2s({ seq: 0x12345678, flags: SYN, options: SYN_OPTS }));
    expect(d.send(s2c({ seq: 0x0abcdef0, ack: 0x12345679, flags: SYN | ACK, options: SYN_OPTS }))).toMatchObject({ outcome: 'ACCEPT', before: 'SYN_SENT', state: 'SYN_RECV' });
    expect(d.send(c2s({ seq: 0x12345679, ack: 0x0abcdef1, flags: ACK }))).toMatchObject({ state: 'ESTABLISHED' });
  });

  it('LAST_ACK: a challenge ACK answering an ignored SYN is not the last ACK', () => {
    const d = est('6.18');
    d.send(c2s({ seq: CI + 101, ack: SI + 51, flags: FIN | ACK }));
    d.send(s2c({ seq: SI + 51, ack: CI + 102, flags: FIN | ACK })); // LAST_ACK
    d.send(c2s({ seq: 0x12345678, flags: SYN, options: SYN_OPTS }));
    expect(d.send(s2c({ seq: SI + 52, ack: CI + 102, flags: ACK }))).toMatchObject({ outcome: 'IGNORE', state: 'LAST_ACK', reason: 'challenge-ack ignored' });
  });
});
