// The foundation's demo: one clean TCP conversation (Linux-style handshake, a request and a
// response, both FINs) between two hosts in 198.18.0.0/15, hand-encoded with the wire layer.
// It stands in for the main job until the seed-incident scenarios exist.
import { TcpFlag, encodeSegment, ip, seqAdd, type TcpOption } from '../wire/index.js';

export interface DemoPacket {
  timeNs: bigint;
  bytes: Uint8Array;
  direction: 'inbound' | 'outbound';
  comment: string;
}

const CLIENT = ip('198.18.0.1');
const SERVER = ip('198.18.0.2');
/** 2026-01-01T00:00:00Z: a fixed epoch keeps the capture byte-identical run to run. */
export const DEMO_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;

/** Linux's SYN options in its order (tcp_options_write): MSS, SACK_PERM+TS, NOP, WS. */
function synOptions(tsval: number, tsecr: number): TcpOption[] {
  return [
    { kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }, { kind: 'timestamp', tsval, tsecr },
    { kind: 'nop' }, { kind: 'wscale', shift: 7 },
  ];
}

function ts(tsval: number, tsecr: number): TcpOption[] {
  return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamp', tsval, tsecr }];
}

export function demoHandshake(): DemoPacket[] {
  const cport = 44410;
  const sport = 8080;
  const ciss = 0x1a2b3c4d;
  const siss = 0x5e6f7081;
  const req = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
  const resp = new TextEncoder().encode('HTTP/1.0 200 OK\r\n\r\nhello\n');
  const us = 1000n;
  const c2s = (t: bigint, seq: number, ack: number, flags: number, comment: string, options: TcpOption[], payload?: Uint8Array): DemoPacket => ({
    timeNs: DEMO_EPOCH_NS + t * us, direction: 'outbound', comment,
    bytes: encodeSegment({ src: CLIENT, dst: SERVER, srcPort: cport, dstPort: sport, seq, ack, flags, options, payload, window: flags & TcpFlag.SYN ? 64240 : 502 }),
  });
  const s2c = (t: bigint, seq: number, ack: number, flags: number, comment: string, options: TcpOption[], payload?: Uint8Array): DemoPacket => ({
    timeNs: DEMO_EPOCH_NS + t * us, direction: 'inbound', comment,
    bytes: encodeSegment({ src: SERVER, dst: CLIENT, srcPort: sport, dstPort: cport, seq, ack, flags, options, payload, window: flags & TcpFlag.SYN ? 65160 : 509 }),
  });
  const A = TcpFlag.ACK;
  const c = (n: number) => seqAdd(ciss, n);
  const s = (n: number) => seqAdd(siss, n);
  return [
    c2s(0n, c(0), 0, TcpFlag.SYN, 'client connect(): SYN_SENT', synOptions(1000, 0)),
    s2c(100n, s(0), c(1), TcpFlag.SYN | A, 'server: SYN_RECV', synOptions(5000, 1000)),
    c2s(200n, c(1), s(1), A, 'client: ESTABLISHED', ts(1000, 5000)),
    c2s(300n, c(1), s(1), A | TcpFlag.PSH, 'client send() request', ts(1000, 5000), req),
    s2c(400n, s(1), c(1 + req.length), A, 'server ACKs request', ts(5000, 1000)),
    s2c(500n, s(1), c(1 + req.length), A | TcpFlag.PSH, 'server send() response', ts(5000, 1000), resp),
    c2s(600n, c(1 + req.length), s(1 + resp.length), A, 'client ACKs response', ts(1001, 5000)),
    s2c(700n, s(1 + resp.length), c(1 + req.length), A | TcpFlag.FIN, 'server close(): FIN_WAIT1', ts(5001, 1001)),
    c2s(800n, c(1 + req.length), s(2 + resp.length), A | TcpFlag.FIN, 'client close(): LAST_ACK', ts(1002, 5001)),
    s2c(900n, s(2 + resp.length), c(2 + req.length), A, 'server: TIME_WAIT, client: CLOSED', ts(5002, 1002)),
  ];
}
