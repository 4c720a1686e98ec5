// The structured generator: one to a few conversations (clients in 198.18.0.0/16, servers in
// 198.19.0.0/16), each a random script of opening, data and closing scenes with optional port
// reuse, re-open and challenge-ACK exchanges, merged on the virtual clock, then a few mutations.
import { TcpCtState } from '../conntrack/tcp-states.js';
import { TcpFlag } from '../wire/index.js';
import { CLIENT_NET, SERVER_NET } from './case.js';
import { Flow, type Endpoint } from './conversation.js';
import type { DraftPacket } from './draft.js';
import { mutate, timeoutGap, type Mutation } from './mutations.js';
import type { FuzzRng } from './rng.js';

export interface StructuredOptions {
  timeouts: Float64Array;
  /** Largest TCP payload a packet carries. */
  maxPayload: number;
  /** Upper bound on packets per case (the script stops adding scenes past it). */
  maxPackets: number;
  /** nf_conntrack_max: with a small table, cases open more flows than it holds. */
  conntrackMax: number;
}

const SERVER_PORTS = [80, 443, 8080, 5432, 6379, 9090, 3306];

function isn(rng: FuzzRng): number {
  // A quarter of the ISNs sit just below 2^32 so sequence numbers wrap during the conversation.
  return rng.chance(0.25) ? (0x100000000 - rng.int(1, 70000)) >>> 0 : rng.chance(0.1) ? rng.int(0, 70000) : rng.u32();
}

function endpoint(rng: FuzzRng, addr: number, port: number): Endpoint {
  return {
    addr, port, nxt: isn(rng),
    win: rng.weighted([[6, rng.pick([64240, 65160, 65535, 29200])], [2, rng.int(1, 65535)], [1, 0], [2, rng.pick([131072, 1 << 20, 6291456])]]),
    wscale: rng.weighted([[6, 7], [2, rng.int(0, 14)], [2, -1], [1, rng.pick([15, 255])]]),
    sackOk: rng.chance(0.85),
    ts: rng.chance(0.8),
    tsval: rng.u32(),
    mss: rng.pick([1460, 1460, 536, 1448, 8960]),
  };
}

type Addr = { addr: number; port: number };

function clientAddr(rng: FuzzRng): Addr {
  return { addr: (CLIENT_NET + rng.int(0, 3) * 256 + rng.int(1, 254)) >>> 0, port: rng.int(32768, 60999) };
}

function serverAddr(rng: FuzzRng): Addr {
  return { addr: (SERVER_NET + rng.int(0, 3) * 256 + rng.int(1, 254)) >>> 0, port: rng.pick(SERVER_PORTS) };
}

/** One flow's script; returns the scene names for the case's tags. */
function script(f: Flow, rng: FuzzRng, o: StructuredOptions): string[] {
  const scenes: string[] = [];
  const open = rng.weighted<string>([
    [10, 'handshake'], [2, 'syn-retransmit'], [1, 'syn-unanswered'], [1, 'synack-retransmit'], [1, 'syn-refused'],
    [1, 'simultaneous-open'], [1, 'pickup'], [1, 'syn-data'],
  ]);
  scenes.push(open);
  switch (open) {
    case 'handshake': f.handshake(); break;
    case 'syn-retransmit': f.synRetransmit(rng.int(1, 3), true); break;
    case 'syn-unanswered': f.synRetransmit(rng.int(0, 5), false); break;
    case 'synack-retransmit': f.synAckRetransmit(); break;
    case 'syn-refused': f.synRefused(); break;
    case 'simultaneous-open': f.simultaneousOpen(); break;
    case 'pickup': f.pickup(); break;
    case 'syn-data': f.synWithData(); break;
  }
  if (open === 'syn-unanswered' || open === 'syn-refused') {
    if (rng.chance(0.5)) {
      f.wait(timeoutGap(rng, o.timeouts));
      scenes.push('reopen');
      f.reopen();
    }
    return scenes;
  }
  const rounds = rng.small(0, 6);
  for (let r = 0; r < rounds && f.out.length < o.maxPackets; r++) {
    const from = rng.chance(0.5) ? f.c : f.s;
    const scene = rng.weighted<string>([[10, 'data'], [1, 'zero-window'], [1, 'keepalive'], [1, 'dup-acks'], [1, 'window-update'], [1, 'idle']]);
    scenes.push(scene);
    f.wait();
    switch (scene) {
      case 'data': f.data(from); break;
      case 'zero-window': f.zeroWindow(from); break;
      case 'keepalive': f.keepalive(from); break;
      case 'dup-acks': f.dupAcks(from); break;
      case 'window-update': f.windowUpdate(from); break;
      case 'idle': f.wait(timeoutGap(rng, o.timeouts)); break;
    }
  }
  const end = rng.weighted<string>([
    [5, 'close-client'], [4, 'close-server'], [1, 'simultaneous-close'], [2, 'half-close'], [2, 'rst'], [2, 'open'],
  ]);
  scenes.push(end);
  f.wait();
  switch (end) {
    case 'close-client': f.close(f.c); break;
    case 'close-server': f.close(f.s); break;
    case 'simultaneous-close': f.simultaneousClose(); break;
    case 'half-close': {
      const cw = o.timeouts[TcpCtState.CLOSE_WAIT];
      f.halfClose(rng.pick([1e9, cw - 1e9, cw, cw + 1, cw + 30e9, timeoutGap(rng, o.timeouts)]));
      break;
    }
    case 'rst': f.abort(rng.chance(0.5) ? f.c : f.s); break;
    case 'open': break;
  }
  const after = rng.weighted<string>([[6, 'none'], [3, 'reopen'], [2, 'challenge-ack'], [1, 'late-ack']]);
  if (after !== 'none') {
    scenes.push(after);
    f.wait(rng.chance(0.6) ? timeoutGap(rng, o.timeouts) : rng.pick([1e6, 1e9, 30e9]));
    switch (after) {
      case 'reopen': f.reopen(); break;
      case 'challenge-ack': f.challengeAck(rng.int(0, 3)); break;
      case 'late-ack': f.send(f.c, TcpFlag.ACK, { noAdvance: true }); break;
    }
  }
  return scenes;
}

/** Generates the drafts of a structured case and the tags saying what it did. */
/**
 * A flood (only when cases may hold 1500+ packets): over a thousand short connections from a few
 * clients with heavy port reuse, so the table grows past its initial 1024 slots and rehashes
 * while entries are created, re-opened, reset and expire.
 */
function flood(rng: FuzzRng, o: StructuredOptions): { drafts: DraftPacket[]; tags: string[] } {
  const drafts: DraftPacket[] = [];
  const n = Math.min(rng.int(1030, 1400), o.maxPackets - 200);
  const clients = Array.from({ length: rng.int(1, 4) }, () => clientAddr(rng));
  const server = serverAddr(rng);
  const ports = rng.int(200, 1500); // fewer ports than connections: tuples are reused
  let t = 0;
  for (let k = 0; k < n && drafts.length < o.maxPackets; k++) {
    const c = rng.pick(clients);
    const f = new Flow(k, rng, endpoint(rng, c.addr, 32768 + ((c.port + k * 7919) % ports)), endpoint(rng, server.addr, server.port), t, 20_000, 16);
    const what = rng.int(0, 9);
    if (what < 5) f.send(f.c, TcpFlag.SYN);
    else if (what < 8) f.handshake();
    else if (what < 9) { f.handshake(); f.abort(f.c); }
    else { f.handshake(); f.close(f.c); }
    drafts.push(...f.out);
    t += rng.pick([1000, 100_000, 1e6, rng.chance(0.01) ? timeoutGap(rng, o.timeouts) : 1]);
  }
  drafts.sort((a, b) => a.timeNs - b.timeNs);
  if (drafts.length > o.maxPackets) drafts.length = o.maxPackets;
  return { drafts, tags: [`flood:${n}`] };
}

export function structuredDrafts(rng: FuzzRng, o: StructuredOptions): { drafts: DraftPacket[]; tags: string[] } {
  if (o.maxPackets >= 1500 && rng.chance(0.02)) return flood(rng, o);
  const tags: string[] = [];
  const manyFlows = o.conntrackMax < 64 && rng.chance(0.5);
  const nflows = manyFlows ? rng.int(1, o.conntrackMax + 3) : rng.weighted([[6, 1], [3, 2], [1, rng.int(3, 5)]]);
  const flows: Flow[] = [];
  const clients: Addr[] = [];
  const servers: Addr[] = [];
  let start = 0;
  for (let id = 0; id < nflows; id++) {
    // Port reuse: a flow may share the client's address and port (and even the server) with an earlier one.
    const reuse = clients.length > 0 && rng.chance(0.3);
    const c = reuse ? rng.pick(clients) : clientAddr(rng);
    const s = reuse && rng.chance(0.5) ? rng.pick(servers) : serverAddr(rng);
    clients.push(c);
    servers.push(s);
    start += rng.pick([0, 1000, 1e6, 5e8, 2e9]);
    const delay = rng.pick([20_000, 100_000, 1_000_000, 30_000_000]);
    const f = new Flow(id, rng, endpoint(rng, c.addr, c.port), endpoint(rng, s.addr, s.port), start, delay, o.maxPayload);
    tags.push(`flow${id}:${script(f, rng, o).join(',')}`);
    flows.push(f);
  }
  const drafts = flows.flatMap((f) => f.out);
  drafts.sort((a, b) => a.timeNs - b.timeNs || a.flow - b.flow);
  const nmut = rng.weighted([[3, 0], [4, 1], [3, 2], [2, rng.int(3, 6)]]);
  const ctx = { rng, timeouts: o.timeouts };
  for (let k = 0; k < nmut; k++) {
    const kind: Mutation = rng.weighted<Mutation>([
      [3, 'seq-offset'], [3, 'ack-offset'], [2, 'flags'], [1, 'window'], [2, 'options'], [2, 'retransmit'], [1, 'reorder'],
      [1, 'drop'], [1, 'stale'], [3, 'rst'], [2, 'syn'], [3, 'time-gap'], [3, 'corrupt'], [1, 'ack-off'],
    ]);
    tags.push(mutate(drafts, kind, ctx));
  }
  if (drafts.length > o.maxPackets) drafts.length = o.maxPackets;
  return { drafts, tags };
}
