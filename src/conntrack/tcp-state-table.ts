// The TCP conntrack transition table, as data: tcp_conntracks[dir][packet class][old state] in
// nf_conntrack_proto_tcp.c. It is identical in every kernel ctsim models (4.19 .. 6.18; the last
// change to the table itself predates 4.19), so per-version differences live in the tracker's
// override rules, not here. Rows keep the kernel's order so a kernel diff maps line for line.
// The cell is only a proposal: the tracker's overrides and the window check can still refuse it.
import { TCP_CLASS_COUNT, TCP_STATE_COUNT, TcpCtState, type Dir, type TcpPacketClass } from './tcp-states.js';

const { NONE: sNO, SYN_SENT: sSS, SYN_RECV: sSR, ESTABLISHED: sES, FIN_WAIT: sFW, CLOSE_WAIT: sCW, LAST_ACK: sLA,
  TIME_WAIT: sTW, CLOSE: sCL, SYN_SENT2: sS2, INVALID: sIV, IGNORE: sIG } = TcpCtState;
void sNO;

//                 columns: sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
const ORIGINAL = [
  /* SYN    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
  //  sNO -> sSS: a new connection; sSS -> sSS: retransmitted SYN; sSR..sLA -> sIG: a SYN on a
  //  synchronised entry may be a re-open after the peer lost state: let it through, remember it;
  //  sTW/sCL -> sSS: re-open (the tracker decides whether the old entry dies); sS2 -> sS2.
  /* SYNACK */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
  //  The initiator never sends a SYN/ACK, except in simultaneous open (sSR stays, sS2 -> sSR).
  /* FIN    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  //  A FIN in SYN_RECV/ESTABLISHED starts the close; in FIN_WAIT/CLOSE_WAIT it is the second
  //  FIN (LAST_ACK); retransmitted FINs keep LAST_ACK/TIME_WAIT/CLOSE.
  /* ACK    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
  //  sNO -> sES: mid-stream pickup (needs nf_conntrack_tcp_loose); sSR -> sES completes the
  //  handshake; after a FIN an ACK moves to CLOSE_WAIT (shared state: either side's ACK does);
  //  sLA -> sTW is the last ACK.
  /* RST    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* NONE   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];

const REPLY = [
  /* SYN    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
  //  sSS -> sS2: simultaneous open; sTW -> sSS: the responder re-opens with roles swapped.
  /* SYNACK */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
  //  sSS -> sSR is the normal answer; a SYN/ACK on a synchronised entry may answer a SYN we
  //  ignored (resync), so it is ignored and remembered.
  /* FIN    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ACK    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
  //  sSS -> sIG: an ACK answering our SYN without SYN (e.g. an RFC 5961 challenge ACK from a
  //  socket that still holds the old connection) is ignored; sSR stays sSR (the ACK of a
  //  simultaneous open is handled by the tracker).
  /* RST    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* NONE   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];

/** Flat [dir][class][state] -> next state/outcome. */
export const TCP_TRANSITIONS: Uint8Array = (() => {
  const t = new Uint8Array(2 * TCP_CLASS_COUNT * TCP_STATE_COUNT);
  [ORIGINAL, REPLY].forEach((rows, dir) =>
    rows.forEach((row, cls) => row.forEach((next, state) => {
      t[(dir * TCP_CLASS_COUNT + cls) * TCP_STATE_COUNT + state] = next;
    })));
  return t;
})();

export function nextTcpState(dir: Dir, cls: TcpPacketClass, state: number): number {
  return TCP_TRANSITIONS[(dir * TCP_CLASS_COUNT + cls) * TCP_STATE_COUNT + state];
}
