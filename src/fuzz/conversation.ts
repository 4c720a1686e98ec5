// Valid TCP conversations as two endpoints would exchange them: the structured base the
// mutations start from. A Flow keeps each side's next sequence number, receive window, window
// scale, SACK and timestamp options, and emits DraftPackets on its own virtual clock; scenes
// (handshake variants, data, close variants, re-open, the RFC 5961 challenge-ACK exchange) are
// methods, so a flow script reads like a ladder diagram.
import { TcpFlag, seqAdd, type TcpOption } from '../wire/index.js';
import type { DraftPacket } from './draft.js';
import type { FuzzRng } from './rng.js';

const { SYN, ACK, FIN, RST, PSH } = TcpFlag;

export interface Endpoint {
  addr: number;
  port: number;
  /** Next sequence number to send (snd_nxt), unsigned. */
  nxt: number;
  /** Receive window in bytes this side advertises. */
  win: number;
  /** Window scale shift it offers (-1: no option). */
  wscale: number;
  sackOk: boolean;
  ts: boolean;
  tsval: number;
  mss: number;
}

/** Payload bytes: a readable repeating pattern (Wireshark shows "ctsim-fuzz ..."). */
const PATTERN = new TextEncoder().encode('ctsim-fuzz ');
export function payload(len: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = PATTERN[i % PATTERN.length];
  return p;
}

export interface SendOpts {
  len?: number;
  seq?: number;
  ack?: number;
  win?: number;
  options?: TcpOption[];
  /** Do not advance snd_nxt (a retransmission or probe). */
  noAdvance?: boolean;
}

export class Flow {
  readonly out: DraftPacket[] = [];
  /** Both sides offered window scaling on their SYNs. */
  scaling = false;
  tsOn = false;
  sackOn = false;

  constructor(
    readonly id: number,
    readonly rng: FuzzRng,
    public c: Endpoint,
    public s: Endpoint,
    /** Flow clock in ns. */
    public t: number,
    /** Typical one-way delay in ns. */
    readonly delay: number,
    readonly maxPayload: number,
  ) {}

  peer(e: Endpoint): Endpoint {
    return e === this.c ? this.s : this.c;
  }

  /** Moves the flow clock on by about one one-way delay (or `ns`). */
  wait(ns?: number): void {
    this.t += ns ?? Math.max(1, Math.round(this.delay * (0.5 + this.rng.u32() / 0x100000000)));
  }

  windowField(from: Endpoint, syn: boolean): number {
    if (syn || !this.scaling) return Math.min(65535, from.win);
    return Math.min(65535, Math.floor(from.win / 2 ** Math.min(from.wscale, 14)));
  }

  synOptions(from: Endpoint, tsecr = 0): TcpOption[] {
    // Linux's order (tcp_options_write): MSS, SACK_PERM (+TS), NOP, WS.
    const o: TcpOption[] = [{ kind: 'mss', value: from.mss }];
    if (from.sackOk && from.ts) o.push({ kind: 'sack-permitted' }, { kind: 'timestamp', tsval: from.tsval, tsecr });
    else if (from.ts) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: from.tsval, tsecr });
    else if (from.sackOk) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' });
    if (from.wscale >= 0) o.push({ kind: 'nop' }, { kind: 'wscale', shift: from.wscale });
    return o;
  }

  dataOptions(from: Endpoint, sack?: Array<[number, number]>): TcpOption[] {
    const o: TcpOption[] = [];
    if (this.tsOn) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval: from.tsval, tsecr: this.peer(from).tsval });
    if (sack && sack.length && this.sackOn) o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: sack.slice(0, this.tsOn ? 3 : 4) });
    return o;
  }

  /** Emits one segment from `from` at the flow clock. */
  send(from: Endpoint, flags: number, o: SendOpts = {}): DraftPacket {
    const to = this.peer(from);
    const len = o.len ?? 0;
    const syn = (flags & SYN) !== 0;
    const seq = (o.seq ?? from.nxt) >>> 0;
    from.tsval = (from.tsval + 1 + Math.floor(this.delay / 1e6)) >>> 0;
    const d: DraftPacket = {
      timeNs: this.t,
      flow: this.id,
      fromClient: from === this.c,
      peerWindow: Math.max(1, to.win),
      edits: [],
      spec: {
        src: from.addr, dst: to.addr, srcPort: from.port, dstPort: to.port, seq,
        ack: flags & ACK ? (o.ack ?? to.nxt) >>> 0 : (o.ack ?? 0) >>> 0,
        flags,
        window: o.win ?? (flags & RST ? 0 : this.windowField(from, syn)),
        options: o.options ?? (flags & RST ? [] : syn ? this.synOptions(from, flags & ACK ? to.tsval : 0) : this.dataOptions(from)),
        payload: payload(len),
        identification: this.rng.int(0, 0xffff),
      },
    };
    if (!o.noAdvance) from.nxt = seqAdd(seq, len + (syn ? 1 : 0) + (flags & FIN ? 1 : 0));
    this.out.push(d);
    return d;
  }

  private negotiate(): void {
    this.scaling = this.c.wscale >= 0 && this.s.wscale >= 0;
    this.tsOn = this.c.ts && this.s.ts;
    this.sackOn = this.c.sackOk && this.s.sackOk;
  }

  dataLen(): number {
    const max = Math.max(1, this.maxPayload);
    return this.rng.weighted([[5, this.rng.int(1, Math.min(32, max))], [3, this.rng.int(1, Math.max(1, max >> 1))], [1, max]]);
  }

  // ---- opening scenes -------------------------------------------------------------------

  handshake(): void {
    this.send(this.c, SYN);
    this.wait();
    this.send(this.s, SYN | ACK);
    this.negotiate();
    this.wait();
    this.send(this.c, ACK);
  }

  /** SYN retransmitted k times (1 s, 2 s, 4 s ... apart) before the SYN/ACK. */
  synRetransmit(k: number, answered: boolean): void {
    const isn = this.c.nxt;
    this.send(this.c, SYN);
    for (let i = 0; i < k; i++) {
      this.wait(1e9 * 2 ** i);
      this.send(this.c, SYN, { seq: isn });
    }
    if (!answered) return;
    this.wait();
    this.send(this.s, SYN | ACK);
    this.negotiate();
    this.wait();
    this.send(this.c, ACK);
  }

  /** The SYN/ACK is retransmitted (the final ACK was lost), then the ACK. */
  synAckRetransmit(): void {
    this.send(this.c, SYN);
    this.wait();
    const sisn = this.s.nxt;
    this.send(this.s, SYN | ACK);
    this.negotiate();
    this.wait(1e9);
    this.send(this.s, SYN | ACK, { seq: sisn, noAdvance: true });
    this.wait();
    this.send(this.c, ACK);
  }

  /** A closed port: SYN answered by RST/ACK (seq 0, ack = ISN + 1). */
  synRefused(): void {
    this.send(this.c, SYN);
    this.wait();
    this.send(this.s, RST | ACK, { seq: 0, noAdvance: true });
  }

  /** RFC 9293 simultaneous open: SYNs cross, then SYN/ACKs cross. */
  simultaneousOpen(): void {
    const cisn = this.c.nxt;
    const sisn = this.s.nxt;
    this.send(this.c, SYN);
    this.wait(this.delay >> 2);
    this.send(this.s, SYN);
    this.negotiate();
    this.wait();
    this.send(this.c, SYN | ACK, { seq: cisn, noAdvance: true });
    this.wait(this.delay >> 2);
    this.send(this.s, SYN | ACK, { seq: sisn, noAdvance: true });
    if (this.rng.chance(0.5)) {
      this.wait();
      this.send(this.c, ACK);
    }
  }

  /** A conversation picked up mid-stream (no handshake seen): needs nf_conntrack_tcp_loose. */
  pickup(): void {
    this.c.wscale = -1;
    this.s.wscale = -1;
    this.negotiate();
    this.send(this.c, ACK | PSH, { len: this.dataLen() });
    this.wait();
    this.send(this.s, ACK);
  }

  /** A SYN carrying data (TCP Fast Open style): conntrack counts the payload into td_end. */
  synWithData(): void {
    this.send(this.c, SYN, { len: Math.min(this.dataLen(), 64) });
    this.wait();
    this.send(this.s, SYN | ACK);
    this.negotiate();
    this.wait();
    this.send(this.c, ACK);
  }

  // ---- middle scenes --------------------------------------------------------------------

  /** `from` sends a segment (or two, possibly out of order with SACK), the peer ACKs. */
  data(from: Endpoint): void {
    const to = this.peer(from);
    const len = Math.min(this.dataLen(), Math.max(1, to.win));
    if (this.sackOn && this.rng.chance(0.25) && len > 1) {
      const a = from.nxt;
      const l1 = len >> 1;
      const l2 = len - l1;
      this.send(from, ACK | PSH, { seq: seqAdd(a, l1), len: l2, noAdvance: true });
      this.wait();
      this.send(to, ACK, { ack: a, options: this.dataOptions(to, [[seqAdd(a, l1), seqAdd(a, len)]]) });
      this.wait();
      this.send(from, ACK, { seq: a, len: l1, noAdvance: true });
      from.nxt = seqAdd(a, len);
      this.wait();
      this.send(to, ACK);
      return;
    }
    this.send(from, ACK | PSH, { len });
    this.wait();
    if (this.rng.chance(0.85)) this.send(to, ACK);
  }

  /** The receiver closes its window; the sender probes; the window opens again. */
  zeroWindow(from: Endpoint): void {
    const to = this.peer(from);
    const saved = to.win;
    to.win = 0;
    this.send(to, ACK);
    this.wait(2e8);
    // Linux's zero-window probe: an old sequence number (snd_una - 1), no data.
    this.send(from, ACK, { seq: seqAdd(from.nxt, -1), noAdvance: true });
    this.wait();
    this.send(to, ACK);
    to.win = saved;
    this.wait(1e9);
    this.send(to, ACK);
  }

  /** A keepalive (seq = snd_nxt - 1, maybe one garbage byte) and its answer. */
  keepalive(from: Endpoint): void {
    const to = this.peer(from);
    this.wait(this.rng.pick([75e9, 7200e9, 1e9]));
    this.send(from, ACK, { seq: seqAdd(from.nxt, -1), len: this.rng.int(0, 1), noAdvance: true });
    this.wait();
    this.send(to, ACK);
  }

  /** Three duplicate ACKs (fast retransmit trigger) and the retransmission. */
  dupAcks(from: Endpoint): void {
    const to = this.peer(from);
    const a = from.nxt;
    const len = Math.min(this.dataLen(), Math.max(1, to.win));
    this.send(from, ACK | PSH, { len });
    this.wait();
    for (let i = 0; i < 3; i++) this.send(to, ACK, { ack: a });
    this.wait();
    this.send(from, ACK | PSH, { seq: a, len, noAdvance: true });
    this.wait();
    this.send(to, ACK);
  }

  windowUpdate(from: Endpoint): void {
    from.win = this.rng.pick([1, 1024, 65535, 262144, 1 << 20, from.win * 2]);
    this.send(from, ACK);
  }

  // ---- closing scenes -------------------------------------------------------------------

  /** FIN from `first`, ACK, FIN from the other side, ACK: both go through TIME_WAIT. */
  close(first: Endpoint): void {
    const second = this.peer(first);
    this.send(first, FIN | ACK);
    this.wait();
    if (this.rng.chance(0.4)) {
      this.send(second, FIN | ACK); // FIN and ACK in one segment
    } else {
      this.send(second, ACK);
      if (this.rng.chance(0.3)) {
        this.wait();
        this.data(second);
      }
      this.wait();
      this.send(second, FIN | ACK);
    }
    this.wait();
    this.send(first, ACK);
  }

  simultaneousClose(): void {
    this.send(this.c, FIN | ACK, { ack: this.s.nxt });
    this.send(this.s, FIN | ACK, { ack: seqAdd(this.c.nxt, -1) });
    this.wait();
    this.send(this.c, ACK);
    this.send(this.s, ACK);
  }

  /** The seed incident's half-close: the server FINs, the client ACKs and sits in CLOSE_WAIT. */
  halfClose(idleNs: number): void {
    this.send(this.s, FIN | ACK);
    this.wait();
    this.send(this.c, ACK);
    this.wait(idleNs);
    this.send(this.c, FIN | ACK);
    this.wait();
    if (this.rng.chance(0.5)) this.send(this.s, ACK);
    else this.send(this.s, RST, { noAdvance: true }); // the server's socket is gone: tcp_v4_send_reset, seq = the FIN's ack
  }

  /** An abort: RST (exact seq) or RST/ACK from `from`. */
  abort(from: Endpoint): void {
    this.send(from, this.rng.chance(0.5) ? RST : RST | ACK, { noAdvance: true });
  }

  // ---- port reuse ------------------------------------------------------------------------

  /** A new connection on the same four-tuple: a fresh ISN after (or before) the old one. */
  reopen(): void {
    const old = this.c.nxt;
    this.c.nxt = this.rng.weighted([
      [3, seqAdd(old, this.rng.int(1, 1 << 20))],
      [2, seqAdd(old, -this.rng.int(1, 1 << 20))],
      [1, seqAdd(old, 0x80000000)],
      [2, this.rng.u32()],
    ]);
    this.s.nxt = this.rng.u32();
    this.handshake();
  }

  /**
   * The port-collision exchange: a new SYN meets a peer still holding the old connection; it
   * answers with an RFC 5961 challenge ACK (its snd_nxt / rcv_nxt), the client answers that
   * with an RST whose seq is the challenge's ack, and retransmits the SYN (k times).
   */
  challengeAck(k: number): void {
    const oldClientNxt = this.c.nxt;
    const newIsn = this.rng.weighted([
      [2, seqAdd(oldClientNxt, this.rng.int(1, 1 << 28))],
      [2, seqAdd(oldClientNxt, -this.rng.int(1, 1 << 28))],
      [1, this.rng.u32()],
    ]);
    for (let i = 0; i <= k; i++) {
      if (i > 0) this.wait(1e9 * 2 ** (i - 1));
      this.send(this.c, SYN, { seq: newIsn, noAdvance: true, options: this.synOptions(this.c) });
      this.wait();
      this.send(this.s, ACK, { ack: oldClientNxt, noAdvance: true });
      this.wait(this.delay >> 3);
      this.send(this.c, RST, { seq: oldClientNxt, noAdvance: true, win: 0 });
    }
    this.c.nxt = seqAdd(newIsn, 1);
  }
}
