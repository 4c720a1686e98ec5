// tcp_retrans_try_collapse() (net/ipv4/tcp_output.c): a segment being retransmitted takes the
// segments sent after it into itself while they fit in one MSS and in the peer's window, for good
// (they are one segment in the retransmission queue from then on). After an RTO, data and a FIN
// sent behind it leave as one "FP." segment: the 6.1.192 guest did so on both sides of
// notrack-sidecar-bypass. Only with net.ipv4.tcp_retrans_collapse=1 (the default).
import { TcpFlag, seqLt } from '../../wire/index.js';
import type { RtxSegment } from './tcp-sock.js';

/** Merges into `seg` the segments after it in `queue` that fit (`wndEnd`: snd_una + snd_wnd). */
export function collapseRetransmit(queue: RtxSegment[], seg: RtxSegment, mss: number, wndEnd: number): void {
  const at = queue.indexOf(seg);
  if (at < 0 || seg.flags & TcpFlag.SYN) return;
  let space = mss - seg.data.length;
  while (at + 1 < queue.length) {
    const next = queue[at + 1];
    if (next.flags & TcpFlag.SYN || next.data.length > space) break;
    if (seqLt(wndEnd, next.end)) break; // beyond tcp_wnd_end()
    space -= next.data.length;
    if (next.data.length) {
      const data = new Uint8Array(seg.data.length + next.data.length);
      data.set(seg.data);
      data.set(next.data, seg.data.length);
      seg.data = data;
    }
    seg.end = next.end;
    seg.flags |= next.flags;
    queue.splice(at + 1, 1);
  }
}
