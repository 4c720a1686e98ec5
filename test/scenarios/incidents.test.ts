// The seed incidents end to end, per kernel profile: packet sequences at the capture points, the
// connect outcome and its time in RTO steps, which sockets exist when, conntrack events.
import { describe, expect, it } from 'vitest';
import { runIncident } from '../../src/scenarios/incidents.js';
import { DEFAULT_OPTIONS, type ScenarioOptions, type ScenarioResult } from '../../src/scenarios/scenario-types.js';

const run = (name: 'half-close-leak' | 'port-collision', o: Partial<ScenarioOptions>) => runIncident(name, { ...DEFAULT_OPTIONS, ...o });
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
    // Envoy's idle timer is re-armed by bytes, not by the FINs: it fires 1 h after the last data (0.0004 s).
    expect(r.outcome).toMatchObject({ appFinReachedSidecar: false, sidecarClosedAtSec: 3600.0004, leakSeconds: 3510.0004 });
    const after = r.snapshots.find((x) => /after the app closed/.test(x.label))!;
    expect(after.ss.filter((l) => /uid:1337/.test(l) && !/LISTEN/.test(l))).toHaveLength(2);
    expect(r.timeline.some((e) => /127\.0\.0\.1:15001 <-> 198\.18\.1\.10:44410 .*FIN_WAIT2 -> CLOSE \(tcp_fin_timeout expired\)/.test(e.text) && t(e.timeNs) === 3660.0004)).toBe(true);
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
  it('sles-15-sp4: challenge ACK, RST INVALID (not NATed, leaves on eth0) at every SYN, connect() ETIMEDOUT after 126.008 s', () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4' });
    expect(r.outcome).toMatchObject({ connect: 'ETIMEDOUT', connectSeconds: 126.008, synsSent: 7 });
    const pk = appPackets(r, 120);
    // SYNs: 0, then the v5.6+ early resend after 2 jiffies, then 2, 4, 8, 16, 32 s backoff
    expect(pk.filter((p) => p.flags === 'S').map((p) => p.t)).toEqual([120, 120.008, 122.008, 126.008, 134.008, 150.008, 182.008]);
    const rsts = pk.filter((p) => p.flags === 'R');
    expect(rsts.map((p) => p.t)).toEqual([120, 122.008, 126.008, 134.008, 150.008, 182.008]);
    for (const p of rsts) {
      expect(p.iface).toBe('eth0'); // un-NATed: towards the real upstream, never to the sidecar
      expect(p.ct).toBe('ct INVALID [SEQ is over the upper bound (over the window of the receiver)]');
    }
    // the SYN resent 8 ms later gets no challenge ACK: tcp_invalid_ratelimit
    expect(r.timeline.some((e) => t(e.timeNs) === 120.008 && /suppressed \(tcp_invalid_ratelimit\)/.test(e.text))).toBe(true);
    expect(r.outcome.sidecarClosedAtSec).toBeCloseTo(3600.0004, 4);
  });

  it('sles-15-sp4 with INVALID drop: the same timeout (the app RST is on OUTPUT, the drop rule on PREROUTING), more drops', () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4', invalidDrop: true });
    expect(r.outcome.connect).toBe('ETIMEDOUT');
    expect(r.outcome.droppedPackets).toBeGreaterThan(0);
  });

  it('sles-15-sp4: ignore_invalid_rst=1 does not help, be_liberal=1 does, and so does the other sequence half', () => {
    expect(run('port-collision', { kernel: 'sles-15-sp4', sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] }).outcome.connect).toBe('ETIMEDOUT');
    expect(run('port-collision', { kernel: 'sles-15-sp4', sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] }).outcome).toMatchObject({ connect: 'connected', connectSeconds: 0.008 });
    expect(run('port-collision', { kernel: 'sles-15-sp4', isn: 'before' }).outcome).toMatchObject({ connect: 'connected', connectSeconds: 0.008 });
  });

  it('6.1.8 times out, 6.1.9 ("handle tcp challenge acks during connection reuse") connects after the 8 ms early resend', () => {
    expect(run('port-collision', { kernel: '6.1.8' }).outcome.connect).toBe('ETIMEDOUT');
    const ok = run('port-collision', { kernel: '6.1.9' });
    expect(ok.outcome).toMatchObject({ connect: 'connected', connectSeconds: 0.008, synsSent: 2 });
    const rst = appPackets(ok, 120).find((p) => p.flags === 'R')!;
    expect(rst.iface).toBe('lo'); // NATed to the sidecar, where it resets the leaked socket
    expect(ok.timeline.some((e) => /127\.0\.0\.1:15001 <-> 198\.18\.1\.10:44410: ECONNRESET/.test(e.text))).toBe(true);
  });

  it('ubuntu-20.04 (5.4: the RST re-seeds the window and passes; no early resend): connected after the 1 s RTO', () => {
    expect(run('port-collision', { kernel: 'ubuntu-20.04' }).outcome).toMatchObject({ connect: 'connected', connectSeconds: 1, synsSent: 2 });
  });

  it("the ephemeral-port variant: Linux's port choice eventually collides", () => {
    const r = run('port-collision', { kernel: 'sles-15-sp4', portChoice: 'ephemeral' });
    expect(r.outcome.attempts).toBeGreaterThan(1);
    expect(r.outcome.connect).toBe('ETIMEDOUT');
  });
});
