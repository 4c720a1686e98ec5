// Files a scenario run leaves behind: pcaps/<name>-<kernel>[-options].pcapng and the ladder SVG
// next to it. Names say what was run, so a directory of them reads as a matrix.
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../output/index.js';
import { POD_IP, SIDECAR_PORT, SIDECAR_UID, UPSTREAM_IP, UPSTREAM_PORT } from './istio-pod.js';
import { ladderSvg, type LadderArrow, type LadderBar, type LadderDiagram, type LadderMarker, type LadderVerdict } from './ladder-svg.js';
import { tcpStateName } from '../stack/tcp/tcp-state.js';
import type { SockRef } from '../stack/tcp/tcp-events.js';
import { DEFAULT_OPTIONS, type LadderPacket, type ScenarioResult } from './scenario-types.js';

/** A run's title: the scenario, the kernel and every option that differs from the defaults. */
export function runTitle(r: Pick<ScenarioResult, 'name' | 'options'>): string {
  const o = r.options;
  const parts: string[] = [];
  for (const x of o.sysctls) parts.push(x.replace(/^net\.(netfilter|ipv4)\./, '').replace(/^nf_conntrack_tcp_(timeout_)?/, ''));
  if (o.invalidDrop) parts.push(`INVALID drop in ${o.invalidDrop}`);
  if (o.idleTimeoutSec !== 3600) parts.push(`idle_timeout ${o.idleTimeoutSec} s`);
  if (r.name === 'port-collision') {
    if (o.reconnectAtSec !== DEFAULT_OPTIONS.reconnectAtSec) parts.push(`reconnect at ${o.reconnectAtSec} s`);
    if (o.isn !== DEFAULT_OPTIONS.isn) parts.push(o.isn === 'seeded' ? 'ISN from the seed' : `RST seq ${o.isn} SYN`);
    if (o.portChoice !== 'explicit') parts.push('ephemeral port');
  }
  if (o.seed !== 1) parts.push(`seed ${o.seed}`);
  return `${r.name} on ${o.kernel}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export function fileStem(r: Pick<ScenarioResult, 'name' | 'options'>): string {
  const o = r.options;
  const parts: string[] = [r.name, o.kernel];
  for (const s of o.sysctls) parts.push(s.replace(/^net\.(netfilter|ipv4)\./, '').replace(/^nf_conntrack_tcp_/, '').replace(/=/, '-'));
  if (o.invalidDrop) parts.push(`invalid-drop-${o.invalidDrop}`);
  if (o.idleTimeoutSec !== DEFAULT_OPTIONS.idleTimeoutSec) parts.push(`idle-${o.idleTimeoutSec}s`);
  if (o.appCloseAtSec !== DEFAULT_OPTIONS.appCloseAtSec) parts.push(`close-${o.appCloseAtSec}s`);
  if (o.hz !== DEFAULT_OPTIONS.hz) parts.push(`hz-${o.hz}`);
  if (r.name === 'port-collision') {
    if (o.reconnectAtSec !== DEFAULT_OPTIONS.reconnectAtSec) parts.push(`reconnect-${o.reconnectAtSec}s`);
    if (o.reconnectAttempts !== DEFAULT_OPTIONS.reconnectAttempts || o.reconnectIntervalSec !== DEFAULT_OPTIONS.reconnectIntervalSec) parts.push(`tries-${o.reconnectAttempts}x${o.reconnectIntervalSec}s`);
    if (o.isn !== DEFAULT_OPTIONS.isn) parts.push(`isn-${o.isn}`);
    if (o.portChoice !== 'explicit') parts.push('ephemeral');
  }
  if (o.seed !== 1) parts.push(`seed-${o.seed}`);
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The conntrack verdict a packet's capture notes record (the host writes "ct ..." and "DROP ..."). */
function verdictOf(notes: readonly string[]): { verdict: LadderVerdict; text: string } {
  const drop = notes.find((n) => n.startsWith('DROP'));
  if (drop) return { verdict: 'drop', text: drop };
  const ct = notes.find((n) => n.startsWith('ct '));
  if (!ct) return { verdict: 'none', text: '' };
  if (ct.startsWith('ct INVALID')) return { verdict: 'invalid', text: ct };
  if (ct.includes('ignored')) return { verdict: 'ignore', text: ct };
  return { verdict: 'accept', text: ct };
}

/** The socket lane of the pod's and the upstream's sockets: by owner (the sidecar runs as uid 1337) and port. */
function socketLane(host: string, s: SockRef, upPorts: ReadonlySet<number>): string | null {
  if (host === 'upstream') return 'upstream';
  if (host !== 'pod') return null;
  if (s.uid === SIDECAR_UID) return s.localPort === SIDECAR_PORT ? 'down' : upPorts.has(s.localPort) ? 'up' : 'down';
  return 'app';
}

const ENTRY_END: Record<string, string> = {
  'timeout': 'entry expired', 'rst-unreplied': 'destroyed: RST', 'reopen': 'destroyed: re-open',
  'early-drop': 'early-dropped', 'flush': 'flushed', 'nat-evict': 'evicted (NAT)',
};

/** The ladder diagram of a scenario run: packets, socket states, conntrack entries, the outcome. */
export function ladderDiagram(r: ScenarioResult, seq: 'raw' | 'relative' = 'raw'): LadderDiagram {
  const upPorts = new Set(r.sidecarUpstreamPorts);
  const laneOf = (ep: string, p: LadderPacket): string => {
    if (ep === `${UPSTREAM_IP}:${UPSTREAM_PORT}`) return p.iface === 'lo' ? 'down' : 'upstream';
    if (ep.startsWith('127.0.0.1:')) return 'down';
    if (ep.startsWith(`${POD_IP}:`)) return upPorts.has(Number(ep.split(':')[1])) ? 'up' : 'app';
    return 'upstream';
  };
  const arrows: LadderArrow[] = r.packets.map((p) => {
    const v = verdictOf(p.notes);
    const from = laneOf(p.src, p);
    const to = laneOf(p.dst, p);
    return {
      timeNs: p.timeNs, from, to, flags: p.flags, seq: p.seq, ack: p.flags.includes('.') ? p.ack : null, len: p.len,
      verdict: v.verdict, verdictText: v.text, flowKey: `${from}|${p.src}|${to}`,
    };
  });
  const bars: LadderBar[] = [];
  // Socket states from the TCP layer's typed state events: one track per socket.
  const open = new Map<string, LadderBar>();
  for (const e of r.timeline) {
    if (e.tcp?.type !== 'state') continue;
    const lane = socketLane(e.host, e.tcp.sock, upPorts);
    if (!lane) continue;
    const track = `${e.host}#${e.tcp.sock.id}`;
    const prev = open.get(track);
    if (prev) prev.endNs = e.timeNs;
    const to = tcpStateName(e.tcp.to);
    if (to === 'CLOSE' || to === 'LISTEN') {
      open.delete(track);
      if (prev && to === 'CLOSE') prev.endLabel = '';
      continue;
    }
    const bar: LadderBar = { lane, track, kind: 'socket', startNs: e.timeNs, endNs: null, label: to, endLabel: null };
    bars.push(bar);
    open.set(track, bar);
  }
  // A socket that closes draws no cross; a leaked one runs to the end of the diagram.
  for (const b of bars) if (b.endLabel === '') b.endLabel = null;
  for (const en of r.entries) {
    en.states.forEach((st, i) => {
      const next = en.states[i + 1];
      const last = !next;
      bars.push({
        lane: 'ct', track: `entry ${en.id}`, kind: 'entry', startNs: st.timeNs, endNs: last ? en.closeNs : next.timeNs,
        label: i === 0 ? `#${en.id} ${st.state}` : st.state,
        detail: en.orig,
        endLabel: last && en.closeNs !== null ? ENTRY_END[en.destroyReason ?? 'timeout'] ?? 'destroyed' : null,
      });
    });
  }
  const markers: LadderMarker[] = [];
  const o = r.outcome;
  if (o.reconnectElapsedSec !== null && o.connect !== null) {
    const at = o.connectSeconds !== null ? Math.round((o.reconnectElapsedSec + o.connectSeconds) * 1e9) : r.endNs;
    markers.push({ lane: 'app', timeNs: at, text: `connect(): ${o.connect}${o.connectSeconds !== null ? ` after ${o.connectSeconds.toFixed(3)} s` : ''}`, tone: o.connect === 'connected' ? 'good' : 'bad' });
  }
  if (o.sidecarClosedAtSec !== null && o.leakSeconds > 0) {
    markers.push({ lane: 'down', timeNs: Math.round(o.sidecarClosedAtSec * 1e9), text: `leak ends: idle timeout (${o.leakSeconds.toFixed(0)} s)`, tone: 'bad' });
  }
  return {
    title: runTitle(r),
    lanes: [
      { id: 'app', title: 'app (uid 1000)' },
      { id: 'ct', title: 'pod conntrack' },
      { id: 'down', title: 'sidecar :15001' },
      { id: 'up', title: 'sidecar -> upstream' },
      { id: 'upstream', title: `upstream :${UPSTREAM_PORT}` },
    ],
    arrows, bars, markers, conntrackLane: 'ct', seq,
  };
}

export function ladderFor(r: ScenarioResult, seq: 'raw' | 'relative' = 'raw'): string {
  return ladderSvg(ladderDiagram(r, seq));
}

export function writeArtifacts(r: ScenarioResult, dir: string): { pcap: string; svg: string } {
  ensureDirectory(dir);
  const stem = fileStem(r);
  const pcap = join(dir, `${stem}.pcapng`);
  const svg = join(dir, `${stem}.svg`);
  writeFileAtomic(pcap, r.pcap);
  writeFileAtomic(svg, ladderFor(r));
  return { pcap, svg };
}
