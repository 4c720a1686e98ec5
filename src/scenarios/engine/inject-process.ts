// An injector: crafted TCP segments sent from a raw socket on a host, on a flow the host has sent
// packets on (a stale duplicate, an out-of-window segment, a stray RST), at given times. Sequence
// and acknowledgment numbers are written relative to what the host's own packets on that flow
// carried (its ISN, the next sequence number, its last ACK), so the same file works on any run.
// The segment enters the host's output path like any locally generated packet (OUTPUT hooks,
// conntrack, NAT, POSTROUTING), as a raw socket's packet does in Linux.
import { TcpFlag, encodeSegment, seqAdd } from '../../wire/index.js';
import type { ProcessSpec } from '../file/spec.js';
import type { SeqExpr } from '../file/schema.js';
import type { EngineContext } from './context.js';
import type { FlowState, FlowWatch } from './flow-watch.js';
import { endpointText } from './program-events.js';

type InjectSpec = Extract<ProcessSpec, { kind: 'inject' }>;

const LETTERS: Record<string, number> = { S: TcpFlag.SYN, F: TcpFlag.FIN, R: TcpFlag.RST, P: TcpFlag.PSH, U: TcpFlag.URG, E: TcpFlag.ECE, W: TcpFlag.CWR, '.': TcpFlag.ACK };

/** tcpdump's flag letters ("P.", "R", "S.") as header bits. */
export function tcpFlagBits(letters: string): number {
  let f = 0;
  for (const c of letters) f |= LETTERS[c] ?? 0;
  return f;
}

/** The number a sequence expression stands for on this flow (null when the flow lacks it). */
export function seqValue(e: SeqExpr, f: FlowState): number | null {
  const base = e.base === 'abs' ? 0 : e.base === 'isn' ? f.isn : e.base === 'next' ? f.next : f.acked;
  return base === null ? null : seqAdd(base, e.offset);
}

export class InjectProcess {
  constructor(private readonly ctx: EngineContext, readonly spec: InjectSpec, private readonly flows: FlowWatch) {}

  start(): void {
    let t = 0;
    this.spec.segments.forEach((s, index) => {
      t = s.at !== undefined ? s.at : t + (s.after ?? 0);
      this.ctx.net.sim.at(t, () => this.send(index));
    });
  }

  private send(index: number): void {
    const s = this.spec.segments[index].segment;
    const flowText = `${s.from.text} > ${endpointText(s.to.addr, s.to.port ?? 0).replace(/:0$/, '')}`;
    const f = this.flows.latest(s.from.addr, s.from.port, s.to.addr, s.to.port);
    const flags = tcpFlagBits(s.flags);
    const seq = f ? seqValue(s.seq, f) : null;
    const ack = f ? (s.ack ? seqValue(s.ack, f) : flags & TcpFlag.ACK ? f.acked : 0) : null;
    if (!f || seq === null || ack === null) {
      this.ctx.emit(this.spec.name, this.spec.host, { ev: 'no-flow', index, flow: flowText });
      return;
    }
    const bytes = encodeSegment({
      src: f.src, dst: f.dst, srcPort: f.sport, dstPort: f.dport, seq, ack: flags & TcpFlag.ACK ? ack : 0, flags,
      window: flags & TcpFlag.RST ? 0 : f.window, payload: new Uint8Array(s.bytes ?? 0),
    });
    this.ctx.emit(this.spec.name, this.spec.host, { ev: 'inject', index, flow: flowText, seq, ack: flags & TcpFlag.ACK ? ack : 0 });
    this.ctx.host(this.spec.host).localOut(bytes, { uid: this.spec.uid, gid: this.spec.gid });
  }
}
