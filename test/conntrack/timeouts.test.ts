// Timeouts per state (tcp_timeouts[] and the sysctls), the timeout selection rules of the common
// tail, expiry on lookup and in the GC, and the SYN_SENT no-renew change.
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SEC, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';
import { CI, Driver, SI, handshake } from '../support/ct-driver.js';

const secsLeft = (d: Driver) => Number(/^tcp {6}6 (\d+) /.exec(d.dump()[0] ?? '')?.[1] ?? NaN);

describe('timeouts per state', () => {
  it('every state gets its nf_conntrack_tcp_timeout_* default', () => {
    const d = new Driver({ kernel: '6.18' });
    d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }));
    expect(secsLeft(d)).toBe(120);
    d.send(s2c({ seq: SI, ack: CI + 1, flags: SYN | ACK, options: SYN_OPTS }));
    expect(secsLeft(d)).toBe(60);
    d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: ACK }));
    expect(secsLeft(d)).toBe(432000);
    d.send(s2c({ seq: SI + 1, ack: CI + 1, flags: FIN | ACK }));
    expect(secsLeft(d)).toBe(120); // FIN_WAIT
    d.send(c2s({ seq: CI + 1, ack: SI + 2, flags: ACK }));
    expect(secsLeft(d)).toBe(60); // CLOSE_WAIT
    d.send(c2s({ seq: CI + 1, ack: SI + 2, flags: FIN | ACK }));
    expect(secsLeft(d)).toBe(30); // LAST_ACK
    d.send(s2c({ seq: SI + 2, ack: CI + 2, flags: ACK }));
    expect(secsLeft(d)).toBe(120); // TIME_WAIT
  });

  it('sysctls override them', () => {
    const d = new Driver({ kernel: '6.18', sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600', 'nf_conntrack_tcp_timeout_established=7200'] });
    handshake(d);
    expect(secsLeft(d)).toBe(7200);
    d.send(s2c({ seq: SI + 1, ack: CI + 1, flags: FIN | ACK }));
    d.send(c2s({ seq: CI + 1, ack: SI + 2, flags: ACK }));
    expect(secsLeft(d)).toBe(3600);
  });

  it('unacknowledged data selects 300 s; retransmissions reaching max_retrans select 300 s', () => {
    const d = new Driver({ kernel: '6.18' });
    handshake(d);
    const data = c2s({ seq: CI + 1, ack: SI + 1, flags: ACK | PSH, len: 10 });
    expect(d.send(data).timeout).toBe(300);
    d.send(s2c({ seq: SI + 1, ack: CI + 11, flags: ACK }));
    expect(secsLeft(d)).toBe(432000);
    const ackOnly = s2c({ seq: SI + 1, ack: CI + 11, flags: ACK });
    for (let i = 0; i < 3; i++) d.send(ackOnly); // three identical retransmissions
    expect(d.ct.records.retrans(0)).toBe(3);
    expect(secsLeft(d)).toBe(300);
  });

  it('an accepted RST sets the CLOSE timeout (10 s), after which the entry is gone', () => {
    const d = new Driver({ kernel: '6.18' });
    handshake(d);
    d.send(c2s({ seq: CI + 1, flags: RST, win: 0 }), 100);
    expect(secsLeft(d)).toBe(10);
    expect(d.ct.expire(109.999 * SEC)).toBe(0);
    expect(d.ct.expire(110 * SEC)).toBe(1);
  });

  it('an expired entry is never matched: the next packet starts over (lookup treats it as gone)', () => {
    const d = new Driver({ kernel: '6.18' });
    d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 0);
    const again = d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 120);
    expect(again).toMatchObject({ created: true, state: 'SYN_SENT' });
  });

  it('e15d4cdf27cb: a SYN retransmission does not renew an unreplied SYN_SENT entry (5.14+, 5.4.231+), it did before', () => {
    for (const [k, renew] of [['5.4', true], ['5.4.231', false], ['5.10.166', false], ['5.15', false], ['6.18', false], ['4.19.271', true], ['4.19.272', false]] as const) {
      const d = new Driver({ kernel: k });
      d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 0);
      d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 63);
      expect(secsLeft(d), k).toBe(renew ? 120 : 57);
    }
  });
});
