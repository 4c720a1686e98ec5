// nf_conntrack_tcp_packet(), tcp_new() and tcp_error() of nf_conntrack_proto_tcp.c: the table
// lookup, the override rules that refine the table's proposal (re-open, ignore/resync, challenge
// ACKs, simultaneous open, RST validation), the window check, and the common tail that sets
// state, timeout and the ASSURED bit. Version differences are TcpBehaviour switches only.
import { TcpFlag, TcpOptionScan, scanTcpOptions, seqLt, type TcpSegment } from '../wire/index.js';
import { Reason } from './reasons.js';
import { Status } from './status.js';
import { EntryRecords, TcpSeenFlag } from './entry-records.js';
import type { TcpBehaviour } from './tcp-behaviour.js';
import { nextTcpState } from './tcp-state-table.js';
import { Dir, TcpCtState, TcpPacketClass, classifyTcp } from './tcp-states.js';
import { WindowResult, parseSenderOptions, tcpInWindow, type WindowContext } from './tcp-window.js';
import { RstBranch, type Verdict } from './verdict.js';

export const PacketResult = {
  /** Accepted and tracked. */
  ACCEPT: 0,
  /** NF_ACCEPT with nothing changed (ignored packet, window IGNORE, challenge-ack ignored). */
  IGNORE: 1,
  /** -NF_ACCEPT: INVALID. */
  INVALID: 2,
  /** -NF_REPEAT: the entry must die and the packet be looked up again (re-open). */
  REPEAT: 3,
} as const;

/** tcp_valid_flags[]: allowed combinations of FIN/SYN/RST/ACK/URG (PSH, ECE, CWR always allowed). */
const VALID_FLAGS = (() => {
  const t = new Uint8Array(64);
  const { SYN, ACK, RST, FIN, URG } = TcpFlag;
  for (const f of [SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]) t[f] = 1;
  return t;
})();

export interface TrackerSettings {
  loose: boolean;
  beLiberal: boolean;
  maxRetrans: number;
  ignoreInvalidRst: boolean;
  checksum: boolean;
  /** tcp_timeouts[] in ns, indexed by state (+ RETRANS, UNACK). */
  timeouts: Float64Array;
}

export class TcpTracker {
  readonly ctx: WindowContext;
  private readonly scratchScan = new TcpOptionScan();

  constructor(
    readonly records: EntryRecords,
    readonly behaviour: TcpBehaviour,
    readonly settings: TrackerSettings,
  ) {
    this.ctx = { records, behaviour, beLiberal: settings.beLiberal, scan: new TcpOptionScan() };
  }

  /** tcp_error(): truncated header, bad checksum (PREROUTING only), invalid flag combination. */
  tcpError(seg: TcpSegment, src: number, dst: number, prerouting: boolean, v: Verdict): boolean {
    const doff = seg.dataOffset * 4;
    if (doff < 20 || seg.len < doff) {
      v.setReason(Reason.TRUNCATED);
      return true;
    }
    if (this.settings.checksum && prerouting && !seg.verifyChecksum(src, dst)) {
      v.setReason(Reason.BAD_CHECKSUM);
      return true;
    }
    const f = seg.flags & 0xff & ~(TcpFlag.ECE | TcpFlag.CWR | TcpFlag.PSH);
    if (!VALID_FLAGS[f & 63] || f > 63) {
      v.setReason(Reason.BAD_FLAGS);
      return true;
    }
    return false;
  }

  /** tcp_new(): may this first packet create an entry? Initialises the ORIGINAL side if so. */
  tcpNew(e: number, seg: TcpSegment, v: Verdict): boolean {
    const c = this.records;
    const index = classifyTcp(seg.flags);
    const next = nextTcpState(Dir.ORIGINAL, index, TcpCtState.NONE);
    v.tableCell = next;
    if (next >= TcpCtState.INVALID) {
      v.setReason(Reason.INVALID_NEW, 0, index, 0, TcpCtState.NONE);
      return false;
    }
    const end = this.segmentEnd(seg);
    if (next === TcpCtState.SYN_SENT) {
      c.clearTcp(e);
      c.setTdEnd(e * 2, end);
      c.setTdMaxwin(e * 2, seg.window === 0 ? 1 : seg.window);
      c.setTdMaxend(e * 2, end);
      parseSenderOptions(this.ctx, e * 2, seg);
    } else if (!this.settings.loose) {
      v.setReason(Reason.INVALID_NEW, 0, index, 0, TcpCtState.NONE);
      return false;
    } else {
      // Mid-stream pickup (nf_conntrack_tcp_loose=1): trust this packet, be liberal both ways.
      c.clearTcp(e);
      c.setTdEnd(e * 2, end);
      c.setTdMaxwin(e * 2, seg.window === 0 ? 1 : seg.window);
      c.setTdMaxend(e * 2, (end + c.tdMaxwin(e * 2)) | 0);
      c.setTdFlags(e * 2, TcpSeenFlag.SACK_PERM | TcpSeenFlag.BE_LIBERAL);
      c.setTdFlags(e * 2 + 1, TcpSeenFlag.SACK_PERM | TcpSeenFlag.BE_LIBERAL);
    }
    c.setLastIndex(e, TcpPacketClass.NONE);
    return true;
  }

  /** seq + len + SYN + FIN, as int32 like every sequence value in EntryRecords. */
  private segmentEnd(seg: TcpSegment): number {
    const f = seg.flags;
    return (seqOf(seg) + seg.payloadLength + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0)) | 0;
  }

  /** nf_conntrack_tcp_established(): state ESTABLISHED and ASSURED. */
  private established(e: number, status: number): boolean {
    return this.records.state(e) === TcpCtState.ESTABLISHED && (status & Status.ASSURED) !== 0;
  }

  /**
   * nf_conntrack_tcp_packet() after tcp_error/tcp_new. The entry's status gets ASSURED
   * here (SEEN_REPLY is the caller's). Fills v.stateBefore/After, timeout, reason.
   */
  tcpPacket(e: number, dir: 0 | 1, seg: TcpSegment, v: Verdict): number {
    const c = this.records;
    const b = this.behaviour;
    const flags = seg.flags;
    const index = classifyTcp(flags);
    let oldState = c.state(e);
    let newState = nextTcpState(dir, index, oldState);
    v.tableCell = newState;
    const status = c.status(e);
    v.packetClass = index;
    v.stateBefore = oldState;
    v.stateAfter = oldState;
    let skipWindow = false;

    switch (newState) {
      case TcpCtState.SYN_SENT: {
        if (oldState < TcpCtState.TIME_WAIT) break;
        // RFC 1122 4.2.2.13: a new SYN may re-open from TIME_WAIT. Re-open when a FIN closed the old
        // connection (CLOSE_INIT) or our side aborted it with an RST: kill and look up again.
        const closeInit = (c.tdFlags(e * 2) | c.tdFlags(e * 2 + 1)) & TcpSeenFlag.CLOSE_INIT;
        if (closeInit || (c.lastDir(e) === dir && c.lastIndex(e) === TcpPacketClass.RST)) return PacketResult.REPEAT;
        // Otherwise handled like an ignored packet.
        if (this.ignorePath(e, dir, index, seg, oldState, v)) return PacketResult.IGNORE;
        oldState = TcpCtState.SYN_SENT;
        newState = TcpCtState.SYN_RECV;
        break;
      }
      case TcpCtState.IGNORE: {
        if (this.ignorePath(e, dir, index, seg, oldState, v)) return PacketResult.IGNORE;
        // Resync: the SYN/ACK answers a SYN we let through; continue as SYN_SENT -> SYN_RECV.
        oldState = TcpCtState.SYN_SENT;
        newState = TcpCtState.SYN_RECV;
        break;
      }
      case TcpCtState.INVALID:
        // (The SYN-proxy keep-alive exception does not apply: ctsim has no SYNPROXY target.)
        v.setReason(Reason.INVALID_STATE, 0, index, dir, oldState);
        return PacketResult.INVALID;
      case TcpCtState.TIME_WAIT:
        // RFC 5961 challenge ACK answering a SYN we ignored in LAST_ACK: not the last ACK.
        if (oldState === TcpCtState.LAST_ACK && index === TcpPacketClass.ACK && c.lastDir(e) !== dir &&
          c.lastIndex(e) === TcpPacketClass.SYN && (c.lastFlags[e] & TcpSeenFlag.CHALLENGE_ACK)) {
          c.lastFlags[e] &= ~TcpSeenFlag.CHALLENGE_ACK;
          v.setReason(Reason.CHALLENGE_ACK_IGNORED, 0, index, dir, oldState);
          return PacketResult.IGNORE;
        }
        break;
      case TcpCtState.SYN_SENT2:
        c.lastFlags[e] |= TcpSeenFlag.SIMULTANEOUS_OPEN;
        break;
      case TcpCtState.SYN_RECV:
        if (dir === Dir.REPLY && index === TcpPacketClass.ACK && (c.lastFlags[e] & TcpSeenFlag.SIMULTANEOUS_OPEN)) newState = TcpCtState.ESTABLISHED;
        break;
      case TcpCtState.CLOSE: {
        if (index !== TcpPacketClass.RST) break;
        const r = this.rstChecks(e, dir, seg, status, oldState, v);
        if (r === RST_INVALID) return PacketResult.INVALID;
        if (r === RST_SKIP_WINDOW || r === RST_KEEP_STATE_SKIP_WINDOW) skipWindow = true;
        if (r === RST_KEEP_STATE || r === RST_KEEP_STATE_SKIP_WINDOW) newState = oldState;
        break;
      }
    }

    if (!skipWindow) {
      const res = tcpInWindow(this.ctx, e, dir, index, seg, v);
      if (res === WindowResult.IGNORE) return PacketResult.IGNORE;
      if (res === WindowResult.INVALID) {
        if (b.ternaryWindow) this.handleInvalid(e, dir, index, c.status(e), v);
        return PacketResult.INVALID;
      }
    }

    // In window from here on.
    c.setLastIndex(e, index);
    c.setLastDir(e, dir);
    c.setState(e, newState);
    v.stateBefore = oldState;
    v.stateAfter = newState;
    if (oldState !== newState && newState === TcpCtState.FIN_WAIT) c.setTdFlags(e * 2 + dir, c.tdFlags(e * 2 + dir) | TcpSeenFlag.CLOSE_INIT);

    const t = this.settings.timeouts;
    let timeout: number;
    if (c.retrans(e) >= this.settings.maxRetrans && t[newState] > t[TcpCtState.RETRANS]) timeout = t[TcpCtState.RETRANS];
    else if (index === TcpPacketClass.RST && b.rstKeptEstablishedUnack && newState === TcpCtState.ESTABLISHED && t[newState] > t[TcpCtState.UNACK]) timeout = t[TcpCtState.UNACK];
    else if (index === TcpPacketClass.RST && !b.rstKeptEstablishedUnack) timeout = t[TcpCtState.CLOSE];
    else if (((c.tdFlags(e * 2) | c.tdFlags(e * 2 + 1)) & TcpSeenFlag.DATA_UNACKNOWLEDGED) && t[newState] > t[TcpCtState.UNACK]) timeout = t[TcpCtState.UNACK];
    else if (b.zeroWindowRetransTimeout && c.lastWin(e) === 0 && t[newState] > t[TcpCtState.RETRANS]) timeout = t[TcpCtState.RETRANS];
    else timeout = t[newState];

    if (!(status & Status.SEEN_REPLY)) {
      // "If only reply is a RST, we can consider ourselves not to have an established connection":
      // delete the entry at once.
      if (flags & TcpFlag.RST) {
        v.destroyed = true;
        v.setReason(Reason.RST_UNREPLIED, 0, index, dir, oldState);
        return PacketResult.ACCEPT;
      }
      // e15d4cdf27cb: a SYN retransmission must not keep a SYN_SENT entry alive forever.
      if (b.synRetransNoRenew && index === TcpPacketClass.SYN && oldState === TcpCtState.SYN_SENT) return PacketResult.ACCEPT;
      // A picked-up ESTABLISHED entry without reply gets at most the unacknowledged timeout.
      if (b.pickupTimeoutCap && newState === TcpCtState.ESTABLISHED && timeout > t[TcpCtState.UNACK]) timeout = t[TcpCtState.UNACK];
    } else if (!(status & Status.ASSURED) && (oldState === TcpCtState.SYN_RECV || oldState === TcpCtState.ESTABLISHED) && newState === TcpCtState.ESTABLISHED) {
      c.setStatus(e, c.status(e) | Status.ASSURED);
    }
    v.timeoutNs = timeout;
    return PacketResult.ACCEPT;
  }

  /**
   * The IGNORE path. Returns true when the packet is ignored (recorded in last_*), false when it
   * is a SYN/ACK that resynchronises the entry (the caller continues with SYN_SENT -> SYN_RECV).
   */
  private ignorePath(e: number, dir: 0 | 1, index: number, seg: TcpSegment, oldState: number, v: Verdict): boolean {
    const c = this.records;
    const b = this.behaviour;
    if (index === TcpPacketClass.SYNACK && c.lastIndex(e) === TcpPacketClass.SYN && c.lastDir(e) !== dir && ackOf(seg) === c.lastEnd(e)) {
      // The SYN/ACK acknowledges the SYN we ignored: client and server are in sync, we are not.
      // Re-seed the SYN's sender from what we recorded and forget this direction.
      const ld = e * 2 + c.lastDir(e);
      c.setTdEnd(ld, c.lastEnd(e));
      c.setTdMaxend(ld, c.lastEnd(e));
      c.setTdMaxwin(ld, c.lastWin(e) === 0 ? 1 : c.lastWin(e));
      c.setTdScale(ld, c.lastWscale[e]);
      c.lastFlags[e] &= ~TcpSeenFlag.CHALLENGE_ACK;
      c.setTdFlags(ld, c.lastFlags[e]);
      c.clearSide(e * 2 + dir, b.preserveLiberalFlag);
      return false;
    }
    c.setLastIndex(e, index);
    c.setLastDir(e, dir);
    c.setLastSeq(e, seqOf(seg));
    c.setLastEnd(e, this.segmentEnd(seg));
    c.setLastWin(e, seg.window);
    if (index === TcpPacketClass.SYN && dir === Dir.ORIGINAL) {
      // A SYN on a synchronised entry: remember its options so a resync can use them, and that a
      // challenge ACK (RFC 5961 §4) may answer it in LAST_ACK.
      c.lastFlags[e] = 0;
      c.lastWscale[e] = 0;
      const s = scanTcpOptions(seg.buf, seg.optionsOffset, seg.optionsLength, this.scratchScan);
      if (s.wscale >= 0) {
        c.lastFlags[e] |= TcpSeenFlag.WINDOW_SCALE;
        c.lastWscale[e] = Math.min(s.wscale, 14);
      }
      if (s.sackPermitted) c.lastFlags[e] |= TcpSeenFlag.SACK_PERM;
      if (oldState === TcpCtState.LAST_ACK) c.lastFlags[e] |= TcpSeenFlag.CHALLENGE_ACK;
    }
    // c410cb974f2b: an ACK answering our SYN may be an RFC 5961 challenge ACK; remember its ack.
    if (b.challengeAckReuse && oldState === TcpCtState.SYN_SENT && index === TcpPacketClass.ACK && dir === Dir.REPLY) {
      c.setLastAck(e, ackOf(seg));
    }
    v.setReason(Reason.IGNORED, 0, index, dir, oldState);
    return true;
  }

  /** RST validation before the window check (the CLOSE case of nf_conntrack_tcp_packet). */
  private rstChecks(e: number, dir: 0 | 1, seg: TcpSegment, status: number, oldState: number, v: Verdict): number {
    const c = this.records;
    const b = this.behaviour;
    const peer = e * 2 + (dir ^ 1);
    const seq = seqOf(seg);
    // For --explain only: what the checks below look at (nothing here changes the verdict).
    const x = v.rst;
    v.hasRst = true;
    x.seq = seq >>> 0;
    x.ack = ackOf(seg) >>> 0;
    x.peerMaxack = c.tdMaxack(peer) >>> 0;
    x.maxackSet = (c.tdFlags(peer) & TcpSeenFlag.MAXACK_SET) !== 0;
    x.maxackUsed = false;
    x.branch = RstBranch.NONE;
    x.belowMaxack = false;
    x.established = this.established(e, status);
    x.ignoreInvalidRst = b.ignoreInvalidRstSysctl && this.settings.ignoreInvalidRst;
    x.lastIndex = c.lastIndex(e);
    x.lastDir = c.lastDir(e);
    x.lastEnd = c.lastEnd(e) >>> 0;
    x.lastAck = c.lastAck(e) >>> 0;
    x.seenReply = (status & Status.SEEN_REPLY) !== 0;
    x.assured = (status & Status.ASSURED) !== 0;
    // c4edc3ccbc63: when closing, the tuple may already be re-used and every field is stale.
    if (b.rstClosingNoChecks && (oldState === TcpCtState.FIN_WAIT || oldState === TcpCtState.CLOSE_WAIT ||
      oldState === TcpCtState.LAST_ACK || oldState === TcpCtState.TIME_WAIT || oldState === TcpCtState.CLOSE)) {
      x.branch = RstBranch.CLOSING_NO_CHECKS;
      return RST_SKIP_WINDOW;
    }
    const maxackSet = (c.tdFlags(peer) & TcpSeenFlag.MAXACK_SET) !== 0;
    let keepState = false;
    // td_maxack may be outdated if we let a SYN through (c4edc3ccbc63).
    if (maxackSet && (!b.rstReuseChecks || c.lastIndex(e) !== TcpPacketClass.SYN)) {
      x.maxackUsed = true;
      const est = this.established(e, status);
      if (b.rstReuseChecks && seq === 0 && !est) {
        x.branch = RstBranch.SEQ_ZERO;
        return RST_WINDOW;
      }
      if (seqLt(seq, c.tdMaxack(peer)) && !(b.ignoreInvalidRstSysctl && this.settings.ignoreInvalidRst)) {
        x.branch = RstBranch.BELOW_MAXACK;
        v.setReason(Reason.INVALID_RST, 0, TcpPacketClass.RST, dir, oldState);
        return RST_INVALID;
      }
      x.belowMaxack = seqLt(seq, c.tdMaxack(peer));
      if (b.rstExactToClose) {
        if (!est || seq === c.tdMaxack(peer)) {
          x.branch = RstBranch.EXACT;
          return RST_WINDOW;
        }
        // An RST right after our own data ("RST train") counts as exact.
        if (c.lastIndex(e) === TcpPacketClass.ACK && c.lastDir(e) === dir && seq === c.lastEnd(e)) {
          x.branch = RstBranch.RST_TRAIN;
          return RST_WINDOW;
        }
        // Inexact: keep the state so the peer's RFC 5961 challenge ACK can still pass. The kernel
        // then falls through to the "answers a SYN/ACK we let through" test below (reachable
        // with a SYN as last_index only before c4edc3ccbc63, which skips this block after a SYN).
        x.branch = RstBranch.INEXACT_KEEP_STATE;
        keepState = true;
      }
    }
    // The RST answers a SYN or ACK we let through (ignored): accept it without the window check.
    const lastSynOk = (status & Status.SEEN_REPLY) !== 0 && c.lastIndex(e) === TcpPacketClass.SYN && (!b.rstLastDirCheck || c.lastDir(e) !== dir);
    const lastAckOk = !(status & Status.ASSURED) && c.lastIndex(e) === TcpPacketClass.ACK;
    if ((lastSynOk || lastAckOk) && ackOf(seg) === c.lastEnd(e)) {
      x.branch = RstBranch.ANSWERS_IGNORED;
      return keepState ? RST_KEEP_STATE_SKIP_WINDOW : RST_SKIP_WINDOW;
    }
    if (keepState) return RST_KEEP_STATE;
    // c410cb974f2b: the RST answering a challenge ACK we let through in SYN_SENT.
    if (b.challengeAckReuse && oldState === TcpCtState.SYN_SENT && c.lastIndex(e) === TcpPacketClass.ACK &&
      c.lastDir(e) === Dir.REPLY && seq === c.lastAck(e)) {
      x.branch = RstBranch.ANSWERS_CHALLENGE_ACK;
      return RST_SKIP_WINDOW;
    }
    x.branch = RstBranch.WINDOW;
    return RST_WINDOW;
  }

  /**
   * nf_tcp_handle_invalid() (v6.1+): an out-of-window FIN/RST answering a FIN/RST from the other
   * side shortens an ASSURED entry's remaining timeout to the unacknowledged timeout. The caller
   * applies v.timeoutNs when the entry's remaining time is larger.
   */
  private handleInvalid(e: number, dir: 0 | 1, index: number, status: number, v: Verdict): void {
    const c = this.records;
    if (!(status & Status.ASSURED) || (status & Status.FIXED_TIMEOUT)) return;
    if (index !== TcpPacketClass.RST && index !== TcpPacketClass.FIN) return;
    if (c.lastDir(e) !== dir && (c.lastIndex(e) === TcpPacketClass.FIN || c.lastIndex(e) === TcpPacketClass.RST)) {
      v.lowerTimeoutTo = this.settings.timeouts[TcpCtState.UNACK];
    } else {
      c.setLastIndex(e, index);
      c.setLastDir(e, dir);
    }
  }
}

/** SEQ and ACK as int32 (EntryRecords' representation). */
function seqOf(seg: TcpSegment): number {
  return seg.seqI32;
}

function ackOf(seg: TcpSegment): number {
  return seg.ackI32;
}

const RST_WINDOW = 0;
const RST_SKIP_WINDOW = 1;
const RST_INVALID = 2;
const RST_KEEP_STATE = 3;
const RST_KEEP_STATE_SKIP_WINDOW = 4;
