// Port and 4-tuple ownership as Linux decides it (inet_csk_get_port / inet_bind_conflict,
// inet_hash_connect / __inet_check_established / tcp_twsk_unique). Every expectation here was
// measured on the real 6.18.44 kernel in namespaces of our own (python sockets, 198.18.7.0/24):
//   bind() without SO_REUSEADDR onto a port a connected socket holds         EADDRINUSE
//   bind() with SO_REUSEADDR, the holder has it too and is connected          ok
//   ... and the holder listens                                               EADDRINUSE
//   ... the holder (connected) has no SO_REUSEADDR                           EADDRINUSE
//   bind() with SO_REUSEPORT, same uid, holder has it too                   ok
//   connect() from a bound port onto an ESTABLISHED 4-tuple                  EADDRNOTAVAIL
//   bind() without SO_REUSEADDR onto a TIME_WAIT port (holder had it)        EADDRINUSE
//   bind() with SO_REUSEADDR onto it, then connect() to the same peer        ok (TIME_WAIT taken over)
//   ... with net.ipv4.tcp_timestamps=0                                       EADDRNOTAVAIL
//   bind() with SO_REUSEADDR onto a TIME_WAIT whose owner had none           EADDRINUSE
//   ephemeral connect(), ip_local_port_range one port, TIME_WAIT on it:
//     tcp_tw_reuse=2 (default, loopback only) at once and after 2 s          EADDRNOTAVAIL
//     tcp_tw_reuse=1: at once EADDRNOTAVAIL, after 2 s                       ok
//   an orphaned FIN_WAIT2 minisocket on the tuple (peer never closes), tcp_tw_reuse=1, 2.3 s later:
//     ephemeral connect()                                                    EADDRNOTAVAIL
//     connect() from the bound port                                          ok (taken over)
import { describe, expect, it } from 'vitest';
import { twoHosts } from '../support/two-hosts.js';
import type { CallResult } from '../../src/stack/tcp/tcp-events.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';
import type { TcpSocket } from '../../src/stack/tcp/tcp-socket.js';
import { ip } from '../../src/wire/index.js';

const SEC = 1e9;
const MS = 1e6;
const SRV = ip('198.18.0.2');

function pair(o: { sysctls?: string[] } = {}) {
  const { net, a, b } = twoHosts({ clientSysctls: o.sysctls });
  const l = b.tcp.socket();
  l.reuseAddr = true;
  l.bind(0, 8080);
  l.listen();
  l.onAccept = (c) => {
    c.onEof = () => c.close();
  };
  const sock = (opts: { reuseAddr?: boolean; reusePort?: boolean; uid?: number } = {}) => {
    const s = a.tcp.socket({ uid: opts.uid ?? 1000 });
    s.reuseAddr = !!opts.reuseAddr;
    s.reusePort = !!opts.reusePort;
    return s;
  };
  return { net, a, b, sock };
}

const errno = (r: CallResult) => r.errno ?? 'ok';

function connected(p: ReturnType<typeof pair>, port: number, o: { reuseAddr?: boolean; reusePort?: boolean } = {}): TcpSocket {
  const s = p.sock(o);
  expect(errno(s.bind(0, port))).toBe('ok');
  expect(errno(s.connect(SRV, 8080))).toBe('ok');
  p.net.runUntil(p.net.sim.now + 10 * MS);
  expect(s.state).toBe(TcpState.ESTABLISHED);
  return s;
}

/** A socket of ours in TIME_WAIT on `port` (we close first; the server closes on EOF). */
function timeWait(p: ReturnType<typeof pair>, port: number, reuseAddr: boolean): TcpSocket {
  const s = connected(p, port, { reuseAddr });
  s.close();
  p.net.runUntil(p.net.sim.now + 100 * MS);
  expect(s.state).toBe(TcpState.TIME_WAIT);
  return s;
}

describe('bind() conflicts (inet_bind_conflict)', () => {
  it('a connected holder: EADDRINUSE without SO_REUSEADDR, ok when both have it; never with a listener or a holder without it', () => {
    const p = pair();
    connected(p, 41001, { reuseAddr: true });
    expect(errno(p.sock().bind(0, 41001))).toBe('EADDRINUSE');
    expect(errno(p.sock({ reuseAddr: true }).bind(0, 41001))).toBe('ok');
    const l = p.sock({ reuseAddr: true });
    l.bind(0, 41002);
    l.listen();
    expect(errno(p.sock({ reuseAddr: true }).bind(0, 41002))).toBe('EADDRINUSE');
    connected(p, 41003);
    const r = p.sock({ reuseAddr: true }).bind(0, 41003);
    expect(r).toMatchObject({ errno: 'EADDRINUSE', failure: { kind: 'port-in-use', holderState: TcpState.ESTABLISHED } });
  });

  it('SO_REUSEPORT shares a port between sockets of one owner', () => {
    const p = pair();
    connected(p, 41004, { reusePort: true });
    expect(errno(p.sock({ reusePort: true }).bind(0, 41004))).toBe('ok');
    expect(errno(p.sock({ reusePort: true, uid: 2000 }).bind(0, 41004))).toBe('EADDRINUSE');
  });

  it('a TIME_WAIT minisocket still holds its port: EADDRINUSE unless both it and the new socket have SO_REUSEADDR', () => {
    const p = pair();
    timeWait(p, 41010, true);
    expect(errno(p.sock().bind(0, 41010))).toBe('EADDRINUSE');
    expect(errno(p.sock({ reuseAddr: true }).bind(0, 41010))).toBe('ok');
    timeWait(p, 41011, false);
    expect(errno(p.sock({ reuseAddr: true }).bind(0, 41011))).toBe('EADDRINUSE');
  });

  it('an address that is not the host\'s: EADDRNOTAVAIL; a second bind(): EINVAL', () => {
    const p = pair();
    expect(p.sock().bind(ip('198.18.0.77'), 41020)).toMatchObject({ errno: 'EADDRNOTAVAIL', failure: { kind: 'not-local-address' } });
    const s = p.sock();
    s.bind(0, 41021);
    expect(errno(s.bind(0, 41022))).toBe('EINVAL');
  });
});

describe('connect() and the 4-tuple (__inet_check_established)', () => {
  it('from a bound port onto a live 4-tuple: EADDRNOTAVAIL, reported as a typed call event naming the holder', () => {
    const p = pair();
    const old = connected(p, 41001, { reuseAddr: true });
    const s = p.sock({ reuseAddr: true });
    expect(errno(s.bind(0, 41001))).toBe('ok');
    const r = s.connect(SRV, 8080);
    expect(r).toMatchObject({ errno: 'EADDRNOTAVAIL', failure: { kind: 'tuple-in-use', holder: { id: old.id }, holderState: TcpState.ESTABLISHED } });
    const ev = p.net.timeline.at(-1)!;
    expect(ev.tcp).toMatchObject({ type: 'call', call: 'connect', port: 8080, result: { errno: 'EADDRNOTAVAIL' } });
    expect(ev.text).toMatch(/connect\(198\.18\.0\.2:8080\) = -1 EADDRNOTAVAIL \(4-tuple held by ESTABLISHED socket #\d+\)$/);
    // nothing was sent and the socket is not hashed: the old connection is untouched
    expect(old.state).toBe(TcpState.ESTABLISHED);
    expect(s.state).toBe(TcpState.CLOSE);
  });

  it('onto a TIME_WAIT that saw timestamps: the new connection takes it over; its ISN continues the old sequence space (tw_snd_nxt + 65537)', () => {
    const p = pair();
    const old = timeWait(p, 41010, true);
    const sndNxt = old.sndNxt;
    const s = p.sock({ reuseAddr: true });
    s.bind(0, 41010);
    expect(errno(s.connect(SRV, 8080))).toBe('ok');
    expect(s.iss).toBe((sndNxt + 65537) >>> 0);
    expect(old.state).toBe(TcpState.CLOSE);
    expect(p.net.timeline.some((e) => e.tcp?.type === 'state' && e.tcp.cause.kind === 'tw-reused-by-connect')).toBe(true);
  });

  it('onto a TIME_WAIT without timestamps (net.ipv4.tcp_timestamps=0): EADDRNOTAVAIL', () => {
    const p = pair({ sysctls: ['net.ipv4.tcp_timestamps=0'] });
    timeWait(p, 41010, true);
    const s = p.sock({ reuseAddr: true });
    s.bind(0, 41010);
    expect(s.connect(SRV, 8080)).toMatchObject({ errno: 'EADDRNOTAVAIL', failure: { kind: 'tuple-in-use', holderState: TcpState.TIME_WAIT } });
  });

  it('an ephemeral connect() reuses a non-loopback TIME_WAIT only with tcp_tw_reuse=1 and a last timestamp tcp_tw_reuse_delay (1000 ms) old', () => {
    for (const [reuse, later] of [['2', 'EADDRNOTAVAIL'], ['1', 'ok']] as const) {
      const p = pair({ sysctls: ['net.ipv4.ip_local_port_range=40000 40000', `net.ipv4.tcp_tw_reuse=${reuse}`] });
      const first = p.sock();
      first.connect(SRV, 8080);
      p.net.runUntil(10 * MS);
      expect(first.localPort).toBe(40000);
      first.close();
      p.net.runUntil(100 * MS);
      expect(first.state).toBe(TcpState.TIME_WAIT);
      expect(p.sock().connect(SRV, 8080)).toMatchObject({ errno: 'EADDRNOTAVAIL', failure: { kind: 'no-ephemeral-port' } });
      p.net.runUntil(2.2 * SEC);
      expect(errno(p.sock().connect(SRV, 8080)), `tcp_tw_reuse=${reuse}`).toBe(later);
    }
  });

  it('listen() on an unbound socket binds a free port (inet_csk_listen_start -> get_port(0)); a second listener on a port: EADDRINUSE', () => {
    const p = pair();
    const l = p.sock();
    expect(errno(l.listen())).toBe('ok');
    expect(l.localPort).toBeGreaterThan(0);
    const m = p.sock({ reuseAddr: true });
    const n = p.sock({ reuseAddr: true });
    m.bind(0, 41030);
    n.bind(0, 41030);
    expect(errno(m.listen())).toBe('ok');
    expect(errno(n.listen())).toBe('EADDRINUSE');
  });
});

describe('kernel facts of port reuse, per release', () => {
  it('tcp_tw_reuse_delay exists from v6.13 (the real 6.18.44 has it, 6.12.117 not): before, "an earlier second" decides', async () => {
    const { resolveKernel } = await import('../../src/conntrack/kernel-profile.js');
    expect([resolveKernel('6.12').twReuseDelay, resolveKernel('6.13').twReuseDelay, resolveKernel('6.18').twReuseDelay]).toEqual([false, true, true]);
    // on 6.12 a TIME_WAIT stamped late in a second is reusable as soon as the next one begins
    const reusedAfter = (kernel: string) => {
      const { net, a, b } = twoHosts({ kernel, clientSysctls: ['net.ipv4.ip_local_port_range=40000 40000', 'net.ipv4.tcp_tw_reuse=1'] });
      const l = b.tcp.socket();
      l.bind(0, 8080);
      l.listen();
      l.onAccept = (c) => { c.onEof = () => c.close(); };
      const first = a.tcp.socket();
      first.connect(SRV, 8080);
      net.runUntil(10 * MS);
      first.close();
      net.runUntil(100 * MS);
      for (let t = 100; t <= 2000; t += 10) {
        net.runUntil(t * MS);
        if (a.tcp.socket().connect(SRV, 8080).errno === null) return t;
      }
      return -1;
    };
    expect(reusedAfter('6.18')).toBeGreaterThan(1000); // the last timestamp came at about 0.01 s
    expect(reusedAfter('6.12')).toBeLessThanOrEqual(1010);
  });

  it('the timestamp offset is per 4-tuple from "tcp: secure_seq: add back ports to TS offset" (6.12.117, 6.18.44, 7.0), per address pair before', async () => {
    const { resolveKernel } = await import('../../src/conntrack/kernel-profile.js');
    const per = (k: string) => resolveKernel(k).tsOffsetPerTuple;
    expect([per('6.1'), per('6.12.116'), per('6.12.117'), per('6.18.43'), per('6.18.44'), per('7.0')]).toEqual([false, false, true, false, true, true]);
  });

  it('tcp_twsk_unique() refuses an orphaned FIN_WAIT2 minisocket to an ephemeral connect() on 6.12+ (source of 6.12.117), takes it over before', () => {
    const run = (kernel: string) => {
      const { net, a, b } = twoHosts({ kernel, clientSysctls: ['net.ipv4.ip_local_port_range=40000 40000', 'net.ipv4.tcp_tw_reuse=1'] });
      const l = b.tcp.socket();
      l.bind(0, 8080);
      l.listen(); // the server never closes: our close() leaves an orphaned FIN_WAIT2
      const first = a.tcp.socket();
      first.connect(SRV, 8080);
      net.runUntil(10 * MS);
      first.close();
      net.runUntil(2.2 * SEC);
      expect(first.state).toBe(TcpState.FIN_WAIT2);
      return a.tcp.socket().connect(SRV, 8080).errno ?? 'ok';
    };
    expect(run('6.12')).toBe('EADDRNOTAVAIL');
    expect(run('6.6')).toBe('ok');
  });

  it('connect() from a bound port takes an orphaned FIN_WAIT2 minisocket over (twp == NULL: the substate is not checked)', () => {
    const p = pair();
    p.b.tcp.sockets.forEach((l) => l.state === TcpState.LISTEN && ((l as TcpSocket).onAccept = () => undefined)); // the server never closes
    const first = connected(p, 41050, { reuseAddr: true });
    first.close();
    p.net.runUntil(p.net.sim.now + 500 * MS);
    expect(first.state).toBe(TcpState.FIN_WAIT2);
    const s = p.sock({ reuseAddr: true });
    expect(errno(s.bind(0, 41050))).toBe('ok');
    expect(errno(s.connect(SRV, 8080))).toBe('ok');
    expect(first.state).toBe(TcpState.CLOSE);
  });
});
