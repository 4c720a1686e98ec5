// Files a scenario run leaves behind: pcaps/<name>-<kernel>[-options].pcapng and the ladder SVG
// next to it. Names say what was run, so a directory of them reads as a matrix.
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../output/index.js';
import { POD_IP, UPSTREAM_IP, UPSTREAM_PORT } from './istio-pod.js';
import { ladderSvg } from './ladder-svg.js';
import { DEFAULT_OPTIONS, type LadderPacket, type ScenarioResult } from './scenario-types.js';

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

export function ladderFor(r: ScenarioResult): string {
  const upPorts = new Set(r.sidecarUpstreamPorts);
  const laneOf = (ep: string, p: LadderPacket): string => {
    if (ep === `${UPSTREAM_IP}:${UPSTREAM_PORT}`) return p.iface === 'lo' ? 'down' : 'upstream';
    if (ep.startsWith('127.0.0.1:')) return 'down';
    if (ep.startsWith(`${POD_IP}:`)) return upPorts.has(Number(ep.split(':')[1])) ? 'up' : 'app';
    return 'upstream';
  };
  const o = r.options;
  return ladderSvg(r.packets, {
    title: `${r.name} on ${o.kernel}${o.sysctls.length ? ` (${o.sysctls.join(', ')})` : ''}${o.invalidDrop ? ` with INVALID drop in ${o.invalidDrop}` : ''}${r.name === 'port-collision' ? `, reconnect at ${o.reconnectAtSec} s` : ''}`,
    lanes: [
      { id: 'app', title: 'app (uid 1000)' },
      { id: 'ct', title: 'pod conntrack' },
      { id: 'down', title: 'sidecar :15001' },
      { id: 'up', title: 'sidecar -> upstream' },
      { id: 'upstream', title: `upstream :${UPSTREAM_PORT}` },
    ],
    laneOf,
    conntrackLane: 'ct',
  });
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
