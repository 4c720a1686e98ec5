// The seed incidents end to end, per kernel profile, from their shipped files
// (scenarios/half-close-leak.yaml, port-collision.yaml) with the seed knobs as overrides: packet
// sequences at the capture points, the connect outcome and its time in RTO steps, which sockets
// exist when, conntrack events.
import { describe, expect, it } from 'vitest';
import type { SeedKnobs, SeedName } from '../../src/scenarios/seed-knobs.js';
import { runSeed } from '../../src/scenarios/seed-run.js';

function run(name: SeedName, knobs: SeedKnobs) {
  const r = runSeed(name, knobs);
  const x = r.executed.run;
  return { outcome: r.outcome, timeline: x.timeline, packets: x.packets, snapshots: x.snapshots, reconnectAtSec: knobs.reconnectAtSec ?? 120 };
}
type ScenarioResult = ReturnType<typeof run>;
const t = (ns: number) => Number((ns / 1e9).toFixed(6));

/** The app's packets (SYNs and RSTs) on the pod as they leave, after the reconnect. */
function appPackets(r: ScenarioResult, fromSec: number) {
  return r.packets.filter((p) => p.timeNs >= fromSec * 1e9 && p.src === '198.18.1.10:44410' && p.host === 'pod').map((p) => ({ t: t(p.timeNs), iface: p.iface, flags: p.flags, ct: p.notes.find((n) => n.startsWith('ct ')) ?? '' }));
}

describe('half-close-leak', () => {
  const r = run('half-close-leak', { kernel: 'sles-15-sp4' });

  it('the sidecar forwards the upstream FIN with shutdown(SHUT_WR): FIN_WAIT2 with no timer, app CLOSE_WAIT', () => {
    const s = r.snapshots.find((x) => /t=1 s/.test(x.label))!;
    expect(s.ss.join('\n')).toMatch(/pod +FIN-WAIT-2 .* 127\.0\.0\.1:15001 +198\.18\.1\.10:44410 +uid:1337$/m);
    expect(s.ss.join('\n')).toMatch(/pod +CLOSE-WAIT .* 198\.18\.1\.10:44410 +198\.18\.1\.20:8080 +uid:1000$/m);
    expect(s.conntrack.join('\n')).toMatch(/CLOSE_WAIT src=198\.18\.1\.10 dst=198\.18\.1\.20 sport=44410 dport=8080 src=127\.0\.0\.1 dst=198\.18\.1\.10 sport=15001 dport=44410 \[ASSURED\]/);
  });

  it("conntrack's CLOSE_WAIT timeout deletes the REDIRECT entry 60 s after the app's ACK of the FIN", () => {
    const d = r.timeline.find((e) => e.host === 'pod' && /\[DESTROY\].*sport=44410 dport=8080 src=127\.0\.0\.1/.test(e.text))!;
    expect(d.text).toMatch(/\(timeout\)$/);
    const ack = r.timeline.find((e) => e.host === 'pod' && /CLOSE_WAIT src=198\.18\.1\.10 dst=198\.18\.1\.20 sport=44410/.test(e.text))!;
    expect(t(d.timeNs - ack.timeNs)).toBe(60);
  });

  it("the app's late FIN matches no entry: INVALID, not redirected, leaves on eth0 to the real upstream, which resets it", () => {
    const fin = r.packets.find((p) => p.timeNs === 90e9 && p.flags === 'F.')!;
    expect(fin.iface).toBe('eth0');
    expect(fin.dst).toBe('198.18.1.20:8080');
    expect(fin.notes.join(' ')).toMatch(/ct INVALID \[invalid new: a FIN cannot start an entry\]/);
    expect(r.timeline.some((e) => e.host === 'upstream' && /reset 198\.18\.1\.20:8080 -> 198\.18\.1\.10:44410/.test(e.text))).toBe(true);
  });

  it('the two sidecar sockets leak until the idle timeout (1 h), then the orphaned FIN_WAIT2 lives 60 s more', () => {
    // Envoy's idle timer is re-armed by bytes, not by the FINs: it fires 1 h after the last data (0.00043 s).
    expect(r.outcome).toMatchObject({ appFinReachedSidecar: false, sidecarClosedAtSec: 3600.00043, leakSeconds: 3510.00043 });
    const after = r.snapshots.find((x) => /t=95 s/.test(x.label))!;
    expect(after.ss.filter((l) => /uid:1337/.test(l) && !/LISTEN/.test(l))).toHaveLength(2);
    // tcp_fin_timeout (60 s = 15000 jiffies) on the timer wheel's level 3: 60-62.05 s after the close.
    const gone = r.timeline.find((e) => e.tcp?.type === 'state' && e.tcp.sock.localPort === 15001 && e.tcp.sock.remotePort === 44410 && e.tcp.cause.kind === 'fin-timeout')!;
    expect(t(gone.timeNs)).toBeGreaterThan(3660.0004);
    expect(t(gone.timeNs)).toBeLessThanOrEqual(3662.0484);
  });

  it('mitigation: a CLOSE_WAIT timeout above the idle timeout keeps the entry: the FIN reaches the sidecar', () => {
    expect(run('half-close-leak', { kernel: 'sles-15-sp4', sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700'] }).outcome)
      .toMatchObject({ appFinReachedSidecar: true, leakSeconds: 0, invalidPackets: 0 });
  });

  it('mitigation: a shorter idle timeout shortens the leak', () => {
    const short = run('half-close-leak', { kernel: 'sles-15-sp4', idleTimeoutSec: 120 }).outcome;
    expect(short.sidecarClosedAtSec).toBeCloseTo(120.0004, 4);
    expect(short.leakSeconds).toBeCloseTo(30.0004, 4);
  });
});

describe('port-collision', () => {
  const synTimes = (r: ScenarioResult) => appPackets(r, r.reconnectAtSec).filter((p) => p.flags === 'S').map((p) => p.t);

  // secure_tcp_seq(): same 4-tuple, ISN = hash + clock/64 ns. A reconnect 120 s after the first
  // connect() gets an ISN 120 s / 64 ns after the old one (within 2^31 steps: "after" the old
  // sequence space), so the app's RST (seq = the leaked socket's rcv_nxt) lies before the new SYN.
  it('sles-15-sp4, reconnect at 120 s: the clock puts the ISN after the old connection, the RST passes, connected after the early resend', () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4' });
    expect(r.outcome).toMatchObject({ connect: 'connected', synsSent: 2, rstSeq: 'before-syn', callErrors: null, connectAttempts: 1 });
    expect(r.outcome.reconnectElapsedSec).toBe(120);
    // TCP_TIMEOUT_MIN (2 jiffies) on the timer wheel: 8-12 ms at HZ=250
    expect(r.outcome.connectSeconds).toBeGreaterThan(0.008);
    expect(r.outcome.connectSeconds).toBeLessThan(0.0125);
  });

  it('sles-15-sp4, reconnect at 200 s (137.4-274.9 s later: ISN before the old space): challenge ACK, RST INVALID at every SYN, ETIMEDOUT', () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200 });
    expect(r.outcome).toMatchObject({ connect: 'ETIMEDOUT', synsSent: 7, rstSeq: 'after-syn' });
    const syns = synTimes(r).map((x) => x - 200);
    // 0, the v5.6+ early resend (2 jiffies), then RTOs of 2, 4, 8, 16, 32 s (the early resend doubled
    // the 1 s RTO), each rounded up to its timer-wheel granule.
    expect(syns[0]).toBe(0);
    expect(syns[1]).toBeGreaterThan(0.008);
    expect(syns[1]).toBeLessThanOrEqual(0.012);
    const gaps = syns.slice(1).map((x, i) => x - syns[i]).slice(1);
    [2, 4, 8, 16, 32].forEach((g, i) => {
      expect(gaps[i]).toBeGreaterThan(g);
      expect(gaps[i]).toBeLessThanOrEqual(g + (g < 2.016 ? 0.032 : g < 16.128 ? 0.256 : 2.048));
    });
    const rsts = appPackets(r, 200).filter((p) => p.flags === 'R');
    expect(rsts).toHaveLength(6);
    for (const p of rsts) {
      expect(p.iface).toBe('eth0'); // un-NATed: towards the real upstream, never to the sidecar
      expect(p.ct).toBe('ct INVALID [SEQ is over the upper bound (over the window of the receiver)]');
    }
    // the SYN resent 8-12 ms later gets no challenge ACK: tcp_invalid_ratelimit
    expect(r.timeline.some((e) => e.tcp?.type === 'challenge-ack' && e.tcp.suppressedBy === 'tcp_invalid_ratelimit')).toBe(true);
    expect(r.outcome.connectSeconds).toBeGreaterThan(127);
    expect(r.outcome.connectSeconds).toBeLessThan(131);
  });

  it('the ISN cycle is 2^32 x 64 ns = 274.9 s: at 280 s the RST lies before the SYN again', () => {
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 136 }).outcome.rstSeq).toBe('before-syn');
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 139 }).outcome.rstSeq).toBe('after-syn');
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 274 }).outcome.rstSeq).toBe('after-syn');
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 280 }).outcome.rstSeq).toBe('before-syn');
  });

  it("INVALID drop in mangle PREROUTING (Istio's): the upstream's RST to the late FIN is dropped, the app's socket stays in LAST_ACK owning the 4-tuple: EADDRNOTAVAIL on all 20 attempts, no SYN", () => {
    const r = run('port-collision', { kernel: '6.18', invalidDrop: 'mangle-prerouting' });
    expect(r.outcome).toMatchObject({ connect: 'EADDRNOTAVAIL', synsSent: 0, connectAttempts: 20 });
    expect(r.outcome.callErrors).toMatchObject({ errno: 'EADDRNOTAVAIL', call: 'connect', attempts: 20, firstAtSec: 120, lastAtSec: 139, holderState: 9 /* LAST_ACK */ });
    expect(appPackets(r, 120).filter((p) => p.flags === 'S')).toHaveLength(0);
    expect(r.outcome.droppedPackets).toBeGreaterThan(0);
  });

  it('INVALID drop in mangle PREROUTING, reconnect at 200 s: the LAST_ACK socket gave up (about 107 s after the close), the reconnect goes out', () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4', invalidDrop: 'mangle-prerouting', reconnectAtSec: 200 });
    expect(r.outcome).toMatchObject({ connect: 'ETIMEDOUT', callErrors: null, rstSeq: 'after-syn' });
  });

  it('INVALID drop in filter OUTPUT: the late FIN itself is dropped before it leaves (the socket keeps it queued, zero-window probes), EADDRNOTAVAIL too', () => {
    const r = run('port-collision', { kernel: '6.18', invalidDrop: 'filter-output' });
    expect(r.outcome).toMatchObject({ connect: 'EADDRNOTAVAIL', synsSent: 0 });
    expect(r.packets.filter((p) => p.src === '198.18.1.10:44410' && p.flags.includes('F'))).toHaveLength(0);
    expect(r.snapshots.find((x) => /t=95 s/.test(x.label))!.ss.join('\n')).toMatch(/LAST-ACK .*198\.18\.1\.10:44410 +198\.18\.1\.20:8080 +timer:\(persist,/);
  });

  it('sles-15-sp4: ignore_invalid_rst=1 does not help, be_liberal=1 does (reconnect at 200 s)', () => {
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] }).outcome.connect).toBe('ETIMEDOUT');
    expect(run('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] }).outcome).toMatchObject({ connect: 'connected', synsSent: 2 });
  });

  it('6.1.8 times out at 200 s, 6.1.9 ("handle tcp challenge acks during connection reuse") connects after the early resend', () => {
    expect(run('port-collision', { kernel: '6.1.8', reconnectAtSec: 200 }).outcome.connect).toBe('ETIMEDOUT');
    const ok = run('port-collision', { kernel: '6.1.9', reconnectAtSec: 200 });
    expect(ok.outcome).toMatchObject({ connect: 'connected', synsSent: 2 });
    const rst = appPackets(ok, 200).find((p) => p.flags === 'R')!;
    expect(rst.iface).toBe('lo'); // NATed to the sidecar, where it resets the leaked socket
    expect(ok.timeline.some((e) => e.tcp?.type === 'error' && e.tcp.error === 'ECONNRESET' && e.tcp.sock.localPort === 15001)).toBe(true);
  });

  it('ubuntu-20.04 (5.4: the RST re-seeds the window and passes; no early resend): connected after the 1 s RTO', () => {
    const o = run('port-collision', { kernel: 'ubuntu-20.04', reconnectAtSec: 200 }).outcome;
    expect(o).toMatchObject({ connect: 'connected', synsSent: 2 });
    expect(o.connectSeconds).toBeGreaterThan(1);
    expect(o.connectSeconds).toBeLessThan(1.033);
  });
});
