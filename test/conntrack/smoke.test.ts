import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { TcpCtState, tcpStateName } from '../../src/conntrack/tcp-states.js';
import { trackAndConfirm } from '../../src/conntrack/track-and-confirm.js';
import { CtInfo, Outcome } from '../../src/conntrack/verdict.js';
import { ACK, FIN, PSH, SEC, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';

describe('conntrack engine: a clean connection', () => {
  for (const kernel of ['4.19', '5.4', '5.15', '6.1', '6.18']) {
    it(`handshake, data, close on ${kernel}`, () => {
      const ct = new Conntrack({ kernel });
      const step = (p: Uint8Array, t: number) => {
        const v = trackAndConfirm(ct, p, 0, p.length, t * SEC);
        return { ctinfo: v.ctinfo, outcome: v.outcome, state: tcpStateName(v.stateAfter), reason: ct.reasonText(v), entry: v.entry, created: v.created };
      };
      const ci = 1000, si = 5000;
      expect(step(c2s({ seq: ci, flags: SYN, win: 64240, options: SYN_OPTS }), 0)).toMatchObject({ ctinfo: CtInfo.NEW, state: 'SYN_SENT', created: true });
      expect(ct.dump(0)).toEqual([expect.stringMatching(/^tcp {6}6 120 SYN_SENT src=198\.18\.0\.1 dst=198\.18\.0\.2 sport=44410 dport=8080 \[UNREPLIED\] src=198\.18\.0\.2/)]);
      expect(step(s2c({ seq: si, ack: ci + 1, flags: SYN | ACK, win: 65160, options: SYN_OPTS }), 0.1)).toMatchObject({ ctinfo: CtInfo.ESTABLISHED_REPLY, state: 'SYN_RECV' });
      expect(step(c2s({ seq: ci + 1, ack: si + 1, flags: ACK }), 0.2)).toMatchObject({ ctinfo: CtInfo.ESTABLISHED, state: 'ESTABLISHED' });
      expect(ct.dump(0.2 * SEC)[0]).toMatch(/ESTABLISHED .* \[ASSURED\]/);
      expect(step(c2s({ seq: ci + 1, ack: si + 1, flags: ACK | PSH, len: 100 }), 0.3)).toMatchObject({ outcome: Outcome.ACCEPT, state: 'ESTABLISHED' });
      expect(step(s2c({ seq: si + 1, ack: ci + 101, flags: ACK | PSH, len: 1000 }), 0.4)).toMatchObject({ outcome: Outcome.ACCEPT });
      expect(step(c2s({ seq: ci + 101, ack: si + 1001, flags: ACK }), 0.5)).toMatchObject({ outcome: Outcome.ACCEPT });
      expect(step(s2c({ seq: si + 1001, ack: ci + 101, flags: FIN | ACK }), 1)).toMatchObject({ state: 'FIN_WAIT' });
      expect(step(c2s({ seq: ci + 101, ack: si + 1002, flags: ACK }), 1.1)).toMatchObject({ state: 'CLOSE_WAIT' });
      expect(ct.dump(1.1 * SEC)[0]).toMatch(/^tcp {6}6 60 CLOSE_WAIT/);
      expect(step(c2s({ seq: ci + 101, ack: si + 1002, flags: FIN | ACK }), 2)).toMatchObject({ state: 'LAST_ACK' });
      expect(step(s2c({ seq: si + 1002, ack: ci + 102, flags: ACK }), 2.1)).toMatchObject({ state: 'TIME_WAIT' });
      expect(ct.dump(2.1 * SEC)[0]).toMatch(/^tcp {6}6 120 TIME_WAIT/);
      expect(ct.records.state(0)).toBe(TcpCtState.TIME_WAIT);
      // expires exactly at 120 s after the last ACK
      expect(ct.dump((2.1 + 119.9) * SEC)).toHaveLength(1);
      expect(ct.expire((2.1 + 120) * SEC)).toBe(1);
      expect(ct.count).toBe(0);
    });
  }
});
