// Which behaviour a packet exercises, judged from what Linux did with it (the expected side):
// the categories of the agreement report. One category per packet, the first that applies:
//   malformed  conntrack never tracked it or rejected the header itself (not TCP, IP-layer drop,
//              bad TCP checksum, truncated header, impossible flags): tcp_error(), ip_rcv()
//   timeouts   the packet's connection had an entry that expired before it (gap >= timeout)
//   reopen     a SYN on an entry in a closing state (re-open from TIME_WAIT/CLOSE, port reuse)
//   rst        an RST (tcp_in_window's RST checks, challenge-ACK answers)
//   handshake  a SYN or SYN/ACK, or any packet while the entry is still opening
//   close      a FIN, or any packet once the entry is closing (FIN_WAIT .. CLOSE)
//   window     everything else: data and ACKs on an established entry (tcp_in_window)
// `nat` is not a packet's category: it counts packets of NAT cases whose rewrite was compared.
import type { ReplayRow } from '../replay/replay.js';
import { TcpFlag, ipv4Endpoints } from '../wire/index.js';
import type { FuzzPacket } from '../fuzz/index.js';

export const CATEGORIES = ['handshake', 'window', 'rst', 'reopen', 'close', 'timeouts', 'malformed'] as const;
export type Category = (typeof CATEGORIES)[number];

const OPENING = new Set(['SYN_SENT', 'SYN_RECV', 'SYN_SENT2']);
const CLOSING = new Set(['FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE']);

interface Seen {
  lastNs: number;
  timeoutSec: number | null;
  state: string | null;
}

function key(src: number, sport: number, dst: number, dport: number): string {
  const a = `${src >>> 0}:${sport}`;
  const b = `${dst >>> 0}:${dport}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The category of every packet of a case, from its packets and Linux's rows (replayed with explain). */
export function categoriseCase(packets: readonly FuzzPacket[], rows: readonly ReplayRow[]): Category[] {
  const seen = new Map<string, Seen>();
  return rows.map((row, i) => {
    const e = ipv4Endpoints(packets[i].bytes);
    if (!e || e.tcpFlags < 0 || row.outcome === 'UNTRACKED' || row.why?.kind === 'tcp-error') return 'malformed';
    const k = key(e.src, e.sport, e.dst, e.dport);
    const prev = seen.get(k);
    const flags = e.tcpFlags;
    const known = row.stateBefore ?? prev?.state ?? null;
    let cat: Category;
    const expired = prev !== undefined && prev.timeoutSec !== null && row.timeNs - prev.lastNs >= prev.timeoutSec * 1e9;
    if (expired) cat = 'timeouts';
    else if (row.reopened || row.why?.kind === 'reopen' || ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN && known !== null && CLOSING.has(known))) cat = 'reopen';
    else if (flags & TcpFlag.RST) cat = 'rst';
    else if (flags & TcpFlag.SYN || known === null || OPENING.has(known)) cat = 'handshake';
    else if (flags & TcpFlag.FIN || CLOSING.has(known)) cat = 'close';
    else cat = 'window';
    if (row.dir !== null && row.outcome !== 'DROP') seen.set(k, { lastNs: row.timeNs, timeoutSec: row.timeout, state: row.state });
    else if (expired) seen.delete(k);
    return cat;
  });
}
