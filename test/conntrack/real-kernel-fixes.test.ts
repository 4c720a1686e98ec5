// Behaviour that runs against real kernels (kernel-diff --uml: real 5.4.124, 5.10.y, 6.1.176,
// 6.12.y guests) showed ctsim's model had wrong, each pinned to the commit that decides it.
import { describe, expect, it } from 'vitest';
import { ACK, RST, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';
import { CI, Driver, SI, handshake } from '../support/ct-driver.js';
import { resolveKernel } from '../../src/conntrack/kernel-profile.js';

describe('fixes forced by real kernels', () => {
  it('4f25434bccc2: on a picked-up connection the ACK answering a keepalive passes check III, so the entry learns td_maxack (4.19.153+, 5.4.73+, 5.9.2+, 5.10+)', () => {
    const cases = [['4.19.152', false], ['4.19.153', true], ['5.4', false], ['5.4.72', false], ['5.4.73', true], ['5.4.124', true], ['ubuntu-20.04', true],
      ['5.9.1', false], ['5.9.2', true], ['5.10', true], ['6.1', true], ['6.18', true]] as const;
    for (const [kernel, bump] of cases) {
      const d = new Driver({ kernel });
      // A keepalive (seq = snd_nxt - 1) is the first packet conntrack sees: the entry is picked up.
      d.send(c2s({ seq: CI, ack: SI, flags: ACK }), 0);
      // The peer acks snd_nxt: sack == td_end + 1.
      d.send(s2c({ seq: SI, ack: CI + 1, flags: ACK }), 1);
      // An RST from the client below the server's max ACK: "invalid rst" only when td_maxack was learnt.
      const rst = d.send(c2s({ seq: CI, flags: RST }), 2);
      expect({ kernel, outcome: rst.outcome, reason: rst.reason }).toEqual({ kernel, outcome: bump ? 'INVALID' : 'ACCEPT', reason: bump ? 'invalid rst' : '' });
    }
  });

  it('be0502a3f2e9 without c4edc3ccbc63: an inexact RST answering a SYN we let through keeps ESTABLISHED and skips the window check (4.19.238+, 5.3-5.13); CLOSE before and after', () => {
    const cases = [['4.19.237', 'CLOSE'], ['4.19.238', 'ESTABLISHED'], ['5.4.124', 'ESTABLISHED'], ['ubuntu-20.04', 'ESTABLISHED'], ['5.10.198', 'ESTABLISHED'], ['5.13', 'ESTABLISHED'], ['5.14', 'CLOSE'], ['6.1', 'CLOSE'], ['6.18', 'CLOSE']] as const;
    for (const [kernel, state] of cases) {
      const d = new Driver({ kernel });
      handshake(d);
      // A new SYN on the established tuple is ignored (let through): last_index = SYN, last_end = its seq + 1.
      const NEW_ISN = 0x12345678;
      expect(d.send(c2s({ seq: NEW_ISN, flags: SYN, options: SYN_OPTS })).outcome).toBe('IGNORE');
      // The server's RST answers it; its seq is not the client's max ACK (inexact) and lies far beyond the window.
      const rst = d.send(s2c({ seq: SI + 1 + 0x40000000, ack: NEW_ISN + 1, flags: RST | ACK, win: 0 }));
      expect({ kernel, outcome: rst.outcome, state: rst.state }).toEqual({ kernel, outcome: 'ACCEPT', state });
    }
  });

  it('830af2eba403: a SYN re-opening a CLOSE entry counts in conntrack -S invalid before 5.4.176 / 5.10.96 / 5.17, not after', () => {
    const cases = [['4.19.226', 1], ['4.19.227', 0], ['5.4.124', 1], ['5.4.175', 1], ['5.4.176', 0], ['5.10.89', 1], ['5.10.96', 0], ['5.10.198', 0], ['5.15.18', 1], ['5.15.19', 0], ['6.1', 0], ['6.18', 0]] as const;
    for (const [kernel, counted] of cases) {
      const d = new Driver({ kernel });
      handshake(d);
      d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: RST | ACK }));
      expect(d.ct.stats.invalid).toBe(0);
      const syn = d.send(c2s({ seq: CI + 0x10000, flags: SYN, options: SYN_OPTS }));
      expect({ kernel, reopened: syn.reopened, outcome: syn.outcome, invalid: d.ct.stats.invalid }).toEqual({ kernel, reopened: true, outcome: 'ACCEPT', invalid: counted });
    }
  });

  it('bed6e04be8e6 is in 6.12.117 (Debian linux-source-6.12, run as UML): the RST shortcut after an ignored SYN needs the other direction', () => {
    for (const [kernel, on] of [['6.12', false], ['6.12.116', false], ['6.12.117', true], ['6.1.176', true], ['6.18.44', true]] as const) {
      expect({ kernel, on: resolveKernel(kernel).behaviour.rstLastDirCheck }).toEqual({ kernel, on });
      const d = new Driver({ kernel });
      // A client SYN with a new ISN is ignored in ESTABLISHED (last_index = SYN, last_dir = ORIGINAL).
      handshake(d);
      expect(d.send(c2s({ seq: 0x40000000, flags: SYN, options: SYN_OPTS })).outcome).toBe('IGNORE');
      // An RST from the same side acking that SYN, far outside the window: the shortcut (no window
      // check) only without the direction test; with it the window check fails.
      const rst = d.send(c2s({ seq: CI + 1 + 0x40000000, ack: 0x40000001, flags: RST | ACK, win: 0 }));
      expect({ kernel, outcome: rst.outcome }).toEqual({ kernel, outcome: on ? 'INVALID' : 'ACCEPT' });
    }
  });
});
