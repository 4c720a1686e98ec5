// A synthetic capture of many short TCP connections, streamed to a file: the input of the
// large-capture tests (test/replay/large.test.ts) and of the slow-pipe memory measurement
// (bench/slow-pipe.ts).
import { FileSink, PcapngWriter } from '../src/pcap/index.js';
import { LinkType, TcpFlag, encodeSegment, ip } from '../src/wire/index.js';

const T0 = 1_700_000_000_000_000_000n;
const { SYN, ACK, PSH, FIN } = TcpFlag;

export interface SyntheticOptions {
  packets: number;
  /** Connections open at once (round-robin interleaved). */
  concurrent?: number;
  /** Client ports cycled through (bounds the conntrack table). */
  ports?: number;
  stepNs?: bigint;
}

/**
 * Streams a synthetic capture of many short connections (SYN, SYN/ACK, ACK, two request/ACK
 * pairs of 100 bytes, FIN, FIN/ACK, last ACK: 10 packets each), `concurrent` of them interleaved,
 * client ports cycling so that a port comes back (re-open from TIME_WAIT) and the table stays
 * bounded. Written packet by packet to a FileSink: nothing of it is held in memory.
 */
export function writeSyntheticCapture(path: string, o: SyntheticOptions): { bytes: number } {
  const concurrent = o.concurrent ?? 1000;
  const ports = o.ports ?? 20000;
  const step = o.stepNs ?? 10_000n;
  const w = new PcapngWriter(new FileSink(path), { application: 'ctsim synthetic' });
  const iface = w.addInterface({ linkType: LinkType.RAW, name: 'synthetic/eth0' });
  const payload = new Uint8Array(100);
  const conns = Array.from({ length: concurrent }, (_, i) => ({ port: 1024 + i, k: 0, cs: 0, ss: 0 }));
  let nextPort = concurrent;
  let id = 1;
  const server = ip('10.1.0.1');
  const client = ip('10.2.0.1');
  for (let n = 0; n < o.packets; n++) {
    const c = conns[n % concurrent];
    if (c.k === 0) {
      c.cs = (Math.imul(c.port, 2654435761) + n) >>> 0;
      c.ss = (Math.imul(c.port, 40503) ^ n) >>> 0;
    }
    const cl = (seq: number, ack: number, flags: number, len = 0) => encodeSegment({ src: client, dst: server, srcPort: c.port, dstPort: 443, seq: seq >>> 0, ack: ack >>> 0, flags, window: 502, identification: id++ & 0xffff, payload: len ? payload : undefined });
    const sv = (seq: number, ack: number, flags: number) => encodeSegment({ src: server, dst: client, srcPort: 443, dstPort: c.port, seq: seq >>> 0, ack: ack >>> 0, flags, window: 509, identification: id++ & 0xffff });
    let pkt: Uint8Array;
    switch (c.k) {
      case 0: pkt = cl(c.cs, 0, SYN); break;
      case 1: pkt = sv(c.ss, c.cs + 1, SYN | ACK); break;
      case 2: pkt = cl(c.cs + 1, c.ss + 1, ACK); break;
      case 3: pkt = cl(c.cs + 1, c.ss + 1, ACK | PSH, 100); break;
      case 4: pkt = sv(c.ss + 1, c.cs + 101, ACK); break;
      case 5: pkt = cl(c.cs + 101, c.ss + 1, ACK | PSH, 100); break;
      case 6: pkt = sv(c.ss + 1, c.cs + 201, ACK); break;
      case 7: pkt = cl(c.cs + 201, c.ss + 1, FIN | ACK); break;
      case 8: pkt = sv(c.ss + 1, c.cs + 202, FIN | ACK); break;
      default: pkt = cl(c.cs + 202, c.ss + 2, ACK); break;
    }
    w.writePacket({ interfaceId: iface, timestampNs: T0 + BigInt(n) * step, data: pkt });
    if (++c.k === 10) {
      c.k = 0;
      c.port = 1024 + (nextPort++ % ports);
    }
  }
  w.close();
  return { bytes: w.bytesWritten };
}
