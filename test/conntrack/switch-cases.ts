// One packet sequence per kernel-behaviour switch (tcp-behaviour.ts) that exposes it: run on a
// conntrack of a given profile, it gives `off` when the switch is off and `on` when it is on.
// kernel-switches.test.ts checks each against the releases named here and flips every switch
// on and off (the mutation check), so a new switch cannot land without a case in this table.
import type { KernelProfile } from '../../src/conntrack/kernel-profile.js';
import type { TcpBehaviour } from '../../src/conntrack/tcp-behaviour.js';
import { CI, Driver, SI, handshake, type Step } from '../support/ct-driver.js';
import { ACK, FIN, PSH, RST, SYN, SYN_OPTS, c2s, s2c } from '../support/segments.js';

export interface SwitchCase {
  /** What the packets show, for the test title (after the change's commit and title). */
  shows: string;
  /** A release without the change (null when every modelled release has it) and one with it. */
  without: string | null;
  with: string;
  /** Runs the packets on a fresh conntrack of `profile`; the result is what the test compares. */
  run(profile: KernelProfile): string[];
  off: string[];
  on: string[];
}

/** "OUTCOME STATE [reason] timeout" of a step, as the cases compare them. */
function show(s: Step): string {
  return `${s.outcome} ${s.state}${s.reason ? ` [${s.reason}]` : ''}${s.timeout !== null ? ` ${s.timeout}s` : ''}`;
}

/** An ASSURED ESTABLISHED entry where each side sent data and saw it acknowledged (both max ACKs set). */
function established(p: KernelProfile, sysctls: string[] = []): Driver {
  const d = new Driver({ kernel: p, sysctls });
  handshake(d);
  d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: ACK | PSH, len: 100 }));
  d.send(s2c({ seq: SI + 1, ack: CI + 101, flags: ACK | PSH, len: 50 }));
  d.send(c2s({ seq: CI + 101, ack: SI + 51, flags: ACK }));
  return d;
}

/** An entry picked up mid-stream (nf_conntrack_tcp_loose=1) from the client's ACK at `seq`. */
function pickedUp(p: KernelProfile, seq: number, ack: number): { d: Driver; first: Step } {
  const d = new Driver({ kernel: p });
  const first = d.send(c2s({ seq, ack, flags: ACK, win: 502 }));
  return { d, first };
}

// The port-collision sequence of the seed incident: the client's SYN meets a leaked server socket
// that answers with an RFC 5961 challenge ACK; the client's RST carries the challenge ACK's ack.
const OLD_SRV_SND_NXT = 0x70000000;
const OLD_SRV_RCV_NXT = 0x40000000;
function challengeAckRst(p: KernelProfile): string[] {
  const d = new Driver({ kernel: p });
  d.send(c2s({ seq: OLD_SRV_RCV_NXT - 1000, flags: SYN, win: 64240, options: SYN_OPTS }));
  const chall = d.send(s2c({ seq: OLD_SRV_SND_NXT, ack: OLD_SRV_RCV_NXT, flags: ACK, win: 512 }));
  const rst = d.send(c2s({ seq: OLD_SRV_RCV_NXT, flags: RST, win: 0 }));
  return [show(chall), show(rst)];
}

export const SWITCH_CASES: Record<keyof TcpBehaviour, SwitchCase> = {
  ignoreInvalidRstSysctl: {
    shows: 'nf_conntrack_tcp_ignore_invalid_rst=1 exists and lets an RST below the peer\'s max ACK reach the window check',
    without: '5.10', with: '5.14',
    run: (p) => {
      let d: Driver;
      try {
        d = established(p, ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1']);
      } catch (e) {
        return [(e as Error).name];
      }
      return [show(d.send(c2s({ seq: CI + 50, flags: RST, win: 0 })))];
    },
    off: ['ConfigError'],
    on: ['ACCEPT ESTABLISHED 10s'],
  },

  rstReuseChecks: {
    shows: 'after a SYN we let through, an RST below the max ACK is window-checked, not "invalid rst"; seq 0 on an unassured entry goes to the window check',
    without: '5.10', with: '5.14',
    run: (p) => {
      // (a) The client reconnects (its SYN is ignored); the server's RST carries an old seq.
      const a = established(p);
      a.send(c2s({ seq: CI + 0x20000000, flags: SYN, win: 64240, options: SYN_OPTS }));
      const rstA = a.send(s2c({ seq: SI + 10, flags: RST, win: 0 }));
      // (b) An entry still in SYN_RECV (not assured): an RST with seq 0.
      const b = new Driver({ kernel: p });
      b.send(c2s({ seq: 1000, flags: SYN, win: 64240, options: SYN_OPTS }));
      b.send(s2c({ seq: 5000, ack: 1001, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
      const rstB = b.send(c2s({ seq: 0, flags: RST, win: 0 }));
      return [show(rstA), show(rstB)];
    },
    off: ['INVALID ESTABLISHED [invalid rst]', 'INVALID SYN_RECV [invalid rst]'],
    on: ['ACCEPT CLOSE 10s', 'ACCEPT CLOSE 10s'],
  },

  rstExactToClose: {
    shows: 'an in-window RST whose seq is not the peer\'s max ACK keeps ESTABLISHED so a challenge ACK can pass',
    without: '4.19', with: '5.4',
    run: (p) => [show(established(p).send(c2s({ seq: CI + 101 + 1000, flags: RST, win: 0 })))],
    off: ['ACCEPT CLOSE 10s'],
    on: ['ACCEPT ESTABLISHED 10s'],
  },

  synRetransNoRenew: {
    shows: 'a retransmitted SYN no longer keeps an unreplied SYN_SENT entry alive past its 120 s',
    without: '5.10', with: '5.10.166',
    run: (p) => {
      const d = new Driver({ kernel: p });
      d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 0);
      const retrans = d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 63);
      const third = d.send(c2s({ seq: CI, flags: SYN, options: SYN_OPTS }), 127);
      return [show(retrans), `${third.created ? 'new entry' : 'same entry'} at 127 s`];
    },
    off: ['ACCEPT SYN_SENT 120s', 'same entry at 127 s'],
    on: ['ACCEPT SYN_SENT', 'new entry at 127 s'],
  },

  synackReinit: {
    shows: 'a second SYN/ACK while the entry is still SYN_SENT (the first acked an old ISN) re-initialises the reply side and passes',
    without: '5.16', with: '5.17.5',
    run: (p) => {
      const d = new Driver({ kernel: p });
      d.send(c2s({ seq: 1000, flags: SYN, win: 64240, options: SYN_OPTS }));
      const stale = d.send(s2c({ seq: 0x30000000, ack: 0x60000000, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
      const fresh = d.send(s2c({ seq: 0x50000000, ack: 1001, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
      return [show(stale), show(fresh)];
    },
    off: ['INVALID SYN_SENT [ACK is over the upper bound (ACKed data not seen yet)]', 'INVALID SYN_SENT [SEQ is over the upper bound (over the window of the receiver)]'],
    on: ['INVALID SYN_SENT [ACK is over the upper bound (ACKed data not seen yet)]', 'ACCEPT SYN_RECV 60s'],
  },

  reinitSynOnly: {
    shows: 'the RST answering a challenge ACK no longer re-seeds the window in SYN_SENT: INVALID when its seq is after the SYN\'s',
    without: '5.17.5', with: '5.17.6',
    run: challengeAckRst,
    off: ['IGNORE SYN_SENT [packet (index 3) in dir 1 ignored, state SYN_SENT]', 'ACCEPT CLOSE 10s'],
    on: ['IGNORE SYN_SENT [packet (index 3) in dir 1 ignored, state SYN_SENT]', 'INVALID SYN_SENT [SEQ is over the upper bound (over the window of the receiver)]'],
  },

  challengeAckReuse: {
    shows: 'the ack of a challenge ACK ignored in SYN_SENT is remembered; the RST carrying it passes without window check',
    without: '6.1.8', with: '6.1.9',
    run: challengeAckRst,
    off: ['IGNORE SYN_SENT [packet (index 3) in dir 1 ignored, state SYN_SENT]', `INVALID SYN_SENT [SEQ is over upper bound ${(OLD_SRV_RCV_NXT - 1000 + 2) >>> 0} (over the window of the receiver)]`],
    on: ['IGNORE SYN_SENT [packet (index 3) in dir 1 ignored, state SYN_SENT]', 'ACCEPT CLOSE 10s'],
  },

  rstLastDirCheck: {
    shows: 'an RST from the same side as the SYN we let through no longer skips the window check because its ack equals the SYN\'s end',
    without: '6.18.43', with: '6.18.44',
    run: (p) => {
      const d = established(p);
      const newIsn = CI + 0x20000000;
      d.send(c2s({ seq: newIsn, flags: SYN, win: 64240, options: SYN_OPTS }));
      // The client's own RST (seq far outside the window) whose ack happens to be its SYN's end.
      return [show(d.send(c2s({ seq: CI + 0x40000000, ack: newIsn + 1, flags: RST | ACK, win: 0 })))];
    },
    off: ['ACCEPT CLOSE 10s'],
    on: [`INVALID ESTABLISHED [SEQ is over upper bound ${(CI + 101 + 509 * 128 + 1) >>> 0} (over the window of the receiver)]`],
  },

  ternaryWindow: {
    shows: 'an overly delayed ACK (check IV) is IGNOREd and keeps its entry, no longer INVALID',
    without: '6.0', with: '6.1',
    // The verdict only: the log text follows the release's wording, not this switch.
    run: (p) => {
      const s = established(p).send(c2s({ seq: CI + 101, ack: SI + 51 - 200000, flags: ACK }));
      return [`${s.outcome} ${s.state}`];
    },
    off: ['INVALID ESTABLISHED'],
    on: ['IGNORE ESTABLISHED'],
  },

  overWindowWorkaround: {
    shows: 'data overshooting the receiver\'s window by less than its max window is learnt, so the peer\'s ACK of it passes check III',
    without: '5.15', with: '5.15.68',
    run: (p) => {
      const d = established(p);
      const maxend = CI + 101 + 509 * 128; // the server's ack + its window (scale 7)
      const over = d.send(c2s({ seq: maxend + 1, ack: SI + 51, flags: ACK | PSH, len: 100 }));
      const ack = d.send(s2c({ seq: SI + 51, ack: maxend + 101, flags: ACK }));
      return [over.outcome, show(ack)];
    },
    off: ['INVALID', 'INVALID ESTABLISHED [ACK is over the upper bound (ACKed data not seen yet)]'],
    on: ['INVALID', 'ACCEPT ESTABLISHED 432000s'],
  },

  rstClosingNoChecks: {
    shows: 'an RST in a closing state (here CLOSE_WAIT) is accepted without any sequence check',
    without: '5.10', with: '5.14',
    run: (p) => {
      const d = established(p);
      d.send(s2c({ seq: SI + 51, ack: CI + 101, flags: FIN | ACK }));
      d.send(c2s({ seq: CI + 101, ack: SI + 52, flags: ACK }));
      return [show(d.send(c2s({ seq: CI + 5, flags: RST, win: 0 })))];
    },
    off: ['INVALID CLOSE_WAIT [invalid rst]'],
    on: ['ACCEPT CLOSE 10s'],
  },

  keepaliveReplyBump: {
    shows: 'on a connection picked up from a keepalive probe (seq = snd_nxt - 1), the reply acking snd_nxt passes check III, so its ack becomes the max ACK a stale RST is held to',
    without: '5.4', with: '5.10',
    run: (p) => {
      const probeSeq = 0x10000000;
      const { d } = pickedUp(p, probeSeq, 0x20000000);
      const reply = d.send(s2c({ seq: 0x20000000, ack: probeSeq + 1, flags: ACK, win: 509 }));
      const staleRst = d.send(c2s({ seq: probeSeq, flags: RST, win: 0 }));
      return [reply.outcome, show(staleRst)];
    },
    off: ['ACCEPT', 'ACCEPT CLOSE 10s'],
    on: ['ACCEPT', 'INVALID ESTABLISHED [invalid rst]'],
  },

  repeatNotCountedInvalid: {
    shows: 'a SYN re-opening a CLOSE entry (-NF_REPEAT) no longer counts in conntrack -S invalid',
    without: '5.10', with: '5.17',
    run: (p) => {
      const d = new Driver({ kernel: p });
      handshake(d);
      d.send(c2s({ seq: CI + 1, ack: SI + 1, flags: RST | ACK }));
      const syn = d.send(c2s({ seq: CI + 0x10000, flags: SYN, win: 64240, options: SYN_OPTS }));
      return [`${syn.outcome}${syn.reopened ? ' re-open' : ''}`, `invalid ${d.ct.stats.invalid}`];
    },
    off: ['ACCEPT re-open', 'invalid 1'],
    on: ['ACCEPT re-open', 'invalid 0'],
  },

  rstKeptEstablishedUnack: {
    shows: 'an inexact RST that keeps an ESTABLISHED entry leaves it the UNACK timeout (300 s), not CLOSE\'s 10 s',
    without: '6.12.116', with: '6.12.117',
    run: (p) => {
      const d = established(p);
      return [show(d.send(s2c({ seq: SI + 51 + 1000, flags: RST, win: 0 })))];
    },
    off: ['ACCEPT ESTABLISHED 10s'],
    on: ['ACCEPT ESTABLISHED 300s'],
  },

  preserveLiberalFlag: {
    shows: 'a picked-up (liberal) entry resynchronised by a new SYN and its SYN/ACK stays liberal: the server\'s out-of-window data passes',
    without: '5.15', with: '5.18',
    run: (p) => {
      const { d } = pickedUp(p, 0x10000000, 0x20000000);
      d.send(s2c({ seq: 0x20000000, ack: 0x10000000, flags: ACK, win: 509 }));
      d.send(c2s({ seq: 0x60000000, flags: SYN, win: 64240, options: SYN_OPTS }));
      const synAck = d.send(s2c({ seq: 0x70000000, ack: 0x60000001, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
      d.send(c2s({ seq: 0x60000001, ack: 0x70000001, flags: ACK, win: 502 }));
      const far = d.send(s2c({ seq: 0x70000001 + 0x100000, ack: 0x60000001, flags: ACK | PSH, len: 10 }));
      return [show(synAck), show(far)];
    },
    off: ['ACCEPT SYN_RECV 60s', 'INVALID ESTABLISHED [SEQ is over the upper bound (over the window of the receiver)]'],
    on: ['ACCEPT SYN_RECV 60s', 'ACCEPT ESTABLISHED 432000s'],
  },

  pickupTimeoutCap: {
    shows: 'an entry picked up mid-stream keeps at most the unacknowledged timeout (300 s) until a reply, not ESTABLISHED\'s 5 days',
    without: null, with: '4.19',
    // The fresh entry's receiver is all zero: an ack within MAXACKWINDOW at or below 0 passes checks
    // III and IV, so the packet is learnt (last_win = 502) and only this cap keeps 300 s. (With any
    // other ack the packet fails III, is accepted liberally without being learnt, and the zero
    // last_win selects the max_retrans timeout, also 300 s.)
    run: (p) => [show(pickedUp(p, 0x10000000, 0xffffff00).first)],
    off: ['ACCEPT ESTABLISHED 432000s'],
    on: ['ACCEPT ESTABLISHED 300s'],
  },

  scaleResetReplyOnly: {
    shows: 'a retransmitted SYN with a new ISN no longer zeroes the client\'s window scale, so the server\'s second MSS of data stays in window',
    without: '6.1.76', with: '6.1.77',
    run: (p) => {
      const d = new Driver({ kernel: p });
      d.send(c2s({ seq: 1000, flags: SYN, win: 64240, options: SYN_OPTS }));
      d.send(c2s({ seq: 900000, flags: SYN, win: 64240, options: SYN_OPTS })); // port reuse: new ISN
      d.send(s2c({ seq: 5000, ack: 900001, flags: SYN | ACK, win: 65160, options: SYN_OPTS }));
      d.send(c2s({ seq: 900001, ack: 5001, flags: ACK, win: 502 }));
      const first = d.send(s2c({ seq: 5001, ack: 900001, flags: ACK | PSH, len: 1000 }));
      const second = d.send(s2c({ seq: 6001, ack: 900001, flags: ACK | PSH, len: 1000 }));
      return [first.outcome, show(second)];
    },
    off: ['ACCEPT', 'IGNORE ESTABLISHED [1499 bytes more than expected]'],
    on: ['ACCEPT', 'ACCEPT ESTABLISHED 300s'],
  },

  zeroWindowRetransTimeout: {
    shows: 'a peer advertising a zero window selects the max_retrans timeout (300 s) for the entry',
    without: null, with: '4.19',
    run: (p) => [show(established(p).send(s2c({ seq: SI + 51, ack: CI + 101, flags: ACK, win: 0 })))],
    off: ['ACCEPT ESTABLISHED 432000s'],
    on: ['ACCEPT ESTABLISHED 300s'],
  },
};
