// The one "track and confirm" every replayer uses, the ctstate a verdict gives the rules after
// conntrack, and the one phrase a verdict is printed as.
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { Reason } from '../../src/conntrack/reasons.js';
import { trackAndConfirm } from '../../src/conntrack/track-and-confirm.js';
import { CtInfo, Outcome, Verdict, verdictCtState } from '../../src/conntrack/verdict.js';
import { describeVerdict, formatVerdict } from '../../src/conntrack/verdict-text.js';
import { TcpFlag, encodeSegment, ip } from '../../src/wire/index.js';

const APP = ip('198.18.0.10');
const SIDECAR = ip('127.0.0.1');
const syn = (dst: string) => encodeSegment({ src: APP, dst: ip(dst), srcPort: 44410, dstPort: 8080, seq: 1, flags: TcpFlag.SYN });

describe('trackAndConfirm', () => {
  it('confirms the entry a packet creates: it is in the table for the reply', () => {
    const ct = new Conntrack({ kernel: '6.18' });
    const p = syn('198.19.0.20');
    const v = trackAndConfirm(ct, p, 0, p.length, 0);
    expect([v.outcome, v.created, ct.isConfirmed(v.entry), ct.count]).toEqual([Outcome.ACCEPT, true, true, 1]);
  });

  it('runs beforeConfirm between the two (a NAT binding); a reply tuple already taken drops the packet (insert clash)', () => {
    const ct = new Conntrack({ kernel: '6.18' });
    const redirect = (v: Verdict) => ct.bindNat(v.entry, 'dnat', SIDECAR, 15001);
    // Two upstreams, one app port, one sidecar: both REDIRECTs want the reply tuple 127.0.0.1:15001 -> app:44410.
    const first = trackAndConfirm(ct, syn('198.19.0.20'), 0, 40, 0, 'output', redirect);
    expect([first.outcome, ct.count]).toEqual([Outcome.ACCEPT, 1]);
    const second = trackAndConfirm(ct, syn('198.19.0.21'), 0, 40, 1, 'output', redirect);
    expect([second.outcome, second.destroyed, second.reason.code]).toEqual([Outcome.DROP, true, Reason.INSERT_CLASH]);
    expect([ct.count, ct.stats.insertFailed, ct.table.live[second.entry]]).toEqual([1, 1, 0]);
    expect(verdictCtState(second)).toBeNull();
    expect(ct.reasonText(second)).toMatch(/^insert failed/);
  });
});

describe('verdictCtState (what -m conntrack --ctstate sees)', () => {
  it('maps outcome and ctinfo the way xt_conntrack reads nf_ct_get()', () => {
    const v = new Verdict();
    const as = (outcome: Outcome, ctinfo: CtInfo) => {
      v.outcome = outcome;
      v.ctinfo = ctinfo;
      return verdictCtState(v);
    };
    expect(as(Outcome.ACCEPT, CtInfo.NEW)).toBe('NEW');
    expect(as(Outcome.ACCEPT, CtInfo.ESTABLISHED)).toBe('ESTABLISHED');
    expect(as(Outcome.IGNORE, CtInfo.ESTABLISHED_REPLY)).toBe('ESTABLISHED');
    expect(as(Outcome.ACCEPT, CtInfo.RELATED_REPLY)).toBe('RELATED');
    expect(as(Outcome.INVALID, CtInfo.INVALID)).toBe('INVALID');
    expect(as(Outcome.UNTRACKED, CtInfo.UNTRACKED)).toBe('UNTRACKED');
    expect(as(Outcome.DROP, CtInfo.INVALID)).toBeNull();
  });
});

describe('describeVerdict / formatVerdict', () => {
  it('a new entry, then a packet the tracker ignores, then one it finds INVALID', () => {
    const ct = new Conntrack({ kernel: '6.18' });
    const f = describeVerdict(ct, trackAndConfirm(ct, syn('198.19.0.20'), 0, 40, 0));
    expect(f).toEqual({ ctinfo: 'NEW', outcome: 'ACCEPT', dir: 'original', stateBefore: 'NONE', state: 'SYN_SENT', reopened: false, reason: '' });
    expect(formatVerdict(f)).toBe('NEW original NONE->SYN_SENT');
    // An ACK from the server before any SYN-ACK: sIG in SYN_SENT (the challenge ACK case).
    const ack = encodeSegment({ src: ip('198.19.0.20'), dst: APP, srcPort: 8080, dstPort: 44410, seq: 900, ack: 7, flags: TcpFlag.ACK });
    const g = describeVerdict(ct, trackAndConfirm(ct, ack, 0, 40, 1));
    expect(formatVerdict(g)).toBe('ESTABLISHED_REPLY reply SYN_SENT->SYN_SENT (ignored) [packet (index 3) in dir 1 ignored, state SYN_SENT]');
    const bad = encodeSegment({ src: APP, dst: ip('198.19.0.20'), srcPort: 44410, dstPort: 8080, seq: 1, flags: TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST });
    const h = describeVerdict(ct, trackAndConfirm(ct, bad, 0, 40, 2));
    expect([h.dir, h.state, formatVerdict(h)]).toEqual([null, null, 'INVALID [invalid tcp flag combination]']);
  });
});
