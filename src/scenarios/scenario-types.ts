// The options and results every seed scenario shares.
import type { DestroyReason } from '../conntrack/index.js';
import type { HostEvent } from '../stack/host.js';

export type ScenarioName = 'half-close-leak' | 'port-collision';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['half-close-leak', 'port-collision'];

export interface ScenarioOptions {
  kernel: string;
  sysctls: string[];
  invalidDrop: boolean;
  /** Sidecar tcp_proxy idle_timeout (s); Envoy's default is 3600. */
  idleTimeoutSec: number;
  seed: number;
  /** When the application finally close()s its half-closed socket (s). */
  appCloseAtSec: number;
  /** port-collision: when the application connects again (s). */
  reconnectAtSec: number;
  /** port-collision: 'explicit' binds the old port; 'ephemeral' lets Linux pick until it collides. */
  portChoice: 'explicit' | 'ephemeral';
  /**
   * port-collision: where the new SYN's ISN lies relative to the RST's seq (the leaked socket's
   * rcv_nxt): 'after' makes the RST's seq fall "after" the SYN (check I fails on 5.18-6.1.8),
   * 'before' the other half, 'seeded' draws it from the seed.
   */
  isn: 'after' | 'before' | 'seeded';
}

export const DEFAULT_OPTIONS: ScenarioOptions = {
  kernel: '6.18',
  sysctls: [],
  invalidDrop: false,
  idleTimeoutSec: 3600,
  seed: 1,
  appCloseAtSec: 90,
  reconnectAtSec: 120,
  portChoice: 'explicit',
  isn: 'after',
};

export interface Snapshot {
  label: string;
  timeNs: number;
  ss: string[];
  conntrack: string[];
}

export interface ScenarioOutcome {
  /** half-close-leak: did the application's FIN reach the sidecar's downstream socket? */
  appFinReachedSidecar: boolean;
  /** Seconds the sidecar's two sockets stayed open after the application closed its side (0 if none). */
  leakSeconds: number;
  /** When Envoy finally closed the leaked connection (s), if it did. */
  sidecarClosedAtSec: number | null;
  /** port-collision: 'connected', 'ETIMEDOUT', 'ECONNREFUSED', ... or null for half-close-leak. */
  connect: string | null;
  /** Seconds from the colliding connect() to its result. */
  connectSeconds: number | null;
  synsSent: number;
  invalidPackets: number;
  droppedPackets: number;
  /** The colliding port (port-collision). */
  port: number | null;
  /** Ephemeral variant: connections made before the collision. */
  attempts: number;
}

export interface ScenarioResult {
  name: ScenarioName;
  options: ScenarioOptions;
  outcome: ScenarioOutcome;
  timeline: HostEvent[];
  snapshots: Snapshot[];
  pcap: Uint8Array;
  packets: LadderPacket[];
  endNs: number;
  /** Local ports of the sidecar's upstream sockets (for the ladder's lanes). */
  sidecarUpstreamPorts: number[];
  /** The pod's conntrack entries over time (from its typed events): the ladder's entry bars. */
  entries: EntryLife[];
  /** When the colliding connect() was made (port-collision), for the outcome marker. */
  reconnectNs: number | null;
}

/** One conntrack entry's life: created, its TCP states, destroyed (and why) or still alive at the end. */
export interface EntryLife {
  id: number;
  /** "198.18.1.10:44410 > 198.18.1.20:8080" (the original direction). */
  orig: string;
  states: { timeNs: number; state: string }[];
  openNs: number;
  closeNs: number | null;
  destroyReason: DestroyReason | null;
}

/** A packet as the ladder diagram needs it (one per transmission). */
export interface LadderPacket {
  timeNs: number;
  host: string;
  iface: string;
  src: string;
  dst: string;
  flags: string;
  seq: number;
  ack: number;
  len: number;
  notes: string[];
  /** The IPv4 packet as sent (for reports' hex dumps). */
  bytes: Uint8Array;
}
