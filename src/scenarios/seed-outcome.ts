// The seed incidents' outcome (the fields of the README's tables and the matrix) read from a run of
// the shipped files by the scenario engine: typed TCP events of the pod (socket-outcomes.ts),
// the programs' facts and the packets. Knows the files' process and socket names (sidecar, app,
// first, second) and nothing else about them.
import type { ExecutedScenario } from './engine/execute.js';
import type { ScenarioOutcome } from './scenario-types.js';
import { connectOutcome, failedCalls, finReached, summariseCallErrors, synsSent, tcpEvents } from './socket-outcomes.js';
import { formatIpv4Address, seqAfter } from '../wire/index.js';

const SEC = 1e9;

export function seedOutcome(x: ExecutedScenario): ScenarioOutcome {
  const { run, outcome } = x;
  const evs = tcpEvents(run.timeline, 'pod');
  const app = run.spec.processes.find((p) => p.name === 'app');
  const appUid = app?.uid ?? 1000;
  const downstream = run.sockets.find((s) => s.process === 'sidecar' && s.label === 'C1 downstream')?.socket;
  const appFinReachedSidecar = !!downstream && finReached(evs, downstream.id);
  const closedAtNs = outcome.proxies.sidecar?.find((c) => c.conn === 1)?.closedAtNs ?? null;
  const sidecarClosedAtSec = closedAtNs !== null ? closedAtNs / SEC : null;
  const closeCall = run.program.find((e) => e.process === 'app' && e.ev === 'call' && e.call === 'close' && e.socket === 'first');
  const leakSeconds = !appFinReachedSidecar && closedAtNs !== null && closeCall ? Math.max(0, (closedAtNs - closeCall.t) / SEC) : 0;
  const pod = run.counters.pod;

  const base: ScenarioOutcome = {
    appFinReachedSidecar, leakSeconds, sidecarClosedAtSec, connect: null, connectSeconds: null, synsSent: 0, callErrors: null, connectAttempts: 0,
    rstSeq: null, reconnectElapsedSec: null, invalidPackets: pod?.invalid ?? 0, droppedPackets: Object.values(pod?.dropped ?? {}).reduce((a, b) => a + b, 0),
    port: null, ephemeralConnects: 0,
  };
  // The reconnect: every socket the app named "second" (a new one per try).
  const tries = run.sockets.filter((s) => s.process === 'app' && s.label === 'second').map((s) => s.socket);
  if (!tries.length) return base;
  const ids = new Set(tries.map((s) => s.id));
  const last = tries.at(-1)!;
  base.port = run.sockets.find((s) => s.process === 'app' && s.label === 'first')?.socket.localPort ?? null;
  base.callErrors = summariseCallErrors(failedCalls(evs, appUid).filter((f) => ids.has(f.sockId)));
  base.connectAttempts = tries.length;
  const sent = evs.find(({ e }) => e.type === 'call' && e.call === 'connect' && e.sock.id === last.id && e.result.errno === null);
  if (!sent) {
    base.connect = base.callErrors?.errno ?? 'pending';
    return base;
  }
  const r = connectOutcome(evs, last.id);
  base.connect = r.result;
  base.connectSeconds = r.atNs !== null ? (r.atNs - sent.timeNs) / SEC : null;
  base.synsSent = synsSent(evs, last.id);
  base.reconnectElapsedSec = sent.timeNs / SEC;
  // The RST the app's SYN_SENT socket answers a challenge ACK with carries the leaked socket's
  // rcv_nxt: where it lies relative to the SYN's seq decides check I on the affected kernels.
  const local = `${formatIpv4Address(last.localAddr >>> 0)}:${last.localPort}`;
  const syn = run.packets.find((p) => p.host === 'pod' && p.src === local && p.flags === 'S' && p.timeNs >= sent.timeNs);
  const rst = syn && run.packets.find((p) => p.host === 'pod' && p.src === local && p.flags.includes('R') && p.timeNs >= syn.timeNs);
  if (syn && rst) base.rstSeq = seqAfter(rst.seq, syn.seq) ? 'after-syn' : 'before-syn';
  return base;
}

