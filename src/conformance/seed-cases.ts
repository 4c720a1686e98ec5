// The seed incidents as conformance cases, on the app host's conntrack (Istio's REDIRECT in the
// NAT variants): the port collision with the challenge ACK and the app's RST (its seq "after" and
// "before" the new SYN's, the two halves of ISN space that decide on 5.18..6.1.8), and the
// half-close leak (the app's late FIN after conntrack's CLOSE_WAIT timeout).
import { challengeAckReuseCapture } from '../scenarios/reuse-capture.js';
import type { DemoPacket } from '../scenarios/demo-handshake.js';
import { TcpFlag, encodeSegment, parseIpv4Tcp } from '../wire/index.js';
import { redirectVariant, type SuiteCase } from './suite-case.js';

const OLD_CLIENT_ISN = 0x40000000;

function relative(ps: DemoPacket[]): SuiteCase['packets'] {
  const t0 = ps[0].timeNs;
  return ps.map((p) => ({ timeNs: Number(p.timeNs - t0), bytes: p.bytes }));
}

/** The old connection up to the half-close (8 packets), then the app's FIN at 90 s and the upstream's RST. */
function halfCloseLeak(): SuiteCase['packets'] {
  const old = relative(challengeAckReuseCapture()).slice(0, 8);
  const lastAck = parseIpv4Tcp(old[7].bytes).tcp;
  const { ip } = parseIpv4Tcp(old[7].bytes);
  const { FIN, ACK, RST } = TcpFlag;
  const fin = encodeSegment({ src: ip.src, dst: ip.dst, srcPort: lastAck.srcPort, dstPort: lastAck.dstPort, seq: lastAck.seq, ack: lastAck.ack, flags: FIN | ACK, window: 502 });
  // The upstream closed long ago: its kernel answers the stray FIN with a reset (seq = the FIN's ack).
  const rst = encodeSegment({ src: ip.dst, dst: ip.src, srcPort: lastAck.dstPort, dstPort: lastAck.srcPort, seq: lastAck.ack, ack: 0, flags: RST, window: 0 });
  return [...old, { timeNs: 90e9, bytes: fin }, { timeNs: 90e9 + 100_000, bytes: rst }];
}

export function seedCases(): SuiteCase[] {
  const base: SuiteCase[] = [
    {
      id: 'seed-port-collision-rst-after', origin: 'seed', nat: false, packets: relative(challengeAckReuseCapture()),
      description: 'port collision: the port is reused 70 s after a half-close (conntrack CLOSE_WAIT expired at 60 s); the leaked FIN_WAIT2 socket answers each SYN with a challenge ACK, the app with an RST whose seq lies after the new SYN (INVALID on 5.17.6..6.1.8 and sles-15-sp4)',
    },
    {
      id: 'seed-port-collision-rst-before', origin: 'seed', nat: false,
      packets: relative(challengeAckReuseCapture({ newClientIsn: (OLD_CLIENT_ISN + 1 + 100 + 0x10000000) >>> 0 })),
      description: 'port collision as above, the RST seq lying before the new SYN (the half of ISN space where every profile accepts it)',
    },
    {
      id: 'seed-half-close-leak', origin: 'seed', nat: false, packets: halfCloseLeak(),
      description: 'half-close leak: the upstream half-closes, the app ACKs (CLOSE_WAIT, 60 s); the app closes at 90 s, after the entry expired: its FIN is "invalid new" (not redirected), the upstream resets',
    },
  ];
  return base.flatMap((c) => [c, redirectVariant(c)]);
}
