// The TCP flows a host has sent packets on, as its own interfaces see them leave (after NAT):
// for each flow the ISN it sent (SYN or SYN-ACK), the highest sequence number it reached and the
// last acknowledgment it sent. An injector crafts its segments from these numbers; the real
// injector (src/kerneldiff/real/inject.py) learns the same ones from an AF_PACKET socket.
import { TcpFlag, parseIpv4Tcp, seqAdd, seqAfter } from '../../wire/index.js';

export interface FlowState {
  src: number;
  sport: number;
  dst: number;
  dport: number;
  isn: number | null;
  next: number;
  acked: number | null;
  /** The window field of the last packet. */
  window: number;
  /** Last packet (ns), for "the most recent connection". */
  lastAt: number;
}

export class FlowWatch {
  private readonly flows = new Map<string, FlowState>();

  /** An outbound packet of this host. */
  observe(bytes: Uint8Array, now: number): void {
    let p;
    try {
      p = parseIpv4Tcp(bytes, 0, { checksum: 'ignore' });
    } catch {
      return;
    }
    const t = p.tcp;
    const key = `${p.ip.src}:${t.srcPort}>${p.ip.dst}:${t.dstPort}`;
    const end = seqAdd(t.seq, t.payload.length + (t.flags & TcpFlag.SYN ? 1 : 0) + (t.flags & TcpFlag.FIN ? 1 : 0));
    let f = this.flows.get(key);
    if (!f || t.flags & TcpFlag.SYN) {
      // A SYN starts the flow's connection afresh (a reused 4-tuple is a new connection).
      f = { src: p.ip.src, sport: t.srcPort, dst: p.ip.dst, dport: t.dstPort, isn: t.flags & TcpFlag.SYN ? t.seq : null, next: end, acked: null, window: t.window, lastAt: now };
      this.flows.delete(key);
      this.flows.set(key, f);
    }
    if (!(t.flags & TcpFlag.RST) && seqAfter(end, f.next)) f.next = end;
    if (t.flags & TcpFlag.ACK) f.acked = t.ack;
    f.window = t.window;
    f.lastAt = now;
  }

  /** The most recent flow from src:sport to dst (and dport when given). */
  latest(src: number, sport: number, dst: number, dport: number | null): FlowState | null {
    let best: FlowState | null = null;
    for (const f of this.flows.values()) {
      if (f.src !== src || f.sport !== sport || f.dst !== dst || (dport !== null && f.dport !== dport)) continue;
      if (!best || f.lastAt >= best.lastAt) best = f;
    }
    return best;
  }
}
