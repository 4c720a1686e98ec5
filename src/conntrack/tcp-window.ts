// tcp_in_window() of nf_conntrack_proto_tcp.c: per-direction window tracking and the four
// acceptance checks (Guido van Rooij's "Real Stateful TCP Packet Filtering in IP Filter",
// adapted to RFC 793 by the kernel):
//   I.   seq  <= sender.td_maxend                                (upper bound for data)
//   II.  end  >= sender.td_end - receiver.td_maxwin              (lower bound for data)
//   III. sack <= receiver.td_end                                 (upper bound for (s)ack)
//   IV.  sack >= receiver.td_end - MAXACKWINDOW(sender)          (lower bound for (s)ack)
// Two generations are modelled: the boolean one (<= 6.0: any failure INVALID, one combined log)
// and the ternary one (>= 6.1: I/III INVALID, II/IV IGNORE, checked in order I, III, II, IV).
// In both, be_liberal turns a failure into ACCEPT *without* the state update that follows.
import { TcpFlag, TcpOptionScan, isAlignedTimestampOnly, scanTcpOptions, seqAfter, seqLt, type TcpSegment } from '../wire/index.js';
import { Reason } from './reasons.js';
import { EntryRecords, TcpSeenFlag } from './entry-records.js';
import type { TcpBehaviour } from './tcp-behaviour.js';
import { Dir, TcpCtState, TcpPacketClass } from './tcp-states.js';
import type { Verdict } from './verdict.js';

export const WindowResult = { ACCEPT: 0, IGNORE: 1, INVALID: 2 } as const;

const MAXACKWINCONST = 66000;
/** RFC 7323 §2.3: shifts above 14 are treated as 14. */
const TCP_MAX_WSCALE = 14;

export interface WindowContext {
  records: EntryRecords;
  behaviour: TcpBehaviour;
  beLiberal: boolean;
  scan: TcpOptionScan;
}

/** tcp_options(): window scale (capped at 14) and SACK_PERM into a sender's flags. */
export function parseSenderOptions(ctx: WindowContext, side: number, seg: TcpSegment): void {
  const c = ctx.records;
  const s = scanTcpOptions(seg.buf, seg.optionsOffset, seg.optionsLength, ctx.scan);
  if (seg.optionsLength === 0) return; // the kernel returns before clearing when there are no options
  c.setTdScale(side, 0);
  // "preserve liberal flag in tcp options" (f2dd495a8d58): keep BE_LIBERAL, clear the rest.
  c.setTdFlags(side, ctx.behaviour.preserveLiberalFlag ? c.tdFlags(side) & TcpSeenFlag.BE_LIBERAL : 0);
  if (s.sackPermitted) c.setTdFlags(side, c.tdFlags(side) | TcpSeenFlag.SACK_PERM);
  if (s.wscale >= 0) {
    c.setTdScale(side, Math.min(s.wscale, TCP_MAX_WSCALE));
    c.setTdFlags(side, c.tdFlags(side) | TcpSeenFlag.WINDOW_SCALE);
  }
}

/** tcp_init_sender(): a SYN/SYN-ACK (re)initialises its sender's window state. */
function initSender(ctx: WindowContext, sender: number, receiver: number, seg: TcpSegment, end: number, win: number, dir: number): void {
  const c = ctx.records;
  c.setTdEnd(sender, end);
  c.setTdMaxend(sender, end);
  c.setTdMaxwin(sender, win === 0 ? 1 : win);
  parseSenderOptions(ctx, sender, seg);
  // RFC 7323 §2.2: scaling needs the option from both sides. Before "correct window scaling with
  // retransmitted SYN" (fb366fc7541a) the reset ran for either direction.
  const bothScale = (c.tdFlags(sender) & TcpSeenFlag.WINDOW_SCALE) !== 0 && (c.tdFlags(receiver) & TcpSeenFlag.WINDOW_SCALE) !== 0;
  if (!bothScale && (!ctx.behaviour.scaleResetReplyOnly || dir === Dir.REPLY)) {
    c.setTdScale(sender, 0);
    c.setTdScale(receiver, 0);
  }
}

/** The highest acknowledged sequence number counting SACK blocks, when the receiver allowed SACK (tcp_sack()). */
function sackOf(ctx: WindowContext, seg: TcpSegment, ack: number): number {
  const off = seg.optionsOffset;
  const len = seg.optionsLength;
  // tcp_sack() returns at once for no options and for the timestamp-only layout.
  if (len === 0 || isAlignedTimestampOnly(seg.buf, off, len)) return ack;
  return scanTcpOptions(seg.buf, off, len, ctx.scan).sackFrom(ack);
}

function fillExplain(v: Verdict, ctx: WindowContext, check: Verdict['explain']['check'], seq: number, end: number, ack: number, sack: number, win: number, sender: number, receiver: number): void {
  const c = ctx.records;
  const x = v.explain;
  v.hasExplain = true;
  x.check = check;
  x.seq = seq >>> 0; x.end = end >>> 0; x.ack = ack >>> 0; x.sack = sack >>> 0; x.win = win;
  x.senderEnd = c.tdEnd(sender) >>> 0; x.senderMaxend = c.tdMaxend(sender) >>> 0; x.senderMaxwin = c.tdMaxwin(sender); x.senderScale = c.tdScale(sender);
  x.receiverEnd = c.tdEnd(receiver) >>> 0; x.receiverMaxend = c.tdMaxend(receiver) >>> 0; x.receiverMaxwin = c.tdMaxwin(receiver); x.receiverScale = c.tdScale(receiver);
}

/**
 * Runs the window check for the packet `seg` of entry `e` in direction `dir` with packet class
 * `index`; updates the per-direction state on acceptance. Writes the reason into `v` on failure.
 */
export function tcpInWindow(ctx: WindowContext, e: number, dir: 0 | 1, index: number, seg: TcpSegment, v: Verdict): number {
  const c = ctx.records;
  const b = ctx.behaviour;
  const sender = e * 2 + dir;
  const receiver = e * 2 + (dir ^ 1);
  const flags = seg.flags;
  const syn = (flags & TcpFlag.SYN) !== 0;
  const hasAck = (flags & TcpFlag.ACK) !== 0;
  const rst = (flags & TcpFlag.RST) !== 0;
  const state = c.state(e);

  // Sequence values are int32 throughout (see EntryRecords): same mod-2^32 results, no boxing.
  let seq = seg.seqI32;
  let ack = seg.ackI32;
  const winRaw = seg.window;
  let win = winRaw;
  let end = (seq + seg.payloadLength + (syn ? 1 : 0) + (flags & TcpFlag.FIN ? 1 : 0)) | 0;
  let sack = c.tdFlags(receiver) & TcpSeenFlag.SACK_PERM ? sackOf(ctx, seg, ack) : ack;
  // (The NAT sequence adjustment of helpers such as FTP is zero here: ctsim has no ALGs.)

  if (c.tdMaxwin(sender) === 0) {
    // First packet seen from this side.
    if (syn) {
      initSender(ctx, sender, receiver, seg, end, win, dir);
      if (!hasAck) return WindowResult.ACCEPT; // simultaneous open
    } else {
      // A picked-up connection: its history is lost, trust this packet.
      c.setTdEnd(sender, end);
      const swin = (win << c.tdScale(sender)) >>> 0;
      c.setTdMaxwin(sender, swin === 0 ? 1 : swin);
      c.setTdMaxend(sender, (end + c.tdMaxwin(sender)) | 0);
      if (c.tdMaxwin(receiver) === 0) {
        c.setTdEnd(receiver, sack);
        c.setTdMaxend(receiver, sack);
      } else if (b.keepaliveReplyBump && sack === ((c.tdEnd(receiver) + 1) | 0)) {
        c.setTdEnd(receiver, (c.tdEnd(receiver) + 1) | 0); // likely a keepalive reply: needed for III
      }
    }
  } else if (b.reinitSynOnly) {
    // "re-init for syn packets only" (c7aab4f17021, v5.18): only a newer SYN or SYN-ACK re-seeds.
    if (syn && seqAfter(end, c.tdEnd(sender)) && (state === TcpCtState.SYN_SENT || state === TcpCtState.SYN_RECV)) {
      initSender(ctx, sender, receiver, seg, end, win, dir);
      if (dir === Dir.REPLY && !hasAck) return WindowResult.ACCEPT;
    }
  } else if (((state === TcpCtState.SYN_SENT && dir === Dir.ORIGINAL) || (state === TcpCtState.SYN_RECV && dir === Dir.REPLY)) && seqAfter(end, c.tdEnd(sender))) {
    // RFC 793: a reinitialised TCP "must only be sure to use sequence numbers larger than those
    // recently used". Before v5.18 this applied to ANY packet class: the RST answering a challenge
    // ACK re-seeded the window here and so passed whenever its seq was "after" the SYN's.
    c.setTdEnd(sender, end);
    c.setTdMaxend(sender, end);
    c.setTdMaxwin(sender, win === 0 ? 1 : win);
    parseSenderOptions(ctx, sender, seg);
  } else if (b.synackReinit && syn && dir === Dir.REPLY && state === TcpCtState.SYN_SENT) {
    // "re-init state for retransmitted syn-ack" (82b72cb94666, v5.17): a SYN/ACK seen while the
    // entry is still SYN_SENT (the first one was out of window) re-initialises its sender like
    // the first one, whatever its sequence number; a SYN (simultaneous open) is accepted.
    initSender(ctx, sender, receiver, seg, end, win, dir);
    if (!hasAck) return WindowResult.ACCEPT;
  }

  if (!hasAck) {
    ack = sack = c.tdEnd(receiver); // no ACK: pretend it was set and fine
  } else if (rst && ack === 0) {
    ack = sack = c.tdEnd(receiver); // broken stacks send RST+ACK with ack 0
  }

  if (rst && seq === 0 && state === TcpCtState.SYN_SENT) {
    seq = end = c.tdEnd(sender); // RST answering a SYN
  }

  const sEnd = c.tdEnd(sender);
  const sMaxend = c.tdMaxend(sender);
  const rEnd = c.tdEnd(receiver);
  const rMaxwin = c.tdMaxwin(receiver);
  const maxAckWindow = c.tdMaxwin(sender) > MAXACKWINCONST ? c.tdMaxwin(sender) : MAXACKWINCONST;
  const okI = seqLt(seq, sMaxend + 1);
  const okII = rMaxwin === 0 || seqAfter(end, sEnd - rMaxwin - 1);
  const okIII = seqLt(sack, rEnd + 1);
  const okIV = seqAfter(sack, rEnd - maxAckWindow - 1);
  const liberal = ctx.beLiberal || (c.tdFlags(sender) & TcpSeenFlag.BE_LIBERAL) !== 0;

  if (!(okI && okII && okIII && okIV)) {
    // "work around exceeded receive window" (cf97769c761a): only I fails and the overshoot fits
    // the receiver's window: remember the data so its ACK does not fail III later.
    // (5.15.y's boolean backport runs it only when the packet is not already liberally accepted.)
    if (b.overWindowWorkaround && !okI && (b.ternaryWindow || !liberal)) {
      const overshot = (end - sMaxend + 1) >>> 0;
      const inRecvWin = rMaxwin !== 0 && okII;
      if (inRecvWin && okIV && overshot <= rMaxwin && okIII) {
        fillExplain(v, ctx, 'OVERSHOOT', seq, end, ack, sack, win, sender, receiver);
        c.setTdEnd(sender, end);
        c.setTdFlags(sender, c.tdFlags(sender) | TcpSeenFlag.DATA_UNACKNOWLEDGED);
        if (liberal) return WindowResult.ACCEPT;
        v.setReason(Reason.OVERSHOT, overshot);
        return b.ternaryWindow ? WindowResult.IGNORE : WindowResult.INVALID;
      }
    }
    if (b.ternaryWindow) {
      // Order I, III, II, IV; the first failure decides.
      if (!okI) return fail(v, ctx, liberal, 'I', Reason.SEQ_OVER, sMaxend + 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
      if (!okIII) return fail(v, ctx, liberal, 'III', Reason.ACK_OVER, rEnd + 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
      if (!okII) return fail(v, ctx, liberal, 'II', Reason.SEQ_UNDER, sEnd - rMaxwin - 1, WindowResult.IGNORE, seq, end, ack, sack, win, sender, receiver);
      return fail(v, ctx, liberal, 'IV', Reason.ACK_UNDER, rEnd - maxAckWindow - 1, WindowResult.IGNORE, seq, end, ack, sack, win, sender, receiver);
    }
    // Boolean generation: one combined message naming the first failing of I, II, III, IV.
    if (!okI) return fail(v, ctx, liberal, 'I', Reason.SEQ_OVER, sMaxend + 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
    if (!okII) return fail(v, ctx, liberal, 'II', Reason.SEQ_UNDER, sEnd - rMaxwin - 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
    if (!okIII) return fail(v, ctx, liberal, 'III', Reason.ACK_OVER, rEnd + 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
    return fail(v, ctx, liberal, 'IV', Reason.ACK_UNDER, rEnd - maxAckWindow - 1, WindowResult.INVALID, seq, end, ack, sack, win, sender, receiver);
  }

  // In window: update sender and receiver (RFC 7323 scaling applies to non-SYN segments). The
  // bounds read above still hold (nothing wrote them since); the sender's flags are written once.
  if (!syn) win = win << c.tdScale(sender); // <= 65535 << 14: below 2^31
  const swin = (win + ((sack - ack) | 0)) >>> 0;
  if (c.tdMaxwin(sender) < swin) c.setTdMaxwin(sender, swin);
  let senderFlags = c.tdFlags(sender);
  if (seqAfter(end, sEnd)) {
    c.setTdEnd(sender, end);
    senderFlags |= TcpSeenFlag.DATA_UNACKNOWLEDGED;
  }
  if (hasAck) {
    if (!(senderFlags & TcpSeenFlag.MAXACK_SET)) {
      c.setTdMaxack(sender, ack);
      senderFlags |= TcpSeenFlag.MAXACK_SET;
    } else if (seqAfter(ack, c.tdMaxack(sender))) {
      c.setTdMaxack(sender, ack);
    }
  }
  c.setTdFlags(sender, senderFlags);
  if (rMaxwin !== 0 && seqAfter(end, sMaxend)) c.setTdMaxwin(receiver, (rMaxwin + ((end - sMaxend) | 0)) >>> 0);
  // A zero window still leaves room for one byte (a window probe).
  if (seqAfter(sack + win, c.tdMaxend(receiver) - 1)) c.setTdMaxend(receiver, (sack + win + (win === 0 ? 1 : 0)) | 0);
  if (ack === rEnd) c.setTdFlags(receiver, c.tdFlags(receiver) & ~TcpSeenFlag.DATA_UNACKNOWLEDGED);

  // Retransmission counting (class ACK only): the same segment again from the same side.
  if (index === TcpPacketClass.ACK) {
    if (c.lastDir(e) === dir && c.lastSeq(e) === seq && c.lastAck(e) === ack && c.lastEnd(e) === end && c.lastWin(e) === winRaw) {
      if (c.retrans(e) < 255) c.setRetrans(e, c.retrans(e) + 1);
    } else {
      c.setLastDir(e, dir);
      c.setLastSeq(e, seq);
      c.setLastAck(e, ack);
      c.setLastEnd(e, end);
      c.setLastWin(e, winRaw);
      c.setRetrans(e, 0);
    }
  }
  return WindowResult.ACCEPT;
}

function fail(v: Verdict, ctx: WindowContext, liberal: boolean, check: 'I' | 'II' | 'III' | 'IV', code: number, bound: number, result: number,
  seq: number, end: number, ack: number, sack: number, win: number, sender: number, receiver: number): number {
  // be_liberal (sysctl or the sender's flag): accepted, no log, and no state update either.
  if (liberal) return WindowResult.ACCEPT;
  fillExplain(v, ctx, check, seq, end, ack, sack, win, sender, receiver);
  v.setReason(code, bound >>> 0);
  return result;
}
