// The options and results every seed scenario shares.
import type { DestroyReason } from '../conntrack/index.js';
import type { HostEvent } from '../stack/host.js';
import type { InvalidDropPlacement } from './invalid-drop.js';
import type { CallErrorRun, ConnectResult } from './socket-outcomes.js';

export type ScenarioName = 'half-close-leak' | 'port-collision';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['half-close-leak', 'port-collision'];

export interface ScenarioOptions {
  kernel: string;
  sysctls: string[];
  /** Where the pod drops INVALID packets (Istio: mangle PREROUTING), or null for no such rule. */
  invalidDrop: InvalidDropPlacement | null;
  /** CONFIG_HZ of both kernels (jiffies, timer rounding). */
  hz: number;
  /** Sidecar tcp_proxy idle_timeout (s); Envoy's default is 3600. */
  idleTimeoutSec: number;
  seed: number;
  /** When the application finally close()s its half-closed socket (s). */
  appCloseAtSec: number;
  /** port-collision: when the application connects again (s after its first connect()). */
  reconnectAtSec: number;
  /**
   * port-collision: how often the application tries when bind()/connect() fails at once
   * (EADDRNOTAVAIL while the old socket still owns the 4-tuple), and how far apart (s).
   */
  reconnectAttempts: number;
  reconnectIntervalSec: number;
  /** port-collision: 'explicit' binds the old port; 'ephemeral' lets Linux pick until it collides. */
  portChoice: 'explicit' | 'ephemeral';
  /**
   * port-collision: the reconnect's ISN. 'clock' (the default) is Linux's secure_tcp_seq(): the
   * 4-tuple's hash plus the clock, so it lies (reconnect - first connect) / 64 ns after the first
   * connection's ISN and the time between the two decides which half of sequence space the RST
   * falls in. What-ifs: 'after' puts the RST's seq (the leaked socket's rcv_nxt) "after" the new
   * SYN (check I fails on 5.18-6.1.8), 'before' the other half, 'seeded' a random ISN.
   */
  isn: 'clock' | 'after' | 'before' | 'seeded';
}

export const DEFAULT_OPTIONS: ScenarioOptions = {
  kernel: '6.18',
  sysctls: [],
  invalidDrop: null,
  hz: 250,
  idleTimeoutSec: 3600,
  seed: 1,
  appCloseAtSec: 90,
  reconnectAtSec: 120,
  reconnectAttempts: 20,
  reconnectIntervalSec: 1,
  portChoice: 'explicit',
  isn: 'clock',
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
  /** port-collision: what the reconnect came to (connected, ETIMEDOUT, EADDRNOTAVAIL when every attempt failed, ...); null for half-close-leak. */
  connect: ConnectResult | null;
  /** Seconds from the connect() that went out (the last attempt) to its result. */
  connectSeconds: number | null;
  synsSent: number;
  /** port-collision: bind()/connect() calls that failed at once before (or instead of) the connection, e.g. EADDRNOTAVAIL while the old socket owns the 4-tuple. */
  callErrors: CallErrorRun | null;
  /** port-collision: connect() attempts the application made (1 + retries). */
  connectAttempts: number;
  /**
   * port-collision: where the leaked socket's rcv_nxt (the seq of the app's RST after a challenge
   * ACK) lies relative to the reconnect's ISN, or null without a leaked socket.
   */
  rstSeq: 'after-syn' | 'before-syn' | null;
  /** Seconds between the first connect() and the one that sent the reconnect's SYN. */
  reconnectElapsedSec: number | null;
  invalidPackets: number;
  droppedPackets: number;
  /** The colliding port (port-collision). */
  port: number | null;
  /** Ephemeral variant: connections made until Linux's port choice picked the old port again. */
  ephemeralConnects: number;
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
