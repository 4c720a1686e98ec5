// The two seed incidents as timelines on the Istio pod topology.
//  half-close-leak: the app connects to upstream:8080 through the sidecar; the upstream answers
//    and half-closes; the sidecar forwards the FIN with shutdown(SHUT_WR) (its downstream socket
//    waits in FIN_WAIT2, no timer); conntrack's CLOSE_WAIT timeout (60 s) deletes the REDIRECT
//    entry; the app closes at 90 s and its FIN, matching no entry, is not redirected; the sidecar's
//    two sockets leak until the idle timeout.
//  port-collision: the same, then the app connects again from the same port; the SYN lands on the
//    leaked FIN_WAIT2 socket, which sends an RFC 5961 challenge ACK; what conntrack does with the
//    app's RST decides whether connect() succeeds.
import { MemorySink } from '../pcap/index.js';
import type { Host } from '../stack/host.js';
import { SEC } from '../stack/scheduler.js';
import { TcpState } from '../stack/tcp/tcp-state.js';
import type { TcpSocket } from '../stack/tcp/tcp-socket.js';
import { PacketView, formatIpv4Address } from '../wire/index.js';
import { tcpStateName, type ConntrackEvent } from '../conntrack/index.js';
import { buildIstioPod, UPSTREAM_PORT } from './istio-pod.js';
import { ladderPacket } from './ladder-packet.js';
import type { EntryLife, LadderPacket, ScenarioName, ScenarioOptions, ScenarioResult, Snapshot } from './scenario-types.js';

const APP_PORT = 44410;
const EPHEMERAL_LOW = 44400;
const REQUEST = new Uint8Array(100).fill(0x41);

export function runIncident(name: ScenarioName, o: ScenarioOptions): ScenarioResult {
  // Linux cycles through the whole ephemeral range (~14,000 connects per parity) before it picks
  // a port again; the ephemeral variant narrows net.ipv4.ip_local_port_range (unless set) so the
  // collision comes within tens of connects.
  const narrow = o.portChoice === 'ephemeral' && !o.sysctls.some((x) => /ip_local_port_range/.test(x));
  const sysctls = narrow ? [...o.sysctls, `net.ipv4.ip_local_port_range=${EPHEMERAL_LOW} ${EPHEMERAL_LOW + 31}`] : o.sysctls;
  const topo = buildIstioPod({ kernel: o.kernel, sysctls, invalidDrop: o.invalidDrop, idleTimeoutSec: o.idleTimeoutSec, seed: o.seed });
  const { net, pod, upstream, sidecar, app, upstreamAddr } = topo;
  topo.server.o.closeAfterNs = 10_000_000; // the upstream half-closes 10 ms after answering
  const sink = new MemorySink();
  const rec = net.capture(sink, `ctsim scenario ${name}`);
  const packets: LadderPacket[] = [];
  const view = new PacketView();
  const tap = rec.tap.bind(rec);
  for (const h of [pod, upstream]) {
    h.onTap = (t) => {
      tap(t);
      if (t.direction === 'outbound') packets.push(ladderPacket(view.decodeIpv4(t.bytes), { timeNs: net.sim.now, host: t.host, iface: t.iface, notes: t.notes, bytes: t.bytes.slice() }));
    };
  }
  const entries = new Map<number, EntryLife>();
  const podEvent = pod.conntrack.onEvent;
  pod.conntrack.onEvent = (ev) => {
    podEvent?.(ev);
    recordEntry(entries, ev);
  };
  const snapshots: Snapshot[] = [];
  const snap = (label: string) => snapshots.push({ label, timeNs: net.sim.now, ss: [...pod.ss().map((l) => `pod      ${l}`), ...upstream.ss().map((l) => `upstream ${l}`)], conntrack: pod.conntrackList() });

  // Phase 1: the half-close leak.
  const first = app.connect(upstreamAddr, UPSTREAM_PORT, { fromPort: o.portChoice === 'explicit' ? APP_PORT : undefined, request: REQUEST, label: 'app' });
  const appSock = first.socket;
  net.runUntil(1 * SEC);
  snap('after the upstream half-closed (t=1 s)');
  const closeWaitSec = ctTimeout(pod, 'close_wait');
  if (closeWaitSec + 2 < o.appCloseAtSec) {
    net.runUntil((closeWaitSec + 2) * SEC);
    snap(`after conntrack's CLOSE_WAIT timeout (${closeWaitSec} s)`);
  }
  net.sim.at(o.appCloseAtSec * SEC, () => {
    net.note('pod', `app: close() its CLOSE_WAIT socket at ${o.appCloseAtSec} s`);
    appSock.close();
  });
  net.runUntil((o.appCloseAtSec + 5) * SEC);
  snap(`after the app closed (t=${o.appCloseAtSec + 5} s)`);
  const envD = sidecar.connections[0]?.downstream;
  const appFinReachedSidecar = !!envD && net.timeline.some((e) => e.host === 'pod' && e.text.includes(envD.describe()) && /FIN_WAIT2 -> TIME_WAIT/.test(e.text));

  // Phase 2: the port collision.
  let connect: string | null = null;
  let connectSeconds: number | null = null;
  let port: number | null = null;
  let attempts = 0;
  let synsSent = 0;
  let reconnectNs: number | null = null;
  if (name === 'port-collision') {
    net.runUntil(o.reconnectAtSec * SEC);
    // With INVALID drop, the upstream's RST answering the late FIN never arrives: the app's old
    // socket sits in LAST_ACK retransmitting its FIN and still owns the 4-tuple. Wait until the
    // kernel gives up on it, as a real client's connect() would fail (EADDRNOTAVAIL) until then.
    if (appSock.state !== TcpState.CLOSE) {
      net.note('pod', `app: old socket still ${appSock.state === TcpState.LAST_ACK ? 'LAST_ACK' : 'open'} at ${o.reconnectAtSec} s (its 4-tuple is in use): waiting for it to go before reconnecting`);
      for (let i = 0; i < 1200 && appSock.state !== TcpState.CLOSE; i++) net.runUntil(net.sim.now + SEC);
    }
    const targetPort = first.result.localPort!;
    port = targetPort;
    const leaked = envD && envD.state !== TcpState.CLOSE ? envD : null;
    const iss = leaked && o.isn !== 'seeded' ? (o.isn === 'after' ? leaked.rcvNxt - 0x10000000 : leaked.rcvNxt + 0x10000000) >>> 0 : undefined;
    let collide: { socket: TcpSocket; result: typeof first.result } | null = null;
    if (o.portChoice === 'explicit') {
      collide = app.connect(upstreamAddr, UPSTREAM_PORT, { fromPort: targetPort, request: REQUEST, label: 'app (reconnect)', iss });
      attempts = 1;
    } else {
      // Let the emulated kernel pick ports until it picks the old one (each miss is a normal,
      // completed connection that the app closes at once).
      if (narrow) net.note('pod', `ip_local_port_range narrowed to ${EPHEMERAL_LOW}-${EPHEMERAL_LOW + 31} so Linux's port choice cycles back quickly`);
      for (attempts = 1; attempts <= 2000; attempts++) {
        const c = app.connect(upstreamAddr, UPSTREAM_PORT, { label: `app (reconnect #${attempts})`, request: REQUEST, issFor: (p) => (p === targetPort ? iss : undefined) });
        if (c.result.localPort === targetPort) {
          collide = c;
          break;
        }
        net.runUntil(net.sim.now + 50_000_000);
        if (c.socket.state !== TcpState.CLOSE) c.socket.close();
        net.runUntil(net.sim.now + 50_000_000);
      }
    }
    const start = net.sim.now;
    net.runUntil(start + 1 * SEC);
    snap('one second after the colliding connect()');
    net.runUntil(start + 200 * SEC);
    reconnectNs = start;
    if (collide) {
      const r = collide.result;
      connect = r.connectedAt !== undefined ? 'connected' : r.error ?? 'pending';
      const at = r.connectedAt ?? r.errorAt;
      connectSeconds = at !== undefined ? (at - start) / SEC : null;
      synsSent = 1 + net.timeline.filter((e) => e.host === 'pod' && e.timeNs >= start && e.text.includes(`${collide!.socket.describe()}: SYN retransmission`)).length;
    }
    snap('after the connect() outcome');
  }

  // Until the sidecar's idle timeout has closed everything.
  const end = Math.max(net.sim.now, (o.idleTimeoutSec + 120) * SEC);
  net.runUntil(end);
  snap('after the sidecar idle timeout');
  net.close();

  const conn = sidecar.connections[0];
  const sidecarClosedAtSec = conn?.closedAt !== undefined ? conn.closedAt / SEC : null;
  const leakSeconds = !appFinReachedSidecar && sidecarClosedAtSec !== null ? Math.max(0, sidecarClosedAtSec - o.appCloseAtSec) : 0;
  return {
    name,
    options: o,
    outcome: {
      appFinReachedSidecar, leakSeconds, sidecarClosedAtSec, connect, connectSeconds, synsSent,
      invalidPackets: pod.conntrack.stats.invalid, droppedPackets: [...pod.drops.values()].reduce((a, b) => a + b, 0), port, attempts,
    },
    timeline: net.timeline,
    snapshots,
    pcap: sink.bytes(),
    packets,
    endNs: net.sim.now,
    sidecarUpstreamPorts: sidecar.connections.map((c) => c.upstream?.localPort ?? 0).filter((p) => p > 0),
    entries: [...entries.values()],
    reconnectNs,
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
