// A hand-written capture of the seed incident's port collision, as tcpdump on the app's host
// would record it on a kernel where the RST is INVALID: an old connection whose server side
// half-closed (server FIN, client ACK -> conntrack CLOSE_WAIT, 60 s), then 70 s later a new SYN
// from the same port; the leaked FIN_WAIT2 socket answers every SYN with an RFC 5961 challenge
// ACK (seq = its snd_nxt, ack = its rcv_nxt), the client answers each with an RST (seq = that ack,
// no ACK flag, as tcp_v4_send_reset does) and retransmits its SYN at 1 s, 3 s, 7 s.
// Replaying it under different kernels shows where they differ.
import { TcpFlag, encodeSegment, ip, type TcpOption } from '../wire/index.js';
import { DEMO_EPOCH_NS, type DemoPacket } from './demo-handshake.js';

const APP = ip('198.18.0.10');
const SERVER = ip('198.19.0.20');
const APP_PORT = 44410;
const SERVER_PORT = 8080;

const SYN_OPTS = (tsval: number, tsecr = 0): TcpOption[] => [
  { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval, tsecr }, { kind: 'nop' }, { kind: 'wscale', shift: 7 },
];
const TS = (tsval: number, tsecr: number): TcpOption[] => [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval, tsecr }];

export interface ReuseCaptureOptions {
  /** The old connection's client ISN. */
  oldClientIsn?: number;
  oldServerIsn?: number;
  /** The new connection's ISN; by default chosen so that the RST's seq is "after" it (INVALID on 5.18-6.1.8). */
  newClientIsn?: number;
}

export function challengeAckReuseCapture(o: ReuseCaptureOptions = {}): DemoPacket[] {
  const oc = o.oldClientIsn ?? 0x40000000;
  const os = o.oldServerIsn ?? 0x70000000;
  const nc = o.newClientIsn ?? ((oc + 1 + 100 - 0x10000000) >>> 0);
  const { SYN, ACK, PSH, FIN, RST } = TcpFlag;
  const out: DemoPacket[] = [];
  const c = (tSec: number, seq: number, ack: number, flags: number, comment: string, options: TcpOption[] = [], len = 0, win = 502) => out.push({
    timeNs: DEMO_EPOCH_NS + BigInt(Math.round(tSec * 1e6)) * 1000n, direction: 'outbound', comment,
    bytes: encodeSegment({ src: APP, dst: SERVER, srcPort: APP_PORT, dstPort: SERVER_PORT, seq: seq >>> 0, ack: ack >>> 0, flags, options, payload: new Uint8Array(len), window: flags & SYN ? 64240 : flags & RST ? 0 : win }),
  });
  const s = (tSec: number, seq: number, ack: number, flags: number, comment: string, options: TcpOption[] = [], len = 0, win = 509) => out.push({
    timeNs: DEMO_EPOCH_NS + BigInt(Math.round(tSec * 1e6)) * 1000n, direction: 'inbound', comment,
    bytes: encodeSegment({ src: SERVER, dst: APP, srcPort: SERVER_PORT, dstPort: APP_PORT, seq: seq >>> 0, ack: ack >>> 0, flags, options, payload: new Uint8Array(len), window: flags & SYN ? 65160 : win }),
  });
  c(0, oc, 0, SYN, 'old connection: app connect()', SYN_OPTS(1000));
  s(0.0001, os, oc + 1, SYN | ACK, 'old connection: SYN/ACK', SYN_OPTS(5000, 1000));
  c(0.0002, oc + 1, os + 1, ACK, 'old connection: established', TS(1000, 5000));
  c(0.001, oc + 1, os + 1, ACK | PSH, 'app sends 100 bytes', TS(1001, 5000), 100);
  s(0.0011, os + 1, oc + 101, ACK | PSH, 'server answers 200 bytes', TS(5001, 1001), 200);
  c(0.0012, oc + 101, os + 201, ACK, 'app ACKs', TS(1002, 5001));
  s(0.5, os + 201, oc + 101, FIN | ACK, 'server side half-closes: shutdown(SHUT_WR) -> FIN_WAIT1', TS(5500, 1002));
  c(0.5001, oc + 101, os + 202, ACK, 'app ACKs the FIN: app CLOSE_WAIT, server FIN_WAIT2 (no timer)', TS(1500, 5500));
  // conntrack: CLOSE_WAIT, 60 s; the app never closes. 70 s later it reuses the port.
  const syns = [70, 71, 73, 77];
  syns.forEach((t, i) => {
    c(t, nc, 0, SYN, i === 0 ? 'new connect() from the same port' : `SYN retransmission ${i}`, SYN_OPTS(71000 + (t - 70) * 1000));
    s(t + 0.00005, os + 202, oc + 101, ACK, 'leaked FIN_WAIT2 socket: RFC 5961 challenge ACK', TS(75000 + (t - 70) * 1000, 1500), 0, 509);
    c(t + 0.0001, oc + 101, 0, RST, 'app (SYN_SENT) answers the unacceptable ACK with RST, seq = its ack');
  });
  return out;
}
