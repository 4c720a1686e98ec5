// Ladder v2 from typed facts, drawn for any run of the scenario engine: the conntrack entry's life
// and expiry, socket states over time per process, the connect() outcome, raw seq/ack (the RST's
// seq equals the challenge ACK's ack), the legend.
import { describe, expect, it } from 'vitest';
import { runLadderDiagram } from '../../src/scenarios/engine/ladder.js';
import { ladderSvg } from '../../src/scenarios/ladder-svg.js';
import { runSeed, seedTitle } from '../../src/scenarios/seed-run.js';

const SEC = 1e9;

describe('ladder v2 of the port collision on sles-15-sp4 (reconnect at 200 s)', () => {
  const r = runSeed('port-collision', { kernel: 'sles-15-sp4', reconnectAtSec: 200 });
  const run = r.executed.run;
  const d = runLadderDiagram(run, seedTitle(r));

  it('draws the REDIRECT entry from the SYN until conntrack\'s CLOSE_WAIT timeout deletes it', () => {
    const first = d.bars!.find((b) => b.kind === 'entry' && b.detail === '198.18.1.10:44410 > 198.18.1.20:8080' && b.startNs === 0)!;
    const bars = d.bars!.filter((b) => b.track === first.track);
    const id = first.track.replace('entry ', '');
    expect(bars.map((b) => b.label)).toEqual([`#${id} SYN_SENT`, 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT']);
    const last = bars.at(-1)!;
    expect(last).toMatchObject({ lane: 'ct', kind: 'entry', endLabel: 'entry expired' });
    expect(last.endNs! - last.startNs).toBe(60 * SEC); // nf_conntrack_tcp_timeout_close_wait
    const destroy = run.conntrack.find((e) => e.host === 'pod' && e.event.type === 'DESTROY' && String(e.event.id) === id)!;
    expect(destroy.event.destroyReason).toBe('timeout');
  });

  it('draws the sockets\' states: the app in CLOSE_WAIT then LAST_ACK, the sidecar leaked in FIN_WAIT2', () => {
    const app = d.bars!.filter((b) => b.lane === 'app' && b.kind === 'socket' && b.startNs < 100 * SEC).map((b) => b.label);
    expect(app).toEqual(expect.arrayContaining(['ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK']));
    const leaked = d.bars!.find((b) => b.lane === 'sidecar' && b.label === 'FIN_WAIT2')!;
    expect(leaked.startNs).toBeLessThan(1 * SEC);
    expect(leaked.endNs === null || leaked.endNs >= 3600 * SEC).toBe(true); // until Envoy's idle timeout
  });

  it('marks the outcome and keeps raw numbers, so the RST\'s seq visibly equals the challenge ACK\'s ack', () => {
    expect(r.outcome.connect).toBe('ETIMEDOUT');
    const text = `connect(): ETIMEDOUT after ${r.outcome.connectSeconds!.toFixed(3)} s`;
    expect(d.markers).toContainEqual(expect.objectContaining({ lane: 'app', text, tone: 'bad' }));
    const i = d.arrows.findIndex((a) => a.timeNs >= 200 * SEC && a.from === 'app' && a.flags === 'R');
    const challenge = d.arrows.slice(0, i).reverse().find((a) => a.to === 'app' && a.flags === '.')!;
    expect(d.arrows[i].seq).toBe(challenge.ack);
    expect(d.arrows[i].verdict).toBe('invalid');
    const svg = ladderSvg(d);
    expect(svg).toContain(`R seq=${d.arrows[i].seq}`);
    expect(svg).toContain(`ack=${challenge.ack}`);
    for (const s of ['legend', 'entry expired', text, 'FIN_WAIT2', 'TIME_WAIT']) expect(svg).toContain(s);
    // Relative numbers are still available; they hide the equality.
    expect(ladderSvg(runLadderDiagram(run, seedTitle(r), 'relative'))).not.toContain(`R seq=${d.arrows[i].seq}`);
  });
});
