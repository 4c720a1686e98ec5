// A SYN flood: `count` SYNs from a raw socket on the host, the source port cycling fastest through
// from_ports, then the destination port through ports, spaced 1/rate apart. Nothing answers them
// by design of the scenario (or something does): either way each opens a conntrack entry wherever
// it is tracked — the way to fill nf_conntrack_max. The sequence is fixed by the index, so the
// real flood (src/kerneldiff/real/flood.py) sends the same packets.
import { TcpFlag, encodeSegment } from '../../wire/index.js';
import type { ProcessSpec } from '../file/spec.js';
import type { EngineContext } from './context.js';

type FloodSpec = Extract<ProcessSpec, { kind: 'flood' }>;

/** The i-th SYN's ports and sequence number. */
export function floodPacket(spec: Pick<FloodSpec, 'ports' | 'fromPorts'>, i: number): { sport: number; dport: number; seq: number } {
  const n = spec.fromPorts.high - spec.fromPorts.low + 1;
  const m = spec.ports.high - spec.ports.low + 1;
  return { sport: spec.fromPorts.low + (i % n), dport: spec.ports.low + (Math.floor(i / n) % m), seq: Math.imul(i + 1, 2654435761) >>> 0 };
}

export class FloodProcess {
  constructor(private readonly ctx: EngineContext, readonly spec: FloodSpec) {}

  start(): void {
    const host = this.ctx.host(this.spec.host);
    const src = host.sourceFor(this.spec.to);
    const gap = this.spec.rate ? 1e9 / this.spec.rate : 0;
    let i = 0;
    const batch = () => {
      // Every SYN due by now leaves in this event (one event per SYN would flood the event queue).
      const until = gap ? Math.floor((this.ctx.now - this.spec.atNs) / gap) : this.spec.count - 1;
      for (; i <= until && i < this.spec.count; i++) {
        const p = floodPacket(this.spec, i);
        host.localOut(encodeSegment({ src, dst: this.spec.to, srcPort: p.sport, dstPort: p.dport, seq: p.seq, flags: TcpFlag.SYN, window: 64240 }), { uid: this.spec.uid, gid: this.spec.gid });
      }
      if (i < this.spec.count) this.ctx.net.sim.at(this.spec.atNs + Math.ceil(i * gap), batch);
      else this.ctx.emit(this.spec.name, this.spec.host, { ev: 'flood-done', sent: i });
    };
    this.ctx.net.sim.at(this.spec.atNs, batch);
  }
}
