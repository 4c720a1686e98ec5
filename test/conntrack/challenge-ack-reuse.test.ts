// nf_conntrack_tcp_packet + tcp_in_window on connection reuse (the seed incident's port
// collision): a new SYN meets a peer that still holds the old connection, which answers with an
// RFC 5961 challenge ACK; the client's RST (seq = the challenge ACK's ack) decides everything.
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { tcpStateName } from '../../src/conntrack/tcp-states.js';
import { trackAndConfirm } from '../../src/conntrack/track-and-confirm.js';
import { OUTCOME_NAMES } from '../../src/conntrack/verdict.js';
import { ACK, RST, SEC, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';

/** Old connection state of the leaked server socket (FIN_WAIT2): what its challenge ACK carries. */
const OLD_SRV_SND_NXT = 0x70000000;
const OLD_SRV_RCV_NXT = 0x40000000; // = the old client's next seq: the RST will carry this

interface Outcomes { rst: string; rstReason: string; afterRst: string; synAgain: string; reopened: boolean }

function collide(kernel: string, clientIsn: number, sysctls: string[] = []): Outcomes {
  const ct = new Conntrack({ kernel, sysctls });
  const run = (p: Uint8Array, t: number) => {
    const v = trackAndConfirm(ct, p, 0, p.length, t * SEC);
    return { outcome: OUTCOME_NAMES[v.outcome], state: tcpStateName(v.stateAfter), reason: ct.reasonText(v), reopened: v.reopened, created: v.created };
  };
  const syn = c2s({ seq: clientIsn, flags: SYN, win: 64240, options: SYN_OPTS });
  expect(run(syn, 0)).toMatchObject({ outcome: 'ACCEPT', state: 'SYN_SENT', created: true });
  // challenge ACK from the leaked socket: ignored in SYN_SENT on every kernel
  const chall = run(s2c({ seq: OLD_SRV_SND_NXT, ack: OLD_SRV_RCV_NXT, flags: ACK, win: 512 }), 0.0001);
  expect(chall.outcome).toBe('IGNORE');
  expect(chall.state).toBe('SYN_SENT');
  // the client's RST: seq = challenge ACK's ack, no ACK flag (tcp_v4_send_reset)
  const rst = run(c2s({ seq: OLD_SRV_RCV_NXT, flags: RST, win: 0 }), 0.0002);
  const afterRst = ct.dump(0.0002 * SEC)[0] ?? '(no entry)';
  const again = run(syn, 1);
  return { rst: `${rst.outcome} ${rst.state}`, rstReason: rst.reason, afterRst, synAgain: `${again.outcome} ${again.state}`, reopened: again.reopened };
}

const RST_AFTER_SYN = OLD_SRV_RCV_NXT - 1000; // the RST's seq is "after" the new ISN + 1
const RST_BEFORE_SYN = OLD_SRV_RCV_NXT + 1000; // the RST's seq is "before" it

describe('challenge ACK during connection reuse, per kernel', () => {
  it('5.4 / ubuntu-20.04 (before "re-init for syn packets only"): the RST re-seeds the window and passes', () => {
    for (const k of ['5.4', 'ubuntu-20.04', '4.19', '5.10.166', '5.15.90']) {
      const r = collide(k, RST_AFTER_SYN);
      expect(r.rst, k).toBe('ACCEPT CLOSE');
      expect(r.afterRst, k).toMatch(/^tcp {6}6 10 CLOSE /);
      expect(r.synAgain, k).toBe('ACCEPT SYN_SENT');
      expect(r.reopened, k).toBe(true);
    }
  });

  it('5.4: the other sequence half passes too (check I holds, II is skipped while the reply window is unknown)', () => {
    expect(collide('5.4', RST_BEFORE_SYN)).toMatchObject({ rst: 'ACCEPT CLOSE', reopened: true });
  });

  it('sles-15-sp4 and 5.17.6 .. 6.1.8: INVALID when the RST seq is after the SYN; the SYN retransmission changes nothing', () => {
    for (const k of ['sles-15-sp4', '5.17.6', '5.18', '6.0', '6.1', '6.1.8']) {
      const r = collide(k, RST_AFTER_SYN);
      expect(r.rst, k).toBe('INVALID SYN_SENT');
      expect(r.afterRst, k).toMatch(/SYN_SENT/);
      expect(r.synAgain, k).toBe('ACCEPT SYN_SENT');
      expect(r.reopened, k).toBe(false);
    }
    expect(collide('6.1.8', RST_AFTER_SYN).rstReason).toBe(`SEQ is over upper bound ${(RST_AFTER_SYN + 2) >>> 0} (over the window of the receiver)`);
    expect(collide('sles-15-sp4', RST_AFTER_SYN).rstReason).toBe('SEQ is over the upper bound (over the window of the receiver)');
  });

  it('5.17.5 (one point release earlier) still re-seeds and passes', () => {
    expect(collide('5.17.5', RST_AFTER_SYN).rst).toBe('ACCEPT CLOSE');
  });

  it('sles-15-sp4: when the RST seq is before the SYN it passes (the outcome depends on the sequence numbers)', () => {
    expect(collide('sles-15-sp4', RST_BEFORE_SYN)).toMatchObject({ rst: 'ACCEPT CLOSE', reopened: true });
  });

  it('sles-15-sp4: nf_conntrack_tcp_ignore_invalid_rst=1 does not help (the RST fails window check I, not the "invalid rst" test)', () => {
    expect(collide('sles-15-sp4', RST_AFTER_SYN, ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1']).rst).toBe('INVALID SYN_SENT');
  });

  it('sles-15-sp4: nf_conntrack_tcp_be_liberal=1 does help (a liberal window failure is accepted)', () => {
    expect(collide('sles-15-sp4', RST_AFTER_SYN, ['net.netfilter.nf_conntrack_tcp_be_liberal=1'])).toMatchObject({ rst: 'ACCEPT CLOSE', reopened: true });
  });

  it('6.1.9, 6.2, 6.18 ("handle tcp challenge acks during connection reuse"): the RST matches the recorded ack and passes', () => {
    for (const k of ['6.1.9', '6.2', '6.6', '6.18']) {
      for (const isn of [RST_AFTER_SYN, RST_BEFORE_SYN]) {
        const r = collide(k, isn);
        expect(r.rst, k).toBe('ACCEPT CLOSE');
        expect(r.synAgain, k).toBe('ACCEPT SYN_SENT');
        expect(r.reopened, k).toBe(true);
      }
    }
  });

  it('setting nf_conntrack_tcp_ignore_invalid_rst on a kernel without it is an error that says so', () => {
    expect(() => new Conntrack({ kernel: '5.4', sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] })).toThrow(/does not exist on 5\.4: it was added in v5\.14/);
  });
});
