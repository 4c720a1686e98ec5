// Per-entry TCP tracking state (struct ip_ct_tcp) as struct-of-arrays. Connection-wide fields are
// indexed by entry; per-direction fields (struct ip_ct_tcp_state seen[2]) by entry * 2 + dir.
// Typed arrays keep the hot path allocation-free and the memory per entry small and countable.
// Sequence numbers are kept as int32 (the mod-2^32 comparisons are sign-agnostic) so V8 never boxes
// them into heap numbers; read them back with `>>> 0` for display.

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

export class TcpColumns {
  state!: Uint8Array;
  retrans!: Uint8Array;
  lastIndex!: Uint8Array;
  lastDir!: Uint8Array;
  lastWscale!: Uint8Array;
  lastFlags!: Uint8Array;
  lastSeq!: Int32Array;
  lastAck!: Int32Array;
  lastEnd!: Int32Array;
  lastWin!: Uint16Array;
  // per direction
  tdEnd!: Int32Array;
  tdMaxend!: Int32Array;
  /** Window sizes: below 2^31 (65535 << 14 at most, plus SACK growth). */
  tdMaxwin!: Uint32Array;
  tdMaxack!: Int32Array;
  tdScale!: Uint8Array;
  tdFlags!: Uint8Array;

  constructor(capacity: number) {
    this.resize(capacity);
  }

  resize(capacity: number): void {
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(old: T | undefined, make: (n: number) => T, n: number): T => {
      const a = make(n);
      if (old) a.set(old.subarray(0, Math.min(old.length, n)) as never);
      return a;
    };
    const u8 = (n: number) => new Uint8Array(n);
    const u16 = (n: number) => new Uint16Array(n);
    const u32 = (n: number) => new Uint32Array(n);
    const i32 = (n: number) => new Int32Array(n);
    this.state = grow(this.state, u8, capacity);
    this.retrans = grow(this.retrans, u8, capacity);
    this.lastIndex = grow(this.lastIndex, u8, capacity);
    this.lastDir = grow(this.lastDir, u8, capacity);
    this.lastWscale = grow(this.lastWscale, u8, capacity);
    this.lastFlags = grow(this.lastFlags, u8, capacity);
    this.lastSeq = grow(this.lastSeq, i32, capacity);
    this.lastAck = grow(this.lastAck, i32, capacity);
    this.lastEnd = grow(this.lastEnd, i32, capacity);
    this.lastWin = grow(this.lastWin, u16, capacity);
    this.tdEnd = grow(this.tdEnd, i32, capacity * 2);
    this.tdMaxend = grow(this.tdMaxend, i32, capacity * 2);
    this.tdMaxwin = grow(this.tdMaxwin, u32, capacity * 2);
    this.tdMaxack = grow(this.tdMaxack, i32, capacity * 2);
    this.tdScale = grow(this.tdScale, u8, capacity * 2);
    this.tdFlags = grow(this.tdFlags, u8, capacity * 2);
  }

  /** memset(&ct->proto.tcp, 0, ...) */
  clear(e: number): void {
    this.state[e] = 0;
    this.retrans[e] = 0;
    this.lastIndex[e] = 0;
    this.lastDir[e] = 0;
    this.lastWscale[e] = 0;
    this.lastFlags[e] = 0;
    this.lastSeq[e] = 0;
    this.lastAck[e] = 0;
    this.lastEnd[e] = 0;
    this.lastWin[e] = 0;
    for (let s = e * 2; s < e * 2 + 2; s++) this.clearSide(s, false);
  }

  /** nf_ct_tcp_state_reset (keepLiberal) or a plain memset of one direction. */
  clearSide(side: number, keepLiberal: boolean): void {
    this.tdEnd[side] = 0;
    this.tdMaxend[side] = 0;
    this.tdMaxwin[side] = 0;
    this.tdMaxack[side] = 0;
    this.tdScale[side] = 0;
    this.tdFlags[side] = keepLiberal ? this.tdFlags[side] & TcpSeenFlag.BE_LIBERAL : 0;
  }

  bytesPerEntry(): number {
    return 6 * 1 + 3 * 4 + 2 + 2 * (4 * 4 + 2);
  }
}
