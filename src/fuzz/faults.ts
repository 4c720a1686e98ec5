// Deliberate faults, for testing the fuzzer itself: each breaks the engine (or its NAT output)
// in one narrow way after a packet, so the matching invariant must fire and the minimiser must
// shrink the case to the few packets that trigger it. Used by the tests and by the hidden
// `ctsim fuzz --inject-fault NAME`; never active otherwise.
import type { Conntrack } from '../conntrack/conntrack.js';
import { Ipv4Packet, TcpFlag } from '../wire/index.js';
import type { ReplayRow } from '../replay/replay.js';

export const FAULTS = ['transition', 'index', 'timeout', 'exception', 'nat-checksum', 'determinism'] as const;
export type FaultName = (typeof FAULTS)[number];

/** Hooks a fault can use; `run` says which replay of the case is running. */
export interface Fault {
  name: FaultName;
  /** After the main or the determinism replay pushed a packet. */
  afterPush?(ct: Conntrack, row: ReplayRow, run: 'main' | 'determinism'): void;
  /** After the NAT check rewrote a packet in place (flags = the packet's TCP flags). */
  afterNat?(buf: Uint8Array, flags: number): void;
}

function entryOf(ct: Conntrack, id: number | null): number {
  if (id === null) return -1;
  for (let e = 0; e < ct.table.capacity; e++) if (ct.table.live[e] && ct.ids[e] === id) return e;
  return -1;
}

export function makeFault(name: FaultName): Fault {
  switch (name) {
    case 'transition':
      // An accepted FIN leaves the entry in SYN_SENT2 instead of what the table says.
      return {
        name, afterPush(ct, row, run) {
          if (run !== 'main' || row.outcome !== 'ACCEPT' || !row.flags.includes('F')) return;
          const e = entryOf(ct, row.entryId);
          if (e >= 0) ct.records.setState(e, 9);
        },
      };
    case 'index':
      // An accepted FIN unlinks its entry behind conntrack's back (no DESTROY event).
      return {
        name, afterPush(ct, row, run) {
          if (run !== 'main' || row.outcome !== 'ACCEPT' || !row.flags.includes('F')) return;
          const e = entryOf(ct, row.entryId);
          if (e >= 0) ct.table.release(e, true);
        },
      };
    case 'timeout':
      // Accepted FINs make the entry live one second longer than the timeout it reports.
      return {
        name, afterPush(ct, row, run) {
          if (run !== 'main' || row.outcome !== 'ACCEPT' || !row.flags.includes('F')) return;
          const e = entryOf(ct, row.entryId);
          if (e >= 0) ct.records.setTimeoutAt(e, ct.records.timeoutAt(e) + 1e9);
        },
      };
    case 'exception':
      return {
        name, afterPush(_ct, row, run) {
          if (run === 'main' && row.flags.includes('R')) throw new TypeError('injected fault: cannot read properties of an RST');
        },
      };
    case 'nat-checksum':
      return {
        name, afterNat(buf, flags) {
          // The TTL changes behind the checksum's back: the IPv4 header checksum no longer matches.
          if (flags & TcpFlag.FIN) new Ipv4Packet(buf).ttl ^= 0x01;
        },
      };
    case 'determinism':
      // The second replay expires every entry a SYN touched: later packets of that flow differ.
      return {
        name, afterPush(ct, row, run) {
          if (run !== 'determinism' || !row.flags.includes('S')) return;
          const e = entryOf(ct, row.entryId);
          if (e >= 0) ct.records.setTimeoutAt(e, row.timeNs + 1);
        },
      };
  }
}
