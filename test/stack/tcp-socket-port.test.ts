// A full socket driven through a test TcpSocketPort (no stack): it is offered segments and
// answers ('done' or 'reset'); everything it sends or reports goes through the port as segments
// and typed events. Then the same socket inside a host: the handle follows its TIME_WAIT
// minisocket, and timelines carry the typed events behind their text.
import { describe, expect, it } from 'vitest';
import { resolveKernel } from '../../src/conntrack/kernel-profile.js';
import { twoHosts } from '../support/two-hosts.js';
import { Simulator } from '../../src/sim/simulator.js';
import { ChallengeAckBudget } from '../../src/stack/tcp/tcp-challenge-ack.js';
import { CALL_OK, type CallResult, type TcpEvent } from '../../src/stack/tcp/tcp-events.js';
import { KernelClock } from '../../src/stack/kernel-clock.js';
import type { SegIn } from '../../src/stack/tcp/tcp-segment-in.js';
import type { SegmentOut } from '../../src/stack/tcp/tcp-segment-out.js';
import type { ConnectOutcome, TcpSock } from '../../src/stack/tcp/tcp-sock.js';
import { TcpSocket, type TcpSocketPort } from '../../src/stack/tcp/tcp-socket.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';
import { defaultTcpSysctls } from '../../src/stack/tcp/tcp-sysctls.js';
import type { TimeWaitSock } from '../../src/stack/tcp/tcp-timewait.js';
import { TcpFlag, encodeSegment, ip, parseIpv4Tcp } from '../../src/wire/index.js';

const { SYN, ACK, RST } = TcpFlag;
const MS = 1e6;
const SEC = 1e9;
const LOCAL = ip('198.18.0.1');
const REMOTE = ip('198.18.0.2');

class TestPort implements TcpSocketPort {
  readonly sched = new Simulator(7);
  readonly sysctls = defaultTcpSysctls(resolveKernel('6.18'));
  readonly earlySynResend = true;
  readonly pingpongThresh = 1;
  readonly finCwndExempt = false;
  readonly challengeAcks = new ChallengeAckBudget(0x7fffffff);
  readonly sent: SegmentOut[] = [];
  readonly events: TcpEvent[] = [];
  readonly calls: string[] = [];
  route() {
    return { mss: 1460, synWindow: 64240, synAckWindow: 65160, window: 64256 };
  }
  output(seg: SegmentOut): boolean {
    this.sent.push(seg);
    return true;
  }
  event(e: TcpEvent): void {
    this.events.push(e);
  }
  readonly clock = KernelClock.seeded(this.sched);
  bind(): CallResult {
    this.calls.push('bind');
    return CALL_OK;
  }
  listen(): CallResult {
    this.calls.push('listen');
    return CALL_OK;
  }
  connect(s: TcpSock, addr: number, port: number): ConnectOutcome {
    this.calls.push('connect');
    s.localAddr = LOCAL;
    s.localPort = 44410;
    s.remoteAddr = addr;
    s.remotePort = port;
    return { result: CALL_OK, writeSeq: null };
  }
  initSeq() {
    return { seq: 12345, tsOff: 0 };
  }
  unhash(): void {
    this.calls.push('unhash');
  }
  hashTimeWait(_s: TcpSock, tw: TimeWaitSock): void {
    this.calls.push(`hashTimeWait ${tw.state}`);
  }
  releaseTimeWait(): void {
    this.calls.push('releaseTimeWait');
  }
  originalDst(): null {
    return null;
  }
}

function from(s: SegmentOut, flags: number, o: { seq: number; ack?: number }): SegIn {
  return {
    src: s.dst, dst: s.src, sport: s.dport, dport: s.sport, seq: o.seq >>> 0, ack: (o.ack ?? 0) >>> 0, flags, window: 509, len: 0, payload: new Uint8Array(0),
    mss: 1460, wscale: 7, sackOk: true, hasTs: false, tsval: 0, tsecr: 0,
  };
}

describe('a socket answers the segments it is offered', () => {
  it('connect(): SYN through the port; a SYN-ACK makes it ESTABLISHED and it ACKs', () => {
    const port = new TestPort();
    const s = new TcpSocket(port, 1000, 1000, 1);
    s.connect(REMOTE, 8080, { iss: 1000 });
    expect(port.calls).toEqual(['connect']);
    expect(port.sent.map((x) => [x.flags, x.seq])).toEqual([[SYN, 1000]]);
    expect(s.receive(from(port.sent[0], SYN | ACK, { seq: 7000, ack: 1001 }))).toBe('done');
    expect(s.state).toBe(TcpState.ESTABLISHED);
    expect(port.sent.at(-1)).toMatchObject({ flags: ACK, seq: 1001, ack: 7001 });
    expect(port.events.filter((e) => e.type === 'state').map((e) => e.type === 'state' && [e.from, e.to, e.cause.kind])).toEqual([
      [TcpState.CLOSE, TcpState.SYN_SENT, 'connect'], [TcpState.SYN_SENT, TcpState.ESTABLISHED, 'syn-ack'],
    ]);
  });

  it('an unacceptable ACK in SYN_SENT: the socket asks for a reset and resends its SYN after 2 jiffies (v5.6+)', () => {
    const port = new TestPort();
    const s = new TcpSocket(port, 0, 0, 1);
    s.connect(REMOTE, 8080, { iss: 1000 });
    expect(s.receive(from(port.sent[0], ACK, { seq: 5, ack: 99 }))).toBe('reset');
    expect(port.events.at(-1)).toMatchObject({ type: 'unacceptable-ack', ack: 99, expected: 1001 });
    // TCP_TIMEOUT_MIN = 2 jiffies on the timer wheel: more than 8 ms, at most 12 ms at HZ=250.
    port.sched.runUntil(8 * MS);
    expect(port.sent.map((x) => x.flags)).toEqual([SYN]);
    port.sched.runUntil(12 * MS);
    expect(port.sent.map((x) => x.flags)).toEqual([SYN, SYN]);
  });

  it('an RST answering the SYN: ECONNREFUSED reported as a typed error event, then unhashed', () => {
    const port = new TestPort();
    const s = new TcpSocket(port, 0, 0, 1);
    let err = '';
    s.onError = (e) => { err = e; };
    s.connect(REMOTE, 8080, { iss: 1000 });
    expect(s.receive(from(port.sent[0], RST | ACK, { seq: 0, ack: 1001 }))).toBe('done');
    expect(err).toBe('ECONNREFUSED');
    expect(port.events.find((e) => e.type === 'error')).toMatchObject({ error: 'ECONNREFUSED', cause: { kind: 'rst-answering-syn' } });
    expect(port.calls).toEqual(['connect', 'unhash']);
  });
});

describe('a socket inside a host', () => {
  function pair() {
    const { net, a, b } = twoHosts({ seed: 3 });
    const l = b.tcp.socket();
    l.bind(0, 8080);
    l.listen();
    l.onAccept = (c) => {
      c.onEof = () => c.close();
    };
    return { net, a, b };
  }

  it('the handle follows its TIME_WAIT minisocket: one ss line with its id, then CLOSE and onClosed once', () => {
    const { net, a } = pair();
    const c = a.tcp.socket({ uid: 1000 });
    let closed = 0;
    c.onClosed = () => closed++;
    c.onConnect = () => c.shutdown('wr');
    c.connect(REMOTE, 8080);
    net.runUntil(1 * SEC);
    expect(c.state).toBe(TcpState.TIME_WAIT);
    const ss = a.ss();
    expect(ss).toHaveLength(1);
    expect(ss[0]).toMatch(/^TIME-WAIT .* timer:\(timewait,(59|60|61)sec,0\) uid:1000$/); // the app still holds the fd: not orphaned
    c.close();
    expect(a.ss()[0]).toMatch(/uid:1000 orphan$/);
    net.runUntil(64 * SEC);
    expect(c.state).toBe(TcpState.CLOSE);
    expect(closed).toBe(1);
    expect(a.tcp.sockets.size).toBe(0);
  });

  it('a SYN to a TIME_WAIT socket with no listener is answered with an ACK (TW_SYN falls through to TW_ACK)', () => {
    const { net, a } = pair();
    const c = a.tcp.socket();
    c.onConnect = () => c.close(); // the client closes first: its side ends in TIME_WAIT
    c.connect(REMOTE, 8080);
    net.runUntil(1 * SEC);
    expect(c.state).toBe(TcpState.TIME_WAIT);
    const out: Uint8Array[] = [];
    const tap = a.onTap;
    a.onTap = (t) => {
      if (t.direction === 'outbound') out.push(t.bytes);
      tap?.(t);
    };
    const t0 = net.sim.now;
    a.receive('eth0', encodeSegment({ src: REMOTE, dst: LOCAL, srcPort: 8080, dstPort: c.localPort, seq: (c.rcvNxt + 1000) >>> 0, flags: SYN, window: 64240 }));
    expect(out.map((b) => parseIpv4Tcp(b).tcp).map((t) => [t.flags, t.seq, t.ack])).toEqual([[ACK, c.sndNxt, c.rcvNxt]]);
    expect(c.state).toBe(TcpState.TIME_WAIT);
    // The server has no socket for it and resets the ACK; that RST (seq = rcv_nxt) assassinates the TIME_WAIT socket.
    net.runUntil(t0 + 1 * MS);
    expect(net.timeline.filter((e) => e.timeNs >= t0 && e.host === 'client' && e.kind === 'socket').map((e) => e.text))
      .toEqual([expect.stringMatching(/: TIME_WAIT -> CLOSE \(RST in TIME_WAIT\)$/)]);
  });

  it('timeline events keep the typed fact behind their text', () => {
    const { net, a } = pair();
    const c = a.tcp.socket();
    c.connect(REMOTE, 8080);
    net.runUntil(10 * MS);
    const est = net.timeline.find((e) => e.tcp?.type === 'state' && e.tcp.to === TcpState.ESTABLISHED && e.host === 'client');
    expect(est?.text).toMatch(/: SYN_SENT -> ESTABLISHED \(SYN-ACK\)$/);
    expect(est?.tcp).toMatchObject({ type: 'state', from: TcpState.SYN_SENT, cause: { kind: 'syn-ack' }, sock: { localPort: c.localPort, remotePort: 8080 } });
  });
});
