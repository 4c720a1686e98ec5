// nf_conntrack_max and early_drop(): a full table evicts a non-ASSURED entry near the new
// tuple, never an ASSURED one; with nothing to evict the packet is dropped.
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../src/conntrack/conntrack.js';
import { trackAndConfirm } from '../../src/conntrack/track-and-confirm.js';
import { Outcome } from '../../src/conntrack/verdict.js';
import { TcpFlag, encodeSegment, ip } from '../../src/wire/index.js';

const A = ip('198.18.0.1');
const B = ip('198.18.0.2');
const syn = (port: number) => encodeSegment({ src: A, dst: B, srcPort: port, dstPort: 80, seq: 1, flags: TcpFlag.SYN });
const synack = (port: number) => encodeSegment({ src: B, dst: A, srcPort: 80, dstPort: port, seq: 9, ack: 2, flags: TcpFlag.SYN | TcpFlag.ACK });
const ack = (port: number) => encodeSegment({ src: A, dst: B, srcPort: port, dstPort: 80, seq: 2, ack: 10, flags: TcpFlag.ACK });

function track(ct: Conntrack, p: Uint8Array, now = 0) {
  return trackAndConfirm(ct, p, 0, p.length, now).outcome;
}

describe('table full', () => {
  it('with only ASSURED entries the new connection is dropped and counted', () => {
    const ct = new Conntrack({ kernel: '6.18', sysctls: ['nf_conntrack_max=8'] });
    for (let p = 1000; p < 1008; p++) {
      track(ct, syn(p));
      track(ct, synack(p));
      track(ct, ack(p));
    }
    expect(ct.count).toBe(8);
    expect(track(ct, syn(2000))).toBe(Outcome.DROP);
    expect(ct.stats.drop).toBe(1);
    expect(ct.count).toBe(8);
  });

  it('non-ASSURED entries are early-dropped to make room', () => {
    const ct = new Conntrack({ kernel: '6.18', sysctls: ['nf_conntrack_max=8'], seed: 7 });
    for (let p = 1000; p < 1008; p++) track(ct, syn(p));
    let ok = 0;
    for (let p = 3000; p < 3020; p++) if (track(ct, syn(p)) === Outcome.ACCEPT) ok++;
    expect(ok).toBeGreaterThan(0);
    expect(ct.stats.earlyDrop).toBeGreaterThan(0);
    expect(ct.count).toBeLessThanOrEqual(8);
  });

  it('expired entries make room without counting as early drops', () => {
    const ct = new Conntrack({ kernel: '6.18', sysctls: ['nf_conntrack_max=4'] });
    for (let p = 1000; p < 1004; p++) {
      track(ct, syn(p));
      track(ct, synack(p));
      track(ct, ack(p));
    }
    // ESTABLISHED entries live 5 days; after that the full table has room again
    expect(track(ct, syn(5000), 432001e9)).toBe(Outcome.ACCEPT);
  });
});
