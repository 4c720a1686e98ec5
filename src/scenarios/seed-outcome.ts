// The seed incidents' outcome (the fields of the README's tables and the matrix) read from a run of
// the shipped files by the scenario engine: typed TCP events of the pod (socket-outcomes.ts),
// the programs' facts and the packets. Knows the files' process and socket names (sidecar, app,
// first, second) and nothing else about them.
import type { ExecutedScenario } from './engine/execute.js';
import type { ScenarioOutcome } from './scenario-types.js';
import { connectOutcome, failedCalls, finReached, summariseCallErrors, synsSent, tcpEvents } from './socket-outcomes.js';
import { TcpState } from '../stack/tcp/tcp-state.js';
import { seqAfter } from '../wire/index.js';

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
  // The leaked socket's rcv_nxt (what a challenge ACK acknowledges, and the seq of the app's RST
  // answering it) against the reconnect's ISN decides check I on the affected kernels. The leaked
  // socket is the sidecar's downstream, still open (or in TIME_WAIT) when the reconnect went out;
  // its rcv_nxt is the app's first FIN's seq, one more when that FIN arrived.
  const first = run.sockets.find((s) => s.process === 'app' && s.label === 'first')?.socket;
  const held = downstream && stateAt(evs, downstream.id, sent.timeNs);
  if (first && held !== undefined && held !== TcpState.CLOSE) {
    // The first socket's FIN (sent, or refused by the output path and still queued) ends its data.
    const finSeq = first.finSeq >= 0 ? first.finSeq : first.sndNxt;
    const rcvNxt = (finSeq + (appFinReachedSidecar ? 1 : 0)) >>> 0;
    base.rstSeq = seqAfter(rcvNxt, last.iss) ? 'after-syn' : 'before-syn';
  }
  return base;
}


/** The state socket `id` was in just before `t` (its last state change before then), or undefined if it had none. */
function stateAt(evs: ReturnType<typeof tcpEvents>, id: number, t: number): number | undefined {
  let state: number | undefined;
  for (const { timeNs, e } of evs) {
    if (timeNs >= t) break; // what the reconnect itself caused (a TIME_WAIT taken over) comes at t
    if (e.type === 'state' && e.sock.id === id) state = e.to;
  }
  return state;
}
