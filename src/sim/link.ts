// A point-to-point cable between two host interfaces: fixed latency, optional loss and
// reordering (jitter) drawn from the simulator's seeded PRNG, so lossy runs stay reproducible.
import type { Host } from '../stack/host.js';
import type { Simulator } from './simulator.js';

export interface LinkOptions {
  /** One-way latency in ns (default 50 µs). */
  latencyNs?: number;
  /** Probability a packet is lost, 0..1. */
  loss?: number;
  /** Extra random delay 0..jitterNs per packet: packets may overtake each other. */
  jitterNs?: number;
}

export class Link {
  delivered = 0;
  lost = 0;

  constructor(
    readonly sim: Simulator,
    readonly a: { host: Host; iface: string },
    readonly b: { host: Host; iface: string },
    readonly opts: LinkOptions = {},
  ) {
    this.attach(a, b);
    this.attach(b, a);
  }

  private attach(from: { host: Host; iface: string }, to: { host: Host; iface: string }): void {
    const nif = from.host.interfaces.get(from.iface);
    if (!nif) throw new Error(`${from.host.name} has no interface ${from.iface}`);
    const latency = this.opts.latencyNs ?? 50_000;
    nif.transmit = (bytes, notes) => {
      if (this.opts.loss && this.sim.randomU32() / 0x100000000 < this.opts.loss) {
        this.lost++;
        notes.push('lost on the link');
        return;
      }
      const jitter = this.opts.jitterNs ? Math.floor((this.sim.randomU32() / 0x100000000) * this.opts.jitterNs) : 0;
      const copy = bytes.slice();
      this.sim.after(latency + jitter, () => {
        this.delivered++;
        to.host.receive(to.iface, copy);
      });
    };
  }
}
