// Capture taps: every packet seen on a host interface goes into one pcapng with one interface
// block per capture point ("pod/lo", "pod/eth0", "upstream/eth0", ...), its direction in
// epb_flags and a comment with what happened to it (conntrack verdict and state, rule hits, NAT,
// socket reactions). Comments grow while the packet is processed after the tap, so records are
// written once the clock has moved past them.
import { FileSink, PcapngWriter, type ByteSink } from '../pcap/index.js';
import { LinkType } from '../wire/index.js';
import type { TapEvent } from '../stack/host.js';
import type { Simulator } from './simulator.js';

/** 2026-01-01T00:00:00Z: virtual time 0 in captures; fixed so runs are byte-identical. */
export const CAPTURE_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;

interface Pending {
  t: number;
  iface: number;
  bytes: Uint8Array;
  notes: string[];
  direction: 'inbound' | 'outbound';
}

export class CaptureRecorder {
  private readonly writer: PcapngWriter;
  private readonly ifaces = new Map<string, number>();
  private pending: Pending[] = [];
  packets = 0;

  constructor(readonly sim: Simulator, sink: ByteSink | string, application = 'ctsim') {
    this.writer = new PcapngWriter(typeof sink === 'string' ? new FileSink(sink) : sink, { application });
  }

  /** Declares a capture point up front (interface blocks appear in declaration order). */
  declare(host: string, iface: string, description: string): void {
    const name = `${host}/${iface}`;
    if (!this.ifaces.has(name)) this.ifaces.set(name, this.writer.addInterface({ linkType: LinkType.RAW, name, description }));
  }

  tap(ev: TapEvent): void {
    const name = `${ev.host}/${ev.iface}`;
    let id = this.ifaces.get(name);
    if (id === undefined) {
      id = this.writer.addInterface({ linkType: LinkType.RAW, name, description: `${ev.host} ${ev.iface}` });
      this.ifaces.set(name, id);
    }
    this.flushBefore(this.sim.now);
    this.pending.push({ t: this.sim.now, iface: id, bytes: ev.bytes.slice(), notes: ev.notes, direction: ev.direction });
    this.packets++;
  }

  private flushBefore(t: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n].t < t) n++;
    if (n === 0) return;
    for (const p of this.pending.splice(0, n)) this.write(p);
  }

  private write(p: Pending): void {
    this.writer.writePacket({
      interfaceId: p.iface, timestampNs: CAPTURE_EPOCH_NS + BigInt(p.t), data: p.bytes, direction: p.direction,
      comment: p.notes.length ? p.notes.join('; ') : undefined,
    });
  }

  close(): void {
    for (const p of this.pending) this.write(p);
    this.pending = [];
    this.writer.close();
  }
}
