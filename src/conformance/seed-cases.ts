// The seed incidents as conformance cases, on the app host's conntrack (Istio's REDIRECT in the
// NAT variants): the port collision with the challenge ACK and the app's RST (its seq "after" and
// "before" the new SYN's, the two halves of ISN space that decide on 5.18..6.1.8), and the
// half-close leak (the app's late FIN after conntrack's CLOSE_WAIT timeout), and the reused
// port's SYNs alone (what is left of the collision when INVALID packets are dropped).
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

/**
 * The port reuse as a conntrack that drops INVALID packets would see it: the old connection up
 * to the half-close, then the app's SYN 70 s later and its retransmissions (1, 3, 7, 15, 31, 63 s
 * after it, Linux's tcp_syn_retries=6), none answered (each was dropped before the sidecar).
 */
function reuseSynsOnly(): SuiteCase['packets'] {
  const all = relative(challengeAckReuseCapture());
  const old = all.slice(0, 8);
  const syn = all[8];
  return [...old, ...[0, 1, 3, 7, 15, 31, 63].map((dt) => ({ timeNs: syn.timeNs + dt * 1e9, bytes: syn.bytes }))];
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
    {
      id: 'seed-port-reuse-syns', origin: 'seed', nat: false, packets: reuseSynsOnly(),
      description: 'port reuse behind an INVALID drop rule: the half-close, then the reused port\'s SYN at 70 s and its six retransmissions, none answered (what a conntrack that keeps the old entry and calls the SYN invalid leaves of the port collision)',
    },
  ];
  return base.flatMap((c) => [c, redirectVariant(c)]);
}
