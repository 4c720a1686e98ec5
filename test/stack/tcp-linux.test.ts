// Linux endpoint behaviours the seed incidents rest on, between two emulated hosts.
import { describe, expect, it } from 'vitest';
import type { Network } from '../../src/sim/network.js';
import { twoHosts } from '../support/two-hosts.js';
import { MemorySink } from '../../src/pcap/index.js';
import { ip } from '../../src/wire/index.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';
import type { TcpSocket } from '../../src/stack/tcp/tcp-socket.js';
import { Cause } from '../../src/stack/tcp/tcp-events.js';

const MS = 1e6;
const SEC = 1e9;
const SRV = ip('198.18.0.2');

function pair(kernel = '6.18', seed = 1) {
  const { net, a, b } = twoHosts({ kernel, seed });
  const accepted: TcpSocket[] = [];
  const l = b.tcp.socket();
  l.bind(0, 8080);
  l.listen();
  l.onAccept = (c) => {
    accepted.push(c);
    c.onData = () => undefined;
  };
  return { net, a, b, accepted };
}

function states(net: Network, host: string): string[] {
  return net.timeline.filter((e) => e.host === host && /: [A-Z_0-9]+ -> [A-Z_0-9]+/.test(e.text)).map((e) => e.text.replace(/^.*: ([A-Z_0-9]+ -> [A-Z_0-9]+).*$/, '$1'))
    .filter((t) => t !== 'CLOSE -> LISTEN');
}

describe('socket state sequences', () => {
  it('client closes first: FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT; server CLOSE_WAIT -> LAST_ACK -> CLOSE', () => {
    const { net, a, accepted } = pair();
    const c = a.tcp.socket();
    c.onConnect = () => c.close();
    c.connect(SRV, 8080);
    net.runUntil(5 * MS);
    accepted[0].close();
    net.runUntil(10 * MS);
    expect(states(net, 'client')).toEqual(['CLOSE -> SYN_SENT', 'SYN_SENT -> ESTABLISHED', 'ESTABLISHED -> FIN_WAIT1', 'FIN_WAIT1 -> FIN_WAIT2', 'FIN_WAIT2 -> TIME_WAIT']);
    expect(states(net, 'server')).toEqual(['CLOSE -> SYN_RECV', 'SYN_RECV -> ESTABLISHED', 'ESTABLISHED -> CLOSE_WAIT', 'CLOSE_WAIT -> LAST_ACK', 'LAST_ACK -> CLOSE']);
  });

  it('server closes first (the mirror)', () => {
    const { net, a, accepted } = pair();
    const c = a.tcp.socket();
    c.onEof = () => c.close();
    c.connect(SRV, 8080);
    net.runUntil(5 * MS);
    accepted[0].close();
    net.runUntil(10 * MS);
    expect(states(net, 'client').slice(2)).toEqual(['ESTABLISHED -> CLOSE_WAIT', 'CLOSE_WAIT -> LAST_ACK', 'LAST_ACK -> CLOSE']);
    expect(states(net, 'server').slice(2)).toEqual(['ESTABLISHED -> FIN_WAIT1', 'FIN_WAIT1 -> FIN_WAIT2', 'FIN_WAIT2 -> TIME_WAIT']);
  });

  it('simultaneous close: both FIN_WAIT1 -> CLOSING -> TIME_WAIT', () => {
    const { net, a, accepted } = pair();
    const c = a.tcp.socket();
    c.connect(SRV, 8080);
    net.runUntil(5 * MS);
    c.close();
    accepted[0].close();
    net.runUntil(10 * MS);
    expect(states(net, 'client').slice(2)).toEqual(['ESTABLISHED -> FIN_WAIT1', 'FIN_WAIT1 -> CLOSING', 'CLOSING -> TIME_WAIT']);
    expect(states(net, 'server').slice(2)).toEqual(['ESTABLISHED -> FIN_WAIT1', 'FIN_WAIT1 -> CLOSING', 'CLOSING -> TIME_WAIT']);
  });
});

describe('FIN_WAIT2', () => {
  it('after shutdown(SHUT_WR) the socket stays in FIN_WAIT2 with no timer, for hours', () => {
    const { net, a, accepted, b } = pair();
    const c = a.tcp.socket();
    c.connect(SRV, 8080);
    net.runUntil(5 * MS);
    accepted[0].shutdown('wr');
    net.runUntil(3 * 3600 * SEC);
    expect(accepted[0].state).toBe(TcpState.FIN_WAIT2);
    expect(accepted[0].hasTimer()).toBe(false);
    expect(c.state).toBe(TcpState.CLOSE_WAIT);
    expect(b.ss().join('\n')).toMatch(/FIN-WAIT-2 .* uid:0$/m);
  });

  it('after close() the orphaned FIN_WAIT2 dies after tcp_fin_timeout (60 s)', () => {
    const { net, a, accepted } = pair();
    a.tcp.socket().connect(SRV, 8080);
    net.runUntil(5 * MS);
    accepted[0].close();
    // The client ACKs the FIN 40 ms later (tcp_fin(): delayed ACK on ESTABLISHED -> CLOSE_WAIT).
    net.runUntil(30 * MS);
    expect(accepted[0].state).toBe(TcpState.FIN_WAIT1);
    net.runUntil(60 * MS);
    expect(accepted[0].state).toBe(TcpState.FIN_WAIT2);
    net.runUntil(60 * SEC);
    expect(accepted[0].state).toBe(TcpState.FIN_WAIT2);
    // 60 s = 15000 jiffies: the wheel's level 3 rounds up to a 512-jiffy (2.048 s) granule.
    net.runUntil(62.1 * SEC);
    expect(accepted[0].state).toBe(TcpState.CLOSE);
    expect(net.timeline.some((e) => /tcp_fin_timeout expired/.test(e.text))).toBe(true);
  });
});

describe('RFC 5961 on a reused 4-tuple', () => {
  /** Client connects, then its socket vanishes without a FIN reaching the server (as when the FIN missed the NAT). */
  function reuse(kernel: string, serverSide: 'established' | 'fin-wait2' | 'orphan-fin-wait2', isnOffset?: number) {
    const { net, a, accepted } = pair(kernel);
    const old = a.tcp.socket();
    old.reuseAddr = true;
    old.bind(0, 40000);
    old.connect(SRV, 8080);
    net.runUntil(5 * MS);
    if (serverSide === 'fin-wait2') accepted[0].shutdown('wr');
    if (serverSide === 'orphan-fin-wait2') accepted[0].close();
    net.runUntil(60 * MS); // past the client's delayed ACK of the FIN (40 ms)
    old.destroy(Cause['close']); // gone without a packet (as if its host rebooted)
    const t0 = net.sim.now;
    const s = a.tcp.socket();
    s.reuseAddr = true;
    s.bind(0, 40000);
    let connectedAt = -1;
    let error = '';
    s.onConnect = () => { connectedAt = net.sim.now - t0; };
    s.onError = (e) => { error = e; };
    s.connect(SRV, 8080, { iss: isnOffset === undefined ? undefined : (accepted[0].rcvNxt + isnOffset) >>> 0 });
    net.runUntil(t0 + 5 * SEC);
    const text = net.timeline.filter((e) => e.timeNs >= t0).map((e) => `${e.host}: ${e.text}`).join('\n');
    return { connectedAt, error, text, oldServer: accepted[0] };
  }

  it('SYN to an ESTABLISHED socket: challenge ACK, the client\'s RST (seq = its ack) resets it, the SYN retry connects', () => {
    const r = reuse('6.18', 'established');
    expect(r.text).toMatch(/server: socket .* \(ESTABLISHED\): RFC 5961 challenge ACK for (an out-of-window SYN|a SYN)/);
    expect(r.text).toMatch(/client: socket .*: unacceptable ACK .* in SYN_SENT/);
    expect(r.text).toMatch(/server: socket .*: ECONNRESET \(RST received\)/);
    expect(r.oldServer.state).toBe(TcpState.CLOSE);
    // v5.6+ resends the SYN TCP_TIMEOUT_MIN (2 jiffies) after the unacceptable ACK: on the timer
    // wheel that is 8-12 ms at HZ=250 (the real 6.18.44 resent it 10-14 ms later), plus the RTTs.
    expect(r.connectedAt).toBeGreaterThan(8 * MS);
    expect(r.connectedAt).toBeLessThan(12.5 * MS);
  });

  it('SYN to a FIN_WAIT2 socket held by its application: the same challenge ACK / RST / connect', () => {
    const r = reuse('6.18', 'fin-wait2');
    expect(r.text).toMatch(/server: socket .* \(FIN_WAIT2\): RFC 5961 challenge ACK/);
    expect(r.oldServer.state).toBe(TcpState.CLOSE);
    expect(r.error).toBe('');
    expect(r.connectedAt).toBeGreaterThan(0);
  });

  it('before v5.6 (5.4) the SYN retry waits the full 1 s RTO', () => {
    const r = reuse('5.4', 'fin-wait2');
    // TCP_TIMEOUT_INIT = 250 jiffies on the wheel's 8-jiffy level: 1.000-1.032 s (+ RTTs)
    expect(r.connectedAt).toBeGreaterThan(1 * SEC);
    expect(r.connectedAt).toBeLessThan(1.033 * SEC);
  });

  // tcp_timewait_state_process(), substate FIN_WAIT2: the window check comes first.
  it('an orphaned FIN_WAIT2 minisocket answers an in-window SYN with RST and is gone (TW_RST): ECONNREFUSED', () => {
    const r = reuse('6.18', 'orphan-fin-wait2', 10);
    expect(r.text).toMatch(/server: socket .*: FIN_WAIT2 -> CLOSE \(SYN to an orphaned FIN_WAIT2 socket: RST \(TW_RST\)\)/);
    expect(r.text).toMatch(/server: reset 198\.18\.0\.2:8080 -> 198\.18\.0\.1:40000 seq=0 ack=/);
    expect(r.oldServer.state).toBe(TcpState.CLOSE);
    expect(r.error).toBe('ECONNREFUSED');
  });

  it('an orphaned FIN_WAIT2 minisocket answers an out-of-window SYN with an ACK; the client\'s RST kills it and the SYN retry connects', () => {
    const r = reuse('6.18', 'orphan-fin-wait2', -0x10000000);
    expect(r.text).toMatch(/client: socket .*: unacceptable ACK .* in SYN_SENT/);
    expect(r.text).toMatch(/server: socket .*: FIN_WAIT2 -> CLOSE \(RST in orphaned FIN_WAIT2\)/);
    expect(r.error).toBe('');
    expect(r.connectedAt).toBeGreaterThan(8 * MS);
    expect(r.connectedAt).toBeLessThan(12.5 * MS);
  });

  it('challenge ACKs are rate limited per socket (tcp_invalid_ratelimit 500 ms)', () => {
    const { net, a, accepted } = pair();
    const c = a.tcp.socket();
    c.connect(SRV, 8080);
    net.runUntil(5 * MS);
    // Three SYNs within 500 ms from a raw sender: only the first gets a challenge ACK.
    const s1 = a.tcp.socket();
    s1.reuseAddr = true;
    expect(accepted).toHaveLength(1);
    const srv = accepted[0];
    const synFrom = (t: number) => net.sim.at(t, () => srv.receive({ src: c.remoteAddr, dst: srv.localAddr, sport: c.localPort, dport: 8080, seq: 123, ack: 0, flags: 2, window: 100, len: 0, payload: new Uint8Array(0), mss: -1, wscale: -1, sackOk: false, hasTs: false, tsval: 0, tsecr: 0 }));
    const t0 = net.sim.now;
    synFrom(t0 + 10 * MS);
    synFrom(t0 + 200 * MS);
    synFrom(t0 + 700 * MS);
    net.runUntil(t0 + SEC);
    const lines = net.timeline.filter((e) => /challenge ACK/.test(e.text)).map((e) => /suppressed/.test(e.text) ? 'suppressed' : 'sent');
    expect(lines).toEqual(['sent', 'suppressed', 'sent']);
  });
});

describe('determinism', () => {
  function capture(seed: number): Uint8Array {
    const { net, a } = pair('6.18', seed);
    const sink = new MemorySink();
    net.capture(sink);
    const c = a.tcp.socket();
    c.onConnect = () => c.send(new Uint8Array(3000));
    c.connect(SRV, 8080);
    net.runUntil(2 * SEC);
    c.close();
    net.runUntil(100 * SEC);
    net.close();
    return sink.bytes();
  }

  it('the same seed gives byte-identical captures; another seed does not', () => {
    const x = capture(7);
    expect(x.length).toBeGreaterThan(500);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(capture(7)))).toBe(0);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(capture(8)))).not.toBe(0);
  });
});
