// The TIME_WAIT minisocket on its own, driven through a test port (no stack, no host): its
// answers follow tcp_timewait_state_process() in both substates.
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { KernelClock } from '../../src/stack/kernel-clock.js';
import type { SegIn } from '../../src/stack/tcp/tcp-segment-in.js';
import type { SegmentOut } from '../../src/stack/tcp/tcp-segment-out.js';
import { formatTcpEvent, type TcpEvent } from '../../src/stack/tcp/tcp-events.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';
import { defaultTcpSysctls } from '../../src/stack/tcp/tcp-sysctls.js';
import { TCP_TIMEWAIT_LEN, TimeWaitSock, type TimeWaitInit, type TimeWaitPort } from '../../src/stack/tcp/tcp-timewait.js';
import { resolveKernel } from '../../src/conntrack/kernel-profile.js';
import { TcpFlag, ip } from '../../src/wire/index.js';

const { SYN, ACK, FIN, RST } = TcpFlag;
const SEC = 1e9;
const MS = 1e6;
const LOCAL = ip('198.18.0.1');
const REMOTE = ip('198.18.0.2');
const RCV_NXT = 5001;
const SND_NXT = 9001;

class TestPort implements TimeWaitPort {
  readonly sched = new Simulator(1);
  readonly clock = KernelClock.seeded(this.sched);
  readonly sysctls = defaultTcpSysctls(resolveKernel('6.18'));
  readonly sent: SegmentOut[] = [];
  readonly events: TcpEvent[] = [];
  released = 0;
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
  releaseTimeWait(): void {
    this.released++;
  }
}

/** TCP_TIMEWAIT_LEN in jiffies at HZ=250. */
const TW_LEN_J = TCP_TIMEWAIT_LEN * 250;
/** The timer wheel fires a 60 s (15000-jiffy) timer up to one 512-jiffy granule late. */
const LEVEL3_GRANULE = 512 * 4 * MS;

function tw(substate: number = TcpState.TIME_WAIT, timeoutJiffies = TW_LEN_J) {
  const port = new TestPort();
  const init: TimeWaitInit = {
    id: 7, uid: 1337, gid: 1337, ipId: 100, localAddr: LOCAL, localPort: 15001, remoteAddr: REMOTE, remotePort: 44410,
    reuseAddr: false, reusePort: false, boundByBind: false, orphan: true, rcvNxt: RCV_NXT, sndNxt: SND_NXT, rcvWscale: 7, tsOn: false, tsRecent: 0, tsRecentStamp: 0, tsRecentStampMs: 0, tsOffset: 0, lastOowAck: -1,
  };
  return { port, sock: new TimeWaitSock(port, init, substate, timeoutJiffies) };
}

function seg(seq: number, flags: number, o: { ack?: number; len?: number } = {}): SegIn {
  const len = o.len ?? 0;
  return {
    src: REMOTE, dst: LOCAL, sport: 44410, dport: 15001, seq: seq >>> 0, ack: (o.ack ?? SND_NXT) >>> 0, flags, window: 502, len, payload: new Uint8Array(len),
    mss: -1, wscale: -1, sackOk: false, hasTs: false, tsval: 0, tsecr: 0,
  };
}

const texts = (p: TestPort) => p.events.map(formatTcpEvent);

describe('TIME_WAIT minisocket, substate TIME_WAIT', () => {
  it('expires after TCP_TIMEWAIT_LEN with one event and frees its tuple', () => {
    const { port, sock } = tw();
    // Never early: not at 60 s; on the wheel's level 3 at most one 2.048 s granule late.
    port.sched.runUntil(60 * SEC);
    expect(sock.state).toBe(TcpState.TIME_WAIT);
    port.sched.runUntil(60 * SEC + LEVEL3_GRANULE);
    expect(sock.state).toBe(TcpState.CLOSE);
    expect(port.released).toBe(1);
    expect(texts(port)).toEqual(['socket 198.18.0.1:15001 <-> 198.18.0.2:44410 (uid 1337): TIME_WAIT -> CLOSE (TIME_WAIT expired)']);
  });

  it('a retransmitted FIN is ACKed every time (it carries a FIN: no rate limit) and re-arms the timer', () => {
    const { port, sock } = tw();
    port.sched.runUntil(30 * SEC);
    expect(sock.receive(seg(RCV_NXT - 1, FIN | ACK))).toEqual({ action: 'done' });
    port.sched.runUntil(30 * SEC + 100 * MS);
    sock.receive(seg(RCV_NXT - 1, FIN | ACK));
    expect(port.sent.map((s) => [s.flags, s.seq, s.ack])).toEqual([[ACK, SND_NXT, RCV_NXT], [ACK, SND_NXT, RCV_NXT]]);
    expect(port.sent[0].window).toBe(64256 >>> 7);
    port.sched.runUntil(90.1 * SEC);
    expect(sock.state).toBe(TcpState.TIME_WAIT); // re-armed at 30.1 s: lives 60 s more, on the wheel
    port.sched.runUntil(90.1 * SEC + LEVEL3_GRANULE);
    expect(sock.state).toBe(TcpState.CLOSE);
  });

  it('a bare ACK at rcv_nxt re-arms silently; an old pure ACK gets one rate-limited ACK', () => {
    const { port, sock } = tw();
    port.sched.runUntil(50 * SEC);
    sock.receive(seg(RCV_NXT, ACK));
    expect(port.sent).toHaveLength(0);
    sock.receive(seg(RCV_NXT - 100, ACK));
    sock.receive(seg(RCV_NXT - 100, ACK));
    expect(port.sent).toHaveLength(1); // tcp_invalid_ratelimit (500 ms)
    port.sched.runUntil(110 * SEC);
    expect(sock.state).toBe(TcpState.TIME_WAIT);
  });

  it('an RST at rcv_nxt kills it (tcp_rfc1337=0); one elsewhere is ignored', () => {
    const { port, sock } = tw();
    sock.receive(seg(RCV_NXT + 10, RST));
    expect(sock.state).toBe(TcpState.TIME_WAIT);
    expect(port.sent).toHaveLength(0);
    sock.receive(seg(RCV_NXT, RST));
    expect(sock.state).toBe(TcpState.CLOSE);
    expect(texts(port).at(-1)).toMatch(/TIME_WAIT -> CLOSE \(RST in TIME_WAIT\)$/);
  });

  it('a SYN after rcv_nxt asks for the listener with ISN snd_nxt + 65537 (TW_SYN); one at or before rcv_nxt is ACKed', () => {
    const { port, sock } = tw();
    expect(sock.receive(seg(RCV_NXT + 1000, SYN, { ack: 0 }))).toEqual({ action: 'syn', isn: SND_NXT + 65537 });
    expect(sock.receive(seg(RCV_NXT, SYN, { ack: 0 }))).toEqual({ action: 'done' });
    expect(port.sent).toHaveLength(1);
    expect(sock.state).toBe(TcpState.TIME_WAIT); // the caller kills it when a listener takes the SYN
  });

  it('the TW_SYN ISN skips 0 when snd_nxt + 65537 wraps to it', () => {
    const port = new TestPort();
    const init = { id: 1, uid: 0, gid: 0, ipId: 0, localAddr: LOCAL, localPort: 80, remoteAddr: REMOTE, remotePort: 44410, reuseAddr: false, reusePort: false, boundByBind: false, orphan: true,
      rcvNxt: 10, sndNxt: (2 ** 32 - 65537) >>> 0, rcvWscale: 0, tsOn: false, tsRecent: 0, tsRecentStamp: 0, tsRecentStampMs: 0, tsOffset: 0, lastOowAck: -1 };
    const sock = new TimeWaitSock(port, init, TcpState.TIME_WAIT, TW_LEN_J);
    expect(sock.receive({ ...seg(20, SYN, { ack: 0 }), dport: 80 })).toEqual({ action: 'syn', isn: 1 });
  });
});

describe('TIME_WAIT minisocket, substate FIN_WAIT2 (orphaned, tcp_fin_timeout)', () => {
  it('the peer\'s FIN: ACK, then true TIME_WAIT for TCP_TIMEWAIT_LEN', () => {
    const { port, sock } = tw(TcpState.FIN_WAIT2, 60 * 250);
    port.sched.runUntil(10 * SEC);
    expect(sock.receive(seg(RCV_NXT, FIN | ACK))).toEqual({ action: 'done' });
    expect(port.sent.map((s) => [s.flags, s.ack])).toEqual([[ACK, RCV_NXT + 1]]);
    expect(sock.state).toBe(TcpState.TIME_WAIT);
    expect(texts(port)).toEqual(['socket 198.18.0.1:15001 <-> 198.18.0.2:44410 (uid 1337): FIN_WAIT2 -> TIME_WAIT']);
    port.sched.runUntil(70 * SEC);
    expect(sock.state).toBe(TcpState.TIME_WAIT);
    port.sched.runUntil(70 * SEC + LEVEL3_GRANULE);
    expect(texts(port).at(-1)).toMatch(/TIME_WAIT -> CLOSE \(TIME_WAIT expired\)$/);
  });

  it('expires after tcp_fin_timeout without the FIN', () => {
    // 5 s = 1250 jiffies: level 2, 64-jiffy (256 ms) granules.
    const { port, sock } = tw(TcpState.FIN_WAIT2, 5 * 250);
    port.sched.runUntil(5 * SEC);
    expect(sock.state).toBe(TcpState.FIN_WAIT2);
    port.sched.runUntil(5.256 * SEC);
    expect(sock.state).toBe(TcpState.CLOSE);
    expect(texts(port)).toEqual(['socket 198.18.0.1:15001 <-> 198.18.0.2:44410 (uid 1337): FIN_WAIT2 -> CLOSE (tcp_fin_timeout expired)']);
  });

  it('any in-window RST kills it; an out-of-window one is answered with an ACK', () => {
    const a = tw(TcpState.FIN_WAIT2);
    a.sock.receive(seg(RCV_NXT + 3000, RST));
    expect(a.sock.state).toBe(TcpState.CLOSE);
    const b = tw(TcpState.FIN_WAIT2);
    b.sock.receive(seg(RCV_NXT - 3000, RST));
    expect(b.sock.state).toBe(TcpState.FIN_WAIT2);
    expect(b.port.sent.map((s) => s.flags)).toEqual([ACK]);
  });

  it('a SYN or new data gets a reset (TW_RST) and the minisocket dies; a duplicate ACK changes nothing', () => {
    const a = tw(TcpState.FIN_WAIT2);
    expect(a.sock.receive(seg(RCV_NXT + 5, SYN, { ack: 0 }))).toEqual({ action: 'reset', kill: { kind: 'syn-orphan-fin-wait2' } });
    const b = tw(TcpState.FIN_WAIT2);
    expect(b.sock.receive(seg(RCV_NXT, ACK, { len: 10 }))).toEqual({ action: 'reset', kill: { kind: 'data-orphan-fin-wait2' } });
    const c = tw(TcpState.FIN_WAIT2);
    expect(c.sock.receive(seg(RCV_NXT, ACK))).toEqual({ action: 'done' });
    expect(c.port.sent).toHaveLength(0);
    expect(c.sock.state).toBe(TcpState.FIN_WAIT2);
  });
});
