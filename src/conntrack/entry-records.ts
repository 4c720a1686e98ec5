// Per-entry state: what nf_conntrack_in() reads and writes for every packet of a connection
// (ct->status, ct->timeout and struct ip_ct_tcp with its seen[2]) in one 64-byte record per
// entry, cache-line aligned. At a million random flows every packet's entry is a cache miss and
// a TLB miss: one record is one line and one page, where a column per field was 18 of each
// (touching them cost 168 ns per entry against 29 ns for a record and the tuples, measured with
// 1e6 entries). The fields only the IGNORE paths use (last_wscale, last_flags) are columns.
// Sequence numbers are int32 (the mod-2^32 comparisons are sign-agnostic), so V8 never boxes
// them into heap numbers; read them back with `>>> 0` for display.
//
// Record layout (byte offsets). A direction's ip_ct_tcp_state is side s = entry * 2 + dir, 32
// bytes at s * 32; the entry-wide fields fill the sides' spare bytes:
//   side +0 td_end, +4 td_maxend, +8 td_maxwin, +12 td_maxack, +16 td_scale, +17 flags
//   18 state, 19 retrans, 20 last_seq, 24 timeout (f64, ns),
//   50 last_index, 51 last_dir, 52 last_ack, 56 last_end, 60 status (u16), 62 last_win (u16)
import { alignedBuffer } from './aligned-buffer.js';

/** ip_ct_tcp_state.flags bits (include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export const TcpSeenFlag = {
  WINDOW_SCALE: 0x01,
  SACK_PERM: 0x02,
  CLOSE_INIT: 0x04,
  BE_LIBERAL: 0x08,
  DATA_UNACKNOWLEDGED: 0x10,
  MAXACK_SET: 0x20,
  /** Only in last_flags: an RFC 5961 challenge ACK is expected (SYN seen in LAST_ACK). */
  CHALLENGE_ACK: 0x40,
  /** Only in last_flags: simultaneous open seen. */
  SIMULTANEOUS_OPEN: 0x80,
} as const;

// The accessors index the views with literal offsets (the layout above, in elements of each
// view: u16 element 30 is byte 60): a module constant is a context-slot load and a hole check in
// V8's bytecode, in every accessor on the hot path.
const RECORD_BYTES = 64;

export class EntryRecords {
  capacity = 0;
  // Initialised with (empty) arrays of their final types: a field that first held undefined
  // keeps a generic type in V8, and every access through it then checks the array's map.
  private i32 = new Int32Array(0);
  private u32 = new Uint32Array(0);
  private u16 = new Uint16Array(0);
  private u8 = new Uint8Array(0);
  private f64 = new Float64Array(0);
  /** ip_ct_tcp.last_wscale and last_flags: only the IGNORE paths touch them. */
  lastWscale = new Uint8Array(0);
  lastFlags = new Uint8Array(0);

  constructor(capacity: number) {
    this.resize(capacity);
  }

  /** Grows (or shrinks) to `capacity` entries, keeping the records of the entries that remain. */
  resize(capacity: number): void {
    const buf = alignedBuffer(capacity * RECORD_BYTES);
    const keep = Math.min(this.capacity, capacity);
    if (keep > 0) new Uint8Array(buf, 0, keep * RECORD_BYTES).set(this.u8.subarray(0, keep * RECORD_BYTES));
    const words = capacity * (RECORD_BYTES / 4);
    this.i32 = new Int32Array(buf, 0, words);
    this.u32 = new Uint32Array(buf, 0, words);
    this.u16 = new Uint16Array(buf, 0, words * 2);
    this.u8 = new Uint8Array(buf, 0, words * 4);
    this.f64 = new Float64Array(buf, 0, words / 2);
    const column = (old: Uint8Array) => {
      const a = new Uint8Array(capacity);
      a.set(old.subarray(0, keep));
      return a;
    };
    this.lastWscale = column(this.lastWscale);
    this.lastFlags = column(this.lastFlags);
    this.capacity = capacity;
  }

  // ct->status, ct->timeout (the virtual clock's ns at which the entry expires)
  status(e: number): number { return this.u16[e * 32 + 30]; }
  setStatus(e: number, v: number): void { this.u16[e * 32 + 30] = v; }
  timeoutAt(e: number): number { return this.f64[e * 8 + 3]; }
  setTimeoutAt(e: number, t: number): void { this.f64[e * 8 + 3] = t; }

  // struct ip_ct_tcp
  state(e: number): number { return this.u8[e * 64 + 18]; }
  setState(e: number, v: number): void { this.u8[e * 64 + 18] = v; }
  retrans(e: number): number { return this.u8[e * 64 + 19]; }
  setRetrans(e: number, v: number): void { this.u8[e * 64 + 19] = v; }
  lastIndex(e: number): number { return this.u8[e * 64 + 50]; }
  setLastIndex(e: number, v: number): void { this.u8[e * 64 + 50] = v; }
  lastDir(e: number): number { return this.u8[e * 64 + 51]; }
  setLastDir(e: number, v: number): void { this.u8[e * 64 + 51] = v; }
  lastSeq(e: number): number { return this.i32[e * 16 + 5]; }
  setLastSeq(e: number, v: number): void { this.i32[e * 16 + 5] = v; }
  lastAck(e: number): number { return this.i32[e * 16 + 13]; }
  setLastAck(e: number, v: number): void { this.i32[e * 16 + 13] = v; }
  lastEnd(e: number): number { return this.i32[e * 16 + 14]; }
  setLastEnd(e: number, v: number): void { this.i32[e * 16 + 14] = v; }
  lastWin(e: number): number { return this.u16[e * 32 + 31]; }
  setLastWin(e: number, v: number): void { this.u16[e * 32 + 31] = v; }

  // struct ip_ct_tcp_state seen[dir], by side s = entry * 2 + dir
  tdEnd(s: number): number { return this.i32[s * 8]; }
  setTdEnd(s: number, v: number): void { this.i32[s * 8] = v; }
  tdMaxend(s: number): number { return this.i32[s * 8 + 1]; }
  setTdMaxend(s: number, v: number): void { this.i32[s * 8 + 1] = v; }
  /** Window sizes: below 2^31 (65535 << 14 at most, plus SACK growth), kept unsigned. */
  tdMaxwin(s: number): number { return this.u32[s * 8 + 2]; }
  setTdMaxwin(s: number, v: number): void { this.u32[s * 8 + 2] = v; }
  tdMaxack(s: number): number { return this.i32[s * 8 + 3]; }
  setTdMaxack(s: number, v: number): void { this.i32[s * 8 + 3] = v; }
  tdScale(s: number): number { return this.u8[s * 32 + 16]; }
  setTdScale(s: number, v: number): void { this.u8[s * 32 + 16] = v; }
  tdFlags(s: number): number { return this.u8[s * 32 + 17]; }
  setTdFlags(s: number, v: number): void { this.u8[s * 32 + 17] = v; }

  /**
   * Reads one word of entry e's record and returns it: trackBatch calls this for a burst's
   * entries before tracking any of them, so their misses overlap.
   */
  touch(e: number): number {
    return this.i32[e * 16];
  }

  /** memset(&ct->proto.tcp, 0, ...): the TCP part of the record (status and timeout stay). */
  clearTcp(e: number): void {
    this.setState(e, 0);
    this.setRetrans(e, 0);
    this.setLastIndex(e, 0);
    this.setLastDir(e, 0);
    this.setLastSeq(e, 0);
    this.setLastAck(e, 0);
    this.setLastEnd(e, 0);
    this.setLastWin(e, 0);
    this.lastWscale[e] = 0;
    this.lastFlags[e] = 0;
    for (let s = e * 2; s < e * 2 + 2; s++) this.clearSide(s, false);
  }

  /** nf_ct_tcp_state_reset (keepLiberal) or a plain memset of one direction. */
  clearSide(s: number, keepLiberal: boolean): void {
    this.setTdEnd(s, 0);
    this.setTdMaxend(s, 0);
    this.setTdMaxwin(s, 0);
    this.setTdMaxack(s, 0);
    this.setTdScale(s, 0);
    this.setTdFlags(s, keepLiberal ? this.tdFlags(s) & TcpSeenFlag.BE_LIBERAL : 0);
  }

  /** Bytes held: the records' buffer and the two columns. */
  memoryBytes(): number {
    return this.u8.buffer.byteLength + this.lastWscale.byteLength + this.lastFlags.byteLength;
  }
}
