// TCP timing as Linux has it, each fact measured on the real 6.18.44 (HZ=250) in namespaces of our
// own, and the clock-derived ISN:
//  - an orphaned LAST_ACK whose FINs are all dropped resends its FIN after 205.3 ms (the tail loss
//    probe: 2*srtt + rto_min, tcp_schedule_loss_probe), then 208.1, 436.0, 831.9, 1664 ms (the
//    RTO: srtt + rttvar >= 200 ms = 51 jiffies, doubled, each on the timer wheel), ... and is gone
//    108.2 s after its close (retransmits_timed_out: tcp_orphan_retries' 8 from rto_min = 102.2 s
//    since the first retransmission, checked when the RTO fires);
//  - secure_tcp_seq(): the same 4-tuple's ISN advances one per 64 ns of wall clock.
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/sim/network.js';
import { twoHosts } from '../support/two-hosts.js';
import { Simulator } from '../../src/sim/simulator.js';
import { KernelClock } from '../../src/stack/kernel-clock.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { SecureSeq, sipHash24, siphash2u32 } from '../../src/stack/tcp/secure-seq.js';
import { RttEstimator, tcpModelTimeoutMs } from '../../src/stack/tcp/tcp-rtt.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';
import { TcpFlag, ip } from '../../src/wire/index.js';

const MS = 1e6;
const SEC = 1e9;
const TICK = 4 * MS;

/** A client whose peer half-closes, then drops everything; the client closes: LAST_ACK with no answer. */
function lastAckBlackhole(sysctls: string[] = []) {
  const { net, a, b } = twoHosts({ latencyNs: 30_000, clientSysctls: sysctls });
  const l = b.tcp.socket();
  l.bind(0, 8080);
  l.listen();
  l.onAccept = (c) => {
    c.onData = () => {
      c.send(new Uint8Array(200));
      net.sim.after(10 * MS, () => c.shutdown('wr'));
    };
  };
  const c = a.tcp.socket();
  c.onConnect = () => c.send(new Uint8Array(100));
  c.onData = () => undefined;
  let closedAt = 0;
  c.onEof = () => net.sim.after(500 * MS, () => {
    b.rules = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j DROP\nCOMMIT\n');
    closedAt = net.sim.now;
    c.close();
  });
  const fins: number[] = [];
  a.onTap = (t) => {
    if (t.direction === 'outbound' && t.bytes[33] & TcpFlag.FIN) fins.push(net.sim.now);
  };
  c.connect(ip('198.18.0.2'), 8080);
  net.runUntil(200 * SEC);
  const gone = net.timeline.find((e) => e.tcp?.type === 'state' && e.tcp.sock.id === c.id && e.tcp.to === TcpState.CLOSE)!;
  return { fins, closedAt, goneAt: gone.timeNs, gaps: fins.slice(1).map((t, i) => t - fins[i]), cause: gone.tcp };
}

describe('retransmission of a FIN nobody acknowledges', () => {
  const r = lastAckBlackhole();

  it('the tail loss probe comes first (2*srtt + rto_min = 51 jiffies, 204-208 ms), then the RTO of 51 jiffies from the probe', () => {
    expect(r.fins[0]).toBe(r.closedAt);
    expect(r.gaps[0]).toBeGreaterThan(204 * MS);
    expect(r.gaps[0]).toBeLessThanOrEqual(208 * MS); // real: 205.3 ms
    expect(r.gaps[1]).toBe(52 * TICK); // armed on a tick: 51 + 1 jiffies (real: 208.05 ms)
  });

  it('then the RTO doubles, each expiry rounded up to its wheel granule (real: 436.0, 831.9, 1664 ms)', () => {
    const doubled = [102, 204, 408, 816, 1632, 3264, 6528];
    doubled.forEach((j, i) => {
      const gran = j < 504 ? 8 : j < 4032 ? 64 : 512;
      expect(r.gaps[i + 2]).toBeGreaterThan(j * TICK);
      expect(r.gaps[i + 2]).toBeLessThanOrEqual((j + gran) * TICK);
    });
  });

  it('the orphan gives up about 108 s after its close (real: 108.2 s): 102.2 s since the first retransmission, at an RTO expiry', () => {
    expect(tcpModelTimeoutMs(8, 50, 250)).toBe(102200);
    expect((r.goneAt - r.closedAt) / SEC).toBeGreaterThan(102.2);
    expect((r.goneAt - r.closedAt) / SEC).toBeLessThan(110.5);
    expect(r.cause).toMatchObject({ type: 'state', from: TcpState.LAST_ACK, cause: { kind: 'rtx-exhausted' } });
    expect(r.fins).toHaveLength(10); // the FIN, the probe and 8 RTO retransmissions (real: the same 10)
  });

  it('without SACK there is no loss probe: the first resend is the RTO itself', () => {
    const n = lastAckBlackhole(['net.ipv4.tcp_sack=0']);
    expect(n.gaps[0]).toBeGreaterThan(204 * MS);
    expect(n.gaps[0]).toBeLessThanOrEqual(208 * MS);
    expect(n.gaps[1]).toBeGreaterThan(408 * MS); // already the doubled RTO
  });
});

describe('RTT estimator and RTO (tcp_rtt_estimator, __tcp_set_rto)', () => {
  it('the first sample m: srtt = m, rttvar = max(2m, rto_min); RTO = srtt + rttvar in jiffies, rounded up', () => {
    const e = new RttEstimator();
    e.sample(60, 1, 1, 200_000);
    expect(e.srttUs).toBe(480); // x8
    expect(e.rttvarUs).toBe(200_000);
    expect(e.rtoJiffies(250)).toBe(51); // 200.06 ms
    const slow = new RttEstimator();
    slow.sample(150_000, 1, 1, 200_000);
    expect(slow.rttvarUs).toBe(300_000);
    expect(slow.rtoJiffies(250)).toBe(113); // 450 ms
  });
});

describe('the timer wheel (kernel/time/timer.c calc_wheel_index)', () => {
  it('a timer never fires early, and at most one granule late: 1 jiffy below 63, 8 below 504, 64 below 4032, 512 below 32256', () => {
    const sim = new Simulator(5);
    const clock = KernelClock.seeded(sim);
    for (const [j, gran] of [[2, 1], [51, 1], [62, 1], [63, 8], [250, 8], [503, 8], [504, 64], [4031, 64], [4032, 512], [15000, 512]]) {
      for (let k = 0; k < 20; k++) {
        const at = k * 1_234_567;
        const d = clock.timerFireTime(j, at) - at;
        expect(d).toBeGreaterThan(j * TICK);
        expect(d).toBeLessThanOrEqual((j + gran) * TICK);
      }
    }
  });
});

describe('secure_tcp_seq_and_ts_off()', () => {
  it('SipHash-2-4 matches the reference vectors (key 00..0f; messages 00..07 and 00..0e)', () => {
    const k0 = 0x0706050403020100n;
    const k1 = 0x0f0e0d0c0b0a0908n;
    expect(siphash2u32(k0, k1, 0x03020100, 0x07060504)).toBe(0x93f5f5799a932462n);
    expect(sipHash24(k0, k1, [0x0706050403020100n, (15n << 56n) | 0x0e0d0c0b0a0908n])).toBe(0xa129ca6149be45e5n);
  });

  it('the same 4-tuple: ISNs (t2 - t1) / 64 ns apart; another port: unrelated; the timestamp offset per tuple (6.18.44) or per address pair (older)', () => {
    const KEYS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89];
    const s = new SecureSeq(KEYS, true);
    const a = s.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44410, 8080, 1000, 1);
    const b = s.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44410, 8080, 1000 + 1_875_000_000, 1); // 120 s later
    expect((b.seq - a.seq) >>> 0).toBe(1_875_000_000);
    expect(b.tsOff).toBe(a.tsOff);
    const other = s.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44411, 8080, 1000, 1);
    expect(other.tsOff).not.toBe(a.tsOff);
    const old = new SecureSeq(KEYS, false);
    expect(old.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44411, 8080, 1, 1).tsOff).toBe(old.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44410, 8080, 1, 1).tsOff);
    expect(s.seqAndTsOff(ip('198.18.1.10'), ip('198.18.1.20'), 44410, 8080, 1, 0).tsOff).toBe(0); // tcp_timestamps != 1
  });

  it('a reconnect of the same 4-tuple from a host: ISN advanced by elapsed/64 ns', () => {
    const { net, a } = twoHosts({ seed: 3 });
    const s1 = a.tcp.socket();
    s1.bind(0, 40000);
    s1.connect(ip('198.18.0.2'), 9);
    net.runUntil(1 * SEC); // refused: the tuple is free again
    const s2 = a.tcp.socket();
    s2.bind(0, 40000);
    s2.connect(ip('198.18.0.2'), 9);
    expect((s2.iss - s1.iss) >>> 0).toBe(Math.round(1 * SEC / 64));
  });
});

describe('a connection over loopback', () => {
  it('measures a non-zero RTT, so its RTO is 51 jiffies (204 ms; 6.18.44\'s lab resends the app\'s FIN 208 ms after its loss probe), not the 50 a zero RTT gives', () => {
    const net = new Network(1);
    const h = net.addHost({ name: 'pod', kernel: '6.18' });
    const l = h.tcp.socket();
    l.bind(0, 15001);
    l.listen();
    const c = h.tcp.socket();
    let connected = false;
    c.onConnect = () => { connected = true; };
    c.connect(ip('127.0.0.1'), 15001);
    net.runUntil(1 * SEC);
    expect(connected).toBe(true);
    // Two loopback hops (SYN, SYN-ACK): the sample is 20 us, srtt_us = 8 x 20.
    expect(c.rtt.srttUs).toBe(160);
    expect(c.rtt.rtoJiffies(250)).toBe(51);
  });
});

describe('a FIN queued during loss recovery (after an RTO)', () => {
  // tcp_enter_loss() leaves cwnd at 1 with the retransmitted head in flight: tcp_cwnd_test() keeps
  // the FIN close() queues in the write queue. 6.18.44 (kernel-diff --scenario
  // notrack-sidecar-bypass): the app's data is never acknowledged, its close() at 3 s sends no
  // FIN, `ss` shows FIN-WAIT-1 with 101 bytes queued (100 of data and the FIN). And in two
  // namespaces with this test's timeline (the server's OUTPUT dropping its answers from just before
  // the data to 1.5 s, close() at 1 s): no FIN until the fifth data retransmission's ACK, then the
  // FIN 22 us after it.
  function heldFin(kernel = '6.18', clientSysctls: string[] = []) {
    const { net, a, b } = twoHosts({ latencyNs: 30_000, kernel, clientSysctls });
    const l = b.tcp.socket();
    l.bind(0, 8080);
    l.listen();
    let eofAt = 0;
    l.onAccept = (s) => {
      s.onData = () => undefined;
      s.onEof = () => (eofAt = net.sim.now);
    };
    const c = a.tcp.socket();
    c.connect(ip('198.18.0.2'), 8080);
    // The server's answers are lost from 10 ms to 1.5 s: the client's 100 bytes go unacknowledged.
    net.sim.after(10 * MS, () => {
      b.rules = parseIptablesSave('*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp --sport 8080 -j DROP\nCOMMIT\n');
      c.send(new Uint8Array(100));
    });
    net.sim.after(1 * SEC, () => c.close());
    net.sim.after(1.5 * SEC, () => (b.rules = undefined));
    const fins: number[] = [];
    const sent: Array<{ at: number; flags: number; len: number }> = [];
    a.onTap = (t) => {
      if (t.direction !== 'outbound') return;
      if (t.bytes[33] & TcpFlag.FIN) fins.push(net.sim.now);
      sent.push({ at: net.sim.now, flags: t.bytes[33], len: t.bytes.length - 52 }); // 20 + 32 (timestamps)
    };
    const acks: number[] = [];
    b.onTap = (t) => {
      if (t.direction === 'outbound' && net.sim.now > 1.5 * SEC) acks.push(net.sim.now);
    };
    net.runUntil(1.2 * SEC);
    const stateAt1200ms = c.state;
    net.runUntil(10 * SEC);
    return { fins, acks, sent, stateAt1200ms, eofAt };
  }

  it('waits behind the retransmitted data and leaves with the ACK that ends the episode', () => {
    const r = heldFin();
    expect(r.stateAt1200ms).toBe(TcpState.FIN_WAIT1); // the state moves when the FIN is queued (tcp_close_state)
    expect(r.acks.length).toBeGreaterThan(0);
    // The first answer after 1.5 s is the ACK of a data retransmission; the FIN goes out as it arrives (30 us later).
    expect(r.fins).toHaveLength(1);
    expect(r.fins[0]).toBe(r.acks[0] + 30_000);
    expect(r.eofAt).toBe(r.fins[0] + 30_000);
  });

  it('before 6.12 the lone final FIN is exempt from cwnd and leaves at close() (6.1.192 source and guest)', () => {
    // kernel-diff --scenario notrack-sidecar-bypass in a 6.1.192 UML guest: the app's close() at
    // 3 s sent its FIN at once, with its data still unacknowledged.
    const r = heldFin('6.1');
    expect(r.fins[0]).toBe(1 * SEC);
    expect(r.stateAt1200ms).toBe(TcpState.FIN_WAIT1);
    // tcp_retrans_try_collapse(): the next RTO resends the data and the FIN as one segment ("FP.",
    // 100 bytes), as the 6.1.192 guest did.
    const next = r.sent.find((p) => p.at > 1 * SEC)!;
    expect(next).toMatchObject({ flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK, len: 100 });
  });

  it('tcp_retrans_collapse=0 resends the data alone, the FIN after it', () => {
    const after = heldFin('6.1', ['net.ipv4.tcp_retrans_collapse=0']).sent.filter((p) => p.at >= 1 * SEC);
    expect(after[0].flags).toBe(TcpFlag.FIN | TcpFlag.ACK); // close(): the exempt FIN
    expect(after[1]).toMatchObject({ flags: TcpFlag.PSH | TcpFlag.ACK, len: 100 }); // the next RTO: the data alone
  });
});
