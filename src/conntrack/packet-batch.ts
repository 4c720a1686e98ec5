// A burst of IPv4 packets in one buffer (the way a NIC ring or an AF_PACKET block hands them
// over) and what Conntrack.trackBatch decided for each: typed arrays, filled in place and reused
// from burst to burst, so the batch path allocates nothing.

export class PacketBatch {
  /** The bytes every packet of the burst lives in. */
  buf: Uint8Array;
  /** Packet i is buf[off[i], off[i] + len[i]). */
  readonly off: Int32Array;
  readonly len: Int32Array;
  count = 0;

  constructor(readonly capacity: number, buf: Uint8Array = new Uint8Array(0)) {
    this.buf = buf;
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
  }

  /** Appends the packet at buf[off, off+len) of this.buf; false when the batch is full. */
  push(off: number, len: number): boolean {
    if (this.count === this.capacity) return false;
    this.off[this.count] = off;
    this.len[this.count] = len;
    this.count++;
    return true;
  }

  clear(): void {
    this.count = 0;
  }
}

/** Per packet of a batch: the fields of the Verdict that trackBatch's callers act on. */
export class BatchVerdicts {
  /** Outcome.* */
  readonly outcome: Uint8Array;
  /** CtInfo.* */
  readonly ctinfo: Uint8Array;
  /** Entry index, -1 when none is attached (INVALID, UNTRACKED, DROP). */
  readonly entry: Int32Array;
  readonly dir: Uint8Array;
  /** TCP conntrack state after the packet. */
  readonly state: Uint8Array;
  /** Reason.* code (0 when none). */
  readonly reason: Uint16Array;
  /** 1 when NAT rewrote the packet's bytes. */
  readonly rewritten: Uint8Array;

  constructor(readonly capacity: number) {
    this.outcome = new Uint8Array(capacity);
    this.ctinfo = new Uint8Array(capacity);
    this.entry = new Int32Array(capacity);
    this.dir = new Uint8Array(capacity);
    this.state = new Uint8Array(capacity);
    this.reason = new Uint16Array(capacity);
    this.rewritten = new Uint8Array(capacity);
  }
}
