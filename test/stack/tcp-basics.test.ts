import { describe, expect, it } from 'vitest';
import type { Network } from '../../src/sim/network.js';
import { twoHosts } from '../support/two-hosts.js';
import { ip } from '../../src/wire/index.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';

const MS = 1e6;
const SEC = 1e9;

function pair(kernel = '6.18', seed = 1) {
  return twoHosts({ kernel, seed });
}

const TICK = 4 * MS; // HZ=250

function synRetransmitTimes(net: Network): number[] {
  return net.timeline.flatMap((e) => (e.tcp?.type === 'syn-retransmit' ? [e.timeNs] : []));
}

/**
 * A timer armed for `j` jiffies fires in (j, j + granule] jiffies (the granule of its wheel level);
 * `fromArbitraryPhase`: armed between two ticks (from a syscall), else exactly on a tick (from a
 * timer), where the lower bound is one whole jiffy late.
 */
function expectWheelGap(gapNs: number, j: number, fromArbitraryPhase: boolean): void {
  const gran = j < 63 ? 1 : j < 504 ? 8 : j < 4032 ? 64 : 512;
  expect(gapNs).toBeGreaterThan(fromArbitraryPhase ? j * TICK : j * TICK + TICK - 1);
  expect(gapNs).toBeLessThanOrEqual((j + gran) * TICK);
}

describe('TCP basics between two hosts', () => {
  it('handshake, data both ways, close from the client', () => {
    const { net, a, b } = pair();
    const states: string[] = [];
    const l = b.tcp.socket({ uid: 0 });
    l.bind(0, 8080);
    l.listen();
    let server: ReturnType<typeof b.tcp.socket> | null = null;
    let got = '';
    l.onAccept = (c) => {
      server = c;
      c.onData = (d) => { got += new TextDecoder().decode(d); c.send(new TextEncoder().encode('pong')); };
      c.onEof = () => c.close();
    };
    const c = a.tcp.socket({ uid: 1000 });
    let reply = '';
    c.onStateChange = (_f, t) => states.push(String(t));
    c.onConnect = () => c.send(new TextEncoder().encode('ping'));
    c.onData = (d) => { reply += new TextDecoder().decode(d); c.close(); };
    c.connect(ip('198.18.0.2'), 8080);
    net.runUntil(1 * SEC);
    expect(got).toBe('ping');
    expect(reply).toBe('pong');
    expect(server).not.toBeNull();
    expect(c.state).toBe(TcpState.TIME_WAIT);
    // TCP_TIMEWAIT_LEN (60 s = 15000 jiffies) sits on the wheel's level 3 (512-jiffy granules): 60-62.05 s.
    expect(a.ss().join('\n')).toMatch(/TIME-WAIT .* timer:\(timewait,(59|60|61)sec,0\)/);
    net.runUntil(64 * SEC);
    expect(a.tcp.sockets.size).toBe(0);
    expect(b.tcp.sockets.size).toBe(1); // the listener
    expect(net.timeline.map((e) => e.text).join('\n')).toMatch(/SYN_SENT -> ESTABLISHED/);
  });

  // Measured on the real 6.18.44 (HZ=250) with tcp_syn_retries=5: SYNs at 0, 1.016, 3.032, 7.064,
  // 15.256, 31.384 s, ETIMEDOUT at 63.64 s; another run 1.028, 3.044, 7.076, 15.268, 31.396 s. Each
  // gap is the RTO in jiffies (250 << n) rounded up to the timer wheel's granule: 8 jiffies for
  // 63-503, 64 for 504-4031, 512 beyond; at least one jiffy late (kernel/time/timer.c calc_index).
  it('SYN retransmissions after 1, 2, 4, 8, 16, 32 s RTOs, each late by the timer wheel; ETIMEDOUT after the 64 s one (pre-6.5)', () => {
    const { net, a } = pair('6.1');
    const c = a.tcp.socket();
    let err = '';
    let at = 0;
    c.onError = (e) => { err = e; at = net.sim.now; };
    c.connect(ip('198.18.0.99'), 80); // nobody there: the link drops it at the server (not its address)
    net.runUntil(200 * SEC);
    const times = [0, ...synRetransmitTimes(net), at];
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(err).toBe('ETIMEDOUT');
    [250, 500, 1000, 2000, 4000, 8000, 16000].forEach((j, i) => expectWheelGap(gaps[i], j, i === 0));
  });

  // Real 6.18.44, tcp_syn_linear_timeouts=3: gaps 1.007, 1.024, 1.024, 1.024, 2.016, 4.064, 8.192, 16.128, 33.28 s.
  it('6.5+ linear SYN timeouts: four 1 s RTOs, then 2, 4, 8, 16, 32, 64 s; ETIMEDOUT after the tenth retransmission', () => {
    const { net, a } = pair('6.18');
    const c = a.tcp.socket();
    let at = 0;
    c.onError = () => { at = net.sim.now; };
    c.connect(ip('198.18.0.99'), 80);
    net.runUntil(200 * SEC);
    const times = [0, ...synRetransmitTimes(net), at];
    expect(times).toHaveLength(12);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    [250, 250, 250, 250, 250, 500, 1000, 2000, 4000, 8000, 16000].forEach((j, i) => expectWheelGap(gaps[i], j, i === 0));
  });

  it('connection refused: the server host answers RST+ACK to a SYN for a closed port', () => {
    const { net, a } = pair();
    const c = a.tcp.socket();
    let err = '';
    c.onError = (e) => { err = e; };
    c.connect(ip('198.18.0.2'), 9);
    net.runUntil(10 * MS);
    expect(err).toBe('ECONNREFUSED');
  });
});
