// Structured mutations of a conversation (a time-ordered DraftPacket list): sequence and ACK
// numbers moved to the window bounds and across 2^32, flag combinations the kernel refuses or
// must classify carefully, window and scale extremes, odd options, retransmissions, reordering,
// loss, stale packets of an old connection, RSTs and SYNs injected at any point (with the
// challenge-ACK answer), time gaps across every conntrack timeout, and byte corruptions.
import { TcpFlag, seqAdd, type TcpOption } from '../wire/index.js';
import { TcpCtState } from '../conntrack/tcp-states.js';
import { CORRUPTIONS, corruption } from './corruptions.js';
import type { DraftPacket } from './draft.js';
import type { FuzzRng } from './rng.js';

const { SYN, ACK, FIN, RST, PSH, URG, ECE, CWR, AE } = TcpFlag;

export interface MutationContext {
  rng: FuzzRng;
  /** tcp_timeouts[] of the run's kernel and sysctls, ns, indexed by TcpCtState (+ RETRANS, UNACK). */
  timeouts: Float64Array;
}

export const MUTATIONS = [
  'seq-offset', 'ack-offset', 'flags', 'window', 'options', 'retransmit', 'reorder', 'drop', 'stale',
  'rst', 'syn', 'time-gap', 'corrupt', 'ack-off',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Flag sets worth trying: the kernel's tcp_valid_flags[] edges and combinations it must classify. */
export const FLAG_SETS: readonly number[] = [
  0, SYN | FIN, SYN | RST, SYN | FIN | ACK, SYN | RST | ACK, FIN, RST | FIN, RST | ACK | FIN, URG, PSH, ACK | URG,
  SYN | URG, SYN | ACK | PSH, SYN | ECE | CWR, ACK | ECE, 0x1ff, 0xff, AE | ACK, FIN | PSH | URG, RST | PSH, SYN | ACK | URG,
  FIN | ACK | URG, RST | ACK, RST, ACK, FIN | ACK, SYN, SYN | ACK,
];

function segLen(d: DraftPacket): number {
  const f = d.spec.flags;
  return (d.spec.payload?.length ?? 0) + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
}

/** Offsets that land on, just inside or just outside the window bounds, or across the wrap. */
export function windowOffset(rng: FuzzRng, window: number): number {
  const w = Math.max(1, window);
  return rng.pick([
    1, -1, w, w + 1, w - 1, -w, -w - 1, 65535, 65536, 66000, 66001, -66000, -66001,
    0x7fffffff, 0x80000000, 0x80000001, -0x7fffffff, rng.u32(), w * 2, -(w * 2), 1 << 30,
  ]);
}

/** A gap that ends just before, exactly at, or just after one of the conntrack timeouts. */
export function timeoutGap(rng: FuzzRng, timeouts: Float64Array): number {
  const states = [
    TcpCtState.SYN_SENT, TcpCtState.SYN_RECV, TcpCtState.FIN_WAIT, TcpCtState.CLOSE_WAIT, TcpCtState.LAST_ACK,
    TcpCtState.TIME_WAIT, TcpCtState.CLOSE, TcpCtState.RETRANS, TcpCtState.UNACK, TcpCtState.SYN_SENT2,
  ];
  const base = rng.chance(0.05) ? timeouts[TcpCtState.ESTABLISHED] : timeouts[rng.pick(states)];
  return Math.max(0, base + rng.pick([-1e9, -1, 0, 1, 1e9, -base / 2]));
}

function insertSorted(list: DraftPacket[], d: DraftPacket): void {
  let i = list.length;
  while (i > 0 && list[i - 1].timeNs > d.timeNs) i--;
  list.splice(i, 0, d);
}

function clone(d: DraftPacket, timeNs: number): DraftPacket {
  return { ...d, timeNs, spec: { ...d.spec, options: d.spec.options?.slice() }, edits: d.edits.slice() };
}

/** A segment from the other end of d's conversation, at d's time + 1 ns. */
function fromReceiver(d: DraftPacket, flags: number, seq: number, ack: number, t: number): DraftPacket {
  return {
    timeNs: t, flow: d.flow, fromClient: !d.fromClient, peerWindow: d.peerWindow, edits: [],
    spec: { src: d.spec.dst, dst: d.spec.src, srcPort: d.spec.dstPort, dstPort: d.spec.srcPort, seq: seq >>> 0, ack: ack >>> 0, flags, window: flags & RST ? 0 : 502, options: [] },
  };
}

function fromSender(d: DraftPacket, flags: number, seq: number, ack: number, t: number, options: TcpOption[] = []): DraftPacket {
  return {
    timeNs: t, flow: d.flow, fromClient: d.fromClient, peerWindow: d.peerWindow, edits: [],
    spec: { src: d.spec.src, dst: d.spec.dst, srcPort: d.spec.srcPort, dstPort: d.spec.dstPort, seq: seq >>> 0, ack: ack >>> 0, flags, window: flags & RST ? 0 : 64240, options },
  };
}

function mutateOptions(rng: FuzzRng, d: DraftPacket): void {
  const opts = (d.spec.options ?? []).slice();
  const choice = rng.int(0, 9);
  switch (choice) {
    case 0: { // window scale extremes (RFC 7323 caps at 14)
      const shift = rng.pick([0, 1, 13, 14, 15, 16, 255]);
      const i = opts.findIndex((o) => o.kind === 'wscale');
      if (i >= 0) opts[i] = { kind: 'wscale', shift };
      else opts.push({ kind: 'nop' }, { kind: 'wscale', shift });
      break;
    }
    case 1: { // no window scale on this side
      d.spec.options = opts.filter((o) => o.kind !== 'wscale');
      return;
    }
    case 2: { // MSS extremes
      const i = opts.findIndex((o) => o.kind === 'mss');
      const value = rng.pick([0, 1, 536, 65535]);
      if (i >= 0) opts[i] = { kind: 'mss', value };
      else opts.unshift({ kind: 'mss', value });
      break;
    }
    case 3:
      d.spec.options = opts.filter((o) => o.kind !== 'sack-permitted');
      return;
    case 4: { // SACK blocks around the window (right edges beyond the ack, across the wrap)
      const ack = d.spec.ack ?? 0;
      const w = d.peerWindow;
      const n = rng.int(1, 3);
      const blocks: Array<[number, number]> = [];
      for (let k = 0; k < n; k++) {
        const l = seqAdd(ack, windowOffset(rng, w));
        blocks.push([l, seqAdd(l, rng.int(1, 70000))]);
      }
      d.spec.options = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks }];
      d.spec.flags |= ACK;
      return;
    }
    case 5:
      opts.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: rng.u32(), tsecr: rng.u32() });
      break;
    case 6: // EOL first: everything after it is ignored
      d.spec.options = [{ kind: 'eol', rest: new Uint8Array(3) }, ...opts];
      return;
    case 7: // an unknown option kind
      opts.unshift({ kind: 'unknown', type: rng.pick([6, 7, 19, 28, 30, 34, 253, 254]), data: new Uint8Array(rng.int(0, 8)) });
      break;
    case 8: // a known kind with a length it does not define (passed through as unknown)
      opts.unshift({ kind: 'unknown', type: rng.pick([2, 3, 4, 5, 8]), data: new Uint8Array(rng.pick([0, 1, 3, 7, 9])) });
      break;
    default:
      d.spec.options = [];
      return;
  }
  d.spec.options = opts;
}

/** Applies one mutation in place; returns its tag (with the detail a reader needs). */
export function mutate(list: DraftPacket[], kind: Mutation, ctx: MutationContext): string {
  const { rng } = ctx;
  if (list.length === 0) return `${kind}:empty`;
  const i = rng.int(0, list.length - 1);
  const d = list[i];
  switch (kind) {
    case 'seq-offset': {
      const off = windowOffset(rng, d.peerWindow);
      d.spec.seq = seqAdd(d.spec.seq, off);
      return `seq-offset@${i}:${off}`;
    }
    case 'ack-offset': {
      const off = windowOffset(rng, d.peerWindow);
      d.spec.ack = seqAdd(d.spec.ack ?? 0, off);
      if (rng.chance(0.3)) d.spec.flags |= ACK;
      return `ack-offset@${i}:${off}`;
    }
    case 'flags': {
      d.spec.flags = rng.pick(FLAG_SETS);
      return `flags@${i}:${d.spec.flags}`;
    }
    case 'ack-off':
      d.spec.flags &= ~ACK;
      return `ack-off@${i}`;
    case 'window': {
      d.spec.window = rng.pick([0, 1, 2, 255, 32767, 32768, 65535]);
      return `window@${i}:${d.spec.window}`;
    }
    case 'options':
      mutateOptions(rng, d);
      return `options@${i}`;
    case 'retransmit': {
      const k = rng.small(1, 6);
      let t = d.timeNs;
      for (let n = 0; n < k; n++) {
        t += rng.pick([1, 1000, 200e6, 1e9, 3e9]);
        insertSorted(list, clone(d, t));
      }
      return `retransmit@${i}x${k}`;
    }
    case 'reorder': {
      if (i + 1 >= list.length) return 'reorder:last';
      const a = list[i];
      const b = list[i + 1];
      list[i] = { ...b, timeNs: a.timeNs };
      list[i + 1] = { ...a, timeNs: b.timeNs };
      return `reorder@${i}`;
    }
    case 'drop':
      list.splice(i, 1);
      return `drop@${i}`;
    case 'stale': {
      // An old segment shows up later (after a close or re-open: "ACK from the old connection").
      const later = rng.int(i, list.length - 1);
      insertSorted(list, clone(d, list[later].timeNs + rng.pick([1, 1000, 1e9])));
      return `stale@${i}->${later}`;
    }
    case 'rst': {
      const t = d.timeNs + 1;
      const next = seqAdd(d.spec.seq, segLen(d));
      const w = d.peerWindow;
      const senderSide = rng.chance(0.5);
      const base = senderSide ? next : (d.spec.ack ?? rng.u32());
      const seq = rng.pick([base, base + 1, base + (w >> 1), base + w, base + w + 1, base - 1, base - w - 1, 0, base + 0x80000000]);
      const flags = rng.pick([RST, RST | ACK, RST | ACK]);
      const ack = rng.pick([senderSide ? (d.spec.ack ?? 0) : next, 0]);
      insertSorted(list, senderSide ? fromSender(d, flags, seq, ack, t) : fromReceiver(d, flags, seq, ack, t));
      return `rst@${i}:${senderSide ? 'sender' : 'receiver'}`;
    }
    case 'syn': {
      // A SYN on the existing tuple (from either end), maybe answered by a challenge ACK and an RST.
      const t = d.timeNs + rng.pick([1, 1000, 1e9]);
      const next = seqAdd(d.spec.seq, segLen(d));
      const isn = rng.pick([seqAdd(next, rng.int(1, 1 << 20)), seqAdd(next, -rng.int(1, 1 << 20)), rng.u32(), seqAdd(next, 0x80000000)]);
      const opts: TcpOption[] = [{ kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval: rng.u32(), tsecr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }];
      const syn = fromSender(d, SYN, isn, 0, t, opts);
      insertSorted(list, syn);
      if (rng.chance(0.6)) {
        const peerNext = d.spec.ack ?? rng.u32();
        insertSorted(list, fromReceiver(d, ACK, peerNext, next, t + 50_000));
        if (rng.chance(0.8)) insertSorted(list, fromSender(d, RST, next, 0, t + 60_000));
        if (rng.chance(0.5)) insertSorted(list, clone(syn, t + 1e9));
      }
      return `syn@${i}`;
    }
    case 'time-gap': {
      const gap = timeoutGap(rng, ctx.timeouts);
      for (let k = Math.max(1, i); k < list.length; k++) list[k].timeNs += gap;
      return `time-gap@${i}:${gap / 1e9}s`;
    }
    case 'corrupt': {
      const c = rng.pick(CORRUPTIONS);
      d.edits.push(corruption(c, rng));
      return `corrupt@${i}:${c}`;
    }
  }
}
