// What the seed incidents' outcome (seed-outcome.ts) and the ladder share.
import type { DestroyReason } from '../conntrack/index.js';
import type { CallErrorRun, ConnectResult } from './socket-outcomes.js';

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
  /** Bytes of TCP options (a flood's SYNs carry none; a kernel's SYN always some). */
  optionLen?: number;
  /** The IPv4 packet as sent (for reports' hex dumps). */
  bytes?: Uint8Array;
}
