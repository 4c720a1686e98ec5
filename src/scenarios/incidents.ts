// The two seed incidents as timelines on the Istio pod topology.
//  half-close-leak: the app connects to upstream:8080 through the sidecar; the upstream answers
//    and half-closes; the sidecar forwards the FIN with shutdown(SHUT_WR) (its downstream socket
//    waits in FIN_WAIT2, no timer); conntrack's CLOSE_WAIT timeout (60 s) deletes the REDIRECT
//    entry; the app closes at 90 s and its FIN, matching no entry, is not redirected; the sidecar's
//    two sockets leak until the idle timeout.
//  port-collision: the same, then the app connects again from the same port, retrying (as an
//    application does) while bind()/connect() fail at once; a SYN that goes out lands on the
//    leaked FIN_WAIT2 socket, which sends an RFC 5961 challenge ACK; what conntrack does with the
//    app's RST decides whether connect() succeeds.
// Every step is an event at its own time on the simulator: the close, the reconnect and the
// snapshots impose no order on one another. Outcomes are read from typed events (socket-outcomes.ts).
import { MemorySink } from '../pcap/index.js';
import type { Host } from '../stack/host.js';
import { SEC } from '../stack/scheduler.js';
import { TcpState } from '../stack/tcp/tcp-state.js';
import { PacketView, formatIpv4Address, seqAfter } from '../wire/index.js';
import { tcpStateName, type ConntrackEvent } from '../conntrack/index.js';
import type { ClientConnection } from './apps.js';
import { buildIstioPod, UPSTREAM_PORT } from './istio-pod.js';
import { ladderPacket } from './ladder-packet.js';
import type { EntryLife, LadderPacket, ScenarioName, ScenarioOptions, ScenarioResult, Snapshot } from './scenario-types.js';
import { connectOutcome, failedCalls, finReached, summariseCallErrors, synsSent, tcpEvents } from './socket-outcomes.js';

const APP_PORT = 44410;
const APP_UID = 1000;
const EPHEMERAL_LOW = 44400;
const REQUEST = new Uint8Array(100).fill(0x41);
/** How long the run goes on after the reconnect's last attempt (a SYN timeout is about 131 s). */
const AFTER_RECONNECT = 200 * SEC;

export function runIncident(name: ScenarioName, o: ScenarioOptions): ScenarioResult {
  // Linux cycles through the whole ephemeral range (~14,000 connects per parity) before it picks
  // a port again; the ephemeral variant narrows net.ipv4.ip_local_port_range (unless set) so the
  // collision comes within tens of connects.
  const narrow = o.portChoice === 'ephemeral' && !o.sysctls.some((x) => /ip_local_port_range/.test(x));
  const sysctls = narrow ? [...o.sysctls, `net.ipv4.ip_local_port_range=${EPHEMERAL_LOW} ${EPHEMERAL_LOW + 31}`] : o.sysctls;
  const topo = buildIstioPod({ kernel: o.kernel, sysctls, invalidDrop: o.invalidDrop, idleTimeoutSec: o.idleTimeoutSec, seed: o.seed, hz: o.hz });
  const { net, pod, upstream, sidecar, app, upstreamAddr } = topo;
  const sim = net.sim;
  topo.server.o.closeAfterNs = 10_000_000; // the upstream half-closes 10 ms after answering
  const sink = new MemorySink();
  const rec = net.capture(sink, `ctsim scenario ${name}`);
  const packets: LadderPacket[] = [];
  const view = new PacketView();
  const tap = rec.tap.bind(rec);
  for (const h of [pod, upstream]) {
    h.onTap = (t) => {
      tap(t);
      if (t.direction === 'outbound') packets.push(ladderPacket(view.decodeIpv4(t.bytes), { timeNs: sim.now, host: t.host, iface: t.iface, notes: t.notes, bytes: t.bytes.slice() }));
    };
  }
  const entries = new Map<number, EntryLife>();
  const podEvent = pod.conntrack.onEvent;
  pod.conntrack.onEvent = (ev) => {
    podEvent?.(ev);
    recordEntry(entries, ev);
  };
  const snapshots: Snapshot[] = [];
  const snapAt = (tNs: number, label: string) => sim.at(tNs, () => {
    snapshots.push({ label, timeNs: sim.now, ss: [...pod.ss().map((l) => `pod      ${l}`), ...upstream.ss().map((l) => `upstream ${l}`)], conntrack: pod.conntrackList() });
  });

  // Phase 1: the half-close leak.
  const first = app.connect(upstreamAddr, UPSTREAM_PORT, { fromPort: o.portChoice === 'explicit' ? APP_PORT : undefined, request: REQUEST, label: 'app' });
  const appSock = first.socket;
  snapAt(1 * SEC, 'after the upstream half-closed (t=1 s)');
  const closeWaitSec = ctTimeout(pod, 'close_wait');
  if (closeWaitSec + 2 < o.appCloseAtSec) snapAt((closeWaitSec + 2) * SEC, `after conntrack's CLOSE_WAIT timeout (${closeWaitSec} s)`);
  sim.at(o.appCloseAtSec * SEC, () => {
    net.note('pod', `app: close() its CLOSE_WAIT socket at ${o.appCloseAtSec} s`);
    appSock.close();
  });
  snapAt((o.appCloseAtSec + 5) * SEC, `after the app closed (t=${o.appCloseAtSec + 5} s)`);

  // Phase 2: the port collision.
  let collide: ClientConnection | null = null;
  let ephemeralConnects = 0;
  /** The leaked socket's rcv_nxt when the reconnect's connect() went out (null: no leaked socket then). */
  let leakedRcvNxt: number | null = null;
  const targetPort = first.result.localPort ?? 0;
  const leakedSocket = () => {
    const d = sidecar.connections[0]?.downstream;
    return d && d.state !== TcpState.CLOSE ? d : null;
  };
  /** The ISN what-ifs; with 'clock' Linux's secure_tcp_seq() decides. Also notes the leaked socket's rcv_nxt. */
  const issFor = (port: number): number | undefined => {
    if (port !== targetPort) return undefined;
    const leaked = leakedSocket();
    leakedRcvNxt = leaked ? leaked.rcvNxt : null;
    if (!leaked || o.isn === 'clock') return undefined;
    if (o.isn === 'seeded') return sim.randomU32();
    return (o.isn === 'after' ? leaked.rcvNxt - 0x10000000 : leaked.rcvNxt + 0x10000000) >>> 0;
  };
  const attempts = { attempts: o.reconnectAttempts, retryNs: o.reconnectIntervalSec * SEC };
  if (name === 'port-collision') {
    sim.at(o.reconnectAtSec * SEC, () => {
      if (o.portChoice === 'explicit') {
        collide = app.connect(upstreamAddr, UPSTREAM_PORT, { fromPort: targetPort, request: REQUEST, label: 'app (reconnect)', issFor, ...attempts });
        return;
      }
      // Let the emulated kernel pick ports until it picks the old one (each miss is a normal,
      // completed connection that the app closes at once).
      if (narrow) net.note('pod', `ip_local_port_range narrowed to ${EPHEMERAL_LOW}-${EPHEMERAL_LOW + 31} so Linux's port choice cycles back quickly`);
      const next = () => {
        ephemeralConnects++;
        const c = app.connect(upstreamAddr, UPSTREAM_PORT, { label: `app (reconnect #${ephemeralConnects})`, request: REQUEST, issFor, ...attempts });
        if (c.result.localPort === targetPort || ephemeralConnects >= 2000) {
          collide = c;
          return;
        }
        sim.after(50_000_000, () => {
          if (c.socket.state !== TcpState.CLOSE) c.socket.close();
          sim.after(50_000_000, next);
        });
      };
      next();
    });
    const lastAttemptNs = (o.reconnectAtSec + (o.reconnectAttempts - 1) * o.reconnectIntervalSec) * SEC;
    snapAt(o.reconnectAtSec * SEC + 1 * SEC, 'one second after the reconnect');
    snapAt(lastAttemptNs + AFTER_RECONNECT, 'after the connect() outcome');
  }

  // Until the sidecar's idle timeout has closed everything.
  const endAfter = name === 'port-collision' ? (o.reconnectAtSec + o.reconnectAttempts * o.reconnectIntervalSec) * SEC + AFTER_RECONNECT : 0;
  net.runUntil(Math.max(endAfter, (o.idleTimeoutSec + 120) * SEC, (o.appCloseAtSec + 6) * SEC));
  snapAt(sim.now, 'after the sidecar idle timeout');
  net.runUntil(sim.now);
  net.close();

  // The outcome, from the pod's typed TCP events.
  const evs = tcpEvents(net.timeline, 'pod');
  const conn = sidecar.connections[0];
  const appFinReachedSidecar = !!conn && finReached(evs, conn.downstream.id);
  const sidecarClosedAtSec = conn?.closedAt !== undefined ? conn.closedAt / SEC : null;
  const leakSeconds = !appFinReachedSidecar && sidecarClosedAtSec !== null ? Math.max(0, sidecarClosedAtSec - o.appCloseAtSec) : 0;
  let connect: ScenarioResult['outcome']['connect'] = null;
  let connectSeconds: number | null = null;
  let syns = 0;
  let callErrors = null;
  let connectAttempts = 0;
  let rstSeq: ScenarioResult['outcome']['rstSeq'] = null;
  let reconnectElapsedSec: number | null = null;
  const c = collide as ClientConnection | null;
  if (c) {
    const ids = new Set(c.result.sockets.map((s) => s.id));
    callErrors = summariseCallErrors(failedCalls(evs, APP_UID).filter((f) => ids.has(f.sockId)));
    connectAttempts = c.result.sockets.length;
    const last = c.socket;
    const sent = evs.find(({ e }) => e.type === 'call' && e.call === 'connect' && e.sock.id === last.id && e.result.errno === null);
    if (sent) {
      const r = connectOutcome(evs, last.id);
      connect = r.result;
      connectSeconds = r.atNs !== null ? (r.atNs - sent.timeNs) / SEC : null;
      syns = synsSent(evs, last.id);
      reconnectElapsedSec = sent.timeNs / SEC;
      if (leakedRcvNxt !== null) rstSeq = seqAfter(leakedRcvNxt, last.iss) ? 'after-syn' : 'before-syn';
    } else {
      connect = c.result.callError ?? 'pending';
    }
  }
  return {
    name,
    options: o,
    outcome: {
      appFinReachedSidecar, leakSeconds, sidecarClosedAtSec, connect, connectSeconds, synsSent: syns, callErrors, connectAttempts, rstSeq, reconnectElapsedSec,
      invalidPackets: pod.conntrack.stats.invalid, droppedPackets: [...pod.drops.values()].reduce((a, b) => a + b, 0),
      port: name === 'port-collision' ? targetPort : null, ephemeralConnects,
    },
    timeline: net.timeline,
    snapshots,
    pcap: sink.bytes(),
    packets,
    endNs: sim.now,
    sidecarUpstreamPorts: sidecar.connections.map((x) => x.upstream?.localPort ?? 0).filter((p) => p > 0),
    entries: [...entries.values()],
  };
}

/** Follows one entry through conntrack's typed events (NEW, state changes, DESTROY with its reason). */
function recordEntry(entries: Map<number, EntryLife>, ev: ConntrackEvent): void {
  let e = entries.get(ev.id);
  if (!e) {
    if (ev.type === 'DESTROY') return;
    const t = ev.orig;
    e = { id: ev.id, orig: `${formatIpv4Address(t.src)}:${t.sport} > ${formatIpv4Address(t.dst)}:${t.dport}`, states: [], openNs: ev.timeNs, closeNs: null, destroyReason: null };
    entries.set(ev.id, e);
  }
  if (ev.type === 'DESTROY') {
    e.closeNs = ev.timeNs;
    e.destroyReason = ev.destroyReason ?? null;
    return;
  }
  const state = tcpStateName(ev.state);
  if (e.states.length === 0 || e.states[e.states.length - 1].state !== state) e.states.push({ timeNs: ev.timeNs, state });
}

function ctTimeout(h: Host, which: string): number {
  return h.conntrack.sysctls[`nf_conntrack_tcp_timeout_${which}`];
}
