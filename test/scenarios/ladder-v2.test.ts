// Ladder v2 from typed facts: the conntrack entry's life and expiry, socket states over time, the
// connect() outcome, raw seq/ack (the RST's seq equals the challenge ACK's ack), the legend.
import { describe, expect, it } from 'vitest';
import { ladderDiagram, ladderFor } from '../../src/scenarios/artifacts.js';
import { runIncident } from '../../src/scenarios/incidents.js';
import { DEFAULT_OPTIONS } from '../../src/scenarios/scenario-types.js';

const SEC = 1e9;

describe('ladder v2 of the port collision on sles-15-sp4 (reconnect at 200 s)', () => {
  const r = runIncident('port-collision', { ...DEFAULT_OPTIONS, kernel: 'sles-15-sp4', reconnectAtSec: 200 });
  const d = ladderDiagram(r);

  it('draws the REDIRECT entry from the SYN until conntrack\'s CLOSE_WAIT timeout deletes it', () => {
    const redirect = r.entries.find((e) => e.orig === '198.18.1.10:44410 > 198.18.1.20:8080' && e.openNs === 0)!;
    expect(redirect.states.map((s) => s.state)).toEqual(['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT']);
    expect(redirect.destroyReason).toBe('timeout');
    const closeWaitAt = redirect.states[4].timeNs;
    expect(redirect.closeNs! - closeWaitAt).toBe(60 * SEC); // nf_conntrack_tcp_timeout_close_wait
    const bars = d.bars!.filter((b) => b.track === `entry ${redirect.id}`);
    expect(bars.map((b) => b.label)).toEqual([`#${redirect.id} SYN_SENT`, 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT']);
    expect(bars.at(-1)).toMatchObject({ lane: 'ct', kind: 'entry', endNs: redirect.closeNs, endLabel: 'entry expired' });
  });

  it('draws the sockets\' states: the app in CLOSE_WAIT then LAST_ACK, the sidecar leaked in FIN_WAIT2', () => {
    const app = d.bars!.filter((b) => b.lane === 'app' && b.kind === 'socket' && b.startNs < 100 * SEC).map((b) => b.label);
    expect(app).toEqual(expect.arrayContaining(['ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK']));
    const leaked = d.bars!.find((b) => b.lane === 'down' && b.label === 'FIN_WAIT2')!;
    expect(leaked.startNs).toBeLessThan(1 * SEC);
    expect(leaked.endNs === null || leaked.endNs >= 3600 * SEC).toBe(true); // until Envoy's idle timeout
  });

  it('marks the outcome and keeps raw numbers, so the RST\'s seq visibly equals the challenge ACK\'s ack', () => {
    expect(d.markers).toContainEqual({ lane: 'app', timeNs: Math.round((r.outcome.reconnectElapsedSec! + r.outcome.connectSeconds!) * 1e9), text: 'connect(): ETIMEDOUT after 129.161 s', tone: 'bad' });
    const i = d.arrows.findIndex((a) => a.timeNs >= 200 * SEC && a.from === 'app' && a.flags === 'R');
    const challenge = d.arrows.slice(0, i).reverse().find((a) => a.to === 'app' && a.flags === '.')!;
    expect(d.arrows[i].seq).toBe(challenge.ack);
    expect(d.arrows[i].verdict).toBe('invalid');
    const svg = ladderFor(r);
    expect(svg).toContain(`R seq=${d.arrows[i].seq}`);
    expect(svg).toContain(`ack=${challenge.ack}`);
    for (const s of ['legend', 'entry expired', 'connect(): ETIMEDOUT after 129.161 s', 'FIN_WAIT2', 'TIME_WAIT']) expect(svg).toContain(s);
    // Relative numbers are still available; they hide the equality.
    expect(ladderFor(r, 'relative')).not.toContain(`R seq=${d.arrows[i].seq}`);
  });
});
