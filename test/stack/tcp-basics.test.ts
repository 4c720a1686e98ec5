import { describe, expect, it } from 'vitest';
import { Network } from '../../src/sim/network.js';
import { ip } from '../../src/wire/index.js';
import { TcpState } from '../../src/stack/tcp/tcp-state.js';

const MS = 1e6;
const SEC = 1e9;

function pair(kernel = '6.18', seed = 1) {
  const net = new Network(seed);
  const a = net.addHost({ name: 'client', kernel });
  const b = net.addHost({ name: 'server', kernel });
  a.addInterface('eth0', '198.18.0.1/24');
  b.addInterface('eth0', '198.18.0.2/24');
  net.connect(a, 'eth0', b, 'eth0', { latencyNs: 100_000 });
  return { net, a, b };
}

describe('TCP basics between two hosts', () => {
  it('handshake, data both ways, close from the client', () => {
    const { net, a, b } = pair();
    const states: string[] = [];
    const l = b.tcp.socket({ uid: 0 });
    l.bind(0, 8080);
    l.listen();
    let server: ReturnType<typeof b.tcp.socket> | null = null;
    let got = '';
    l.onAccept = (c) => {
      server = c;
      c.onData = (d) => { got += new TextDecoder().decode(d); c.send(new TextEncoder().encode('pong')); };
      c.onEof = () => c.close();
    };
    const c = a.tcp.socket({ uid: 1000 });
    let reply = '';
    c.onStateChange = (_f, t) => states.push(String(t));
    c.onConnect = () => c.send(new TextEncoder().encode('ping'));
    c.onData = (d) => { reply += new TextDecoder().decode(d); c.close(); };
    c.connect(ip('198.18.0.2'), 8080);
    net.runUntil(1 * SEC);
    expect(got).toBe('ping');
    expect(reply).toBe('pong');
    expect(server).not.toBeNull();
    expect(c.state).toBe(TcpState.TIME_WAIT);
    expect(a.ss().join('\n')).toMatch(/TIME-WAIT .* timer:\(timewait,59sec,0\)/);
    net.runUntil(62 * SEC);
    expect(a.tcp.sockets.size).toBe(0);
    expect(b.tcp.sockets.size).toBe(1); // the listener
    expect(net.timeline.map((e) => e.text).join('\n')).toMatch(/SYN_SENT -> ESTABLISHED/);
  });

  it('SYN retransmissions 1, 3, 7, 15, 31, 63 s and ETIMEDOUT at 127 s (pre-6.5)', () => {
    const { net, a } = pair('6.1');
    const c = a.tcp.socket();
    let err = '';
    let at = 0;
    c.onError = (e) => { err = e; at = net.sim.now; };
    c.connect(ip('198.18.0.99'), 80); // nobody there: the link drops it at the server (not its address)
    net.runUntil(200 * SEC);
    const retrans = net.timeline.filter((e) => /: SYN retransmission \d+$/.test(e.text)).map((e) => e.timeNs / SEC);
    expect(retrans).toEqual([1, 3, 7, 15, 31, 63]);
    expect(err).toBe('ETIMEDOUT');
    expect(at / SEC).toBe(127);
  });

  it('6.5+ linear SYN timeouts: 1,2,3,4,5,7,11,19,35,67 s and ETIMEDOUT at 131 s', () => {
    const { net, a } = pair('6.18');
    const c = a.tcp.socket();
    let at = 0;
    c.onError = () => { at = net.sim.now; };
    c.connect(ip('198.18.0.99'), 80);
    net.runUntil(200 * SEC);
    const retrans = net.timeline.filter((e) => /: SYN retransmission \d+$/.test(e.text)).map((e) => e.timeNs / SEC);
    expect(retrans).toEqual([1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
    expect(at / SEC).toBe(131);
  });

  it('connection refused: the server host answers RST+ACK to a SYN for a closed port', () => {
    const { net, a } = pair();
    const c = a.tcp.socket();
    let err = '';
    c.onError = (e) => { err = e; };
    c.connect(ip('198.18.0.2'), 9);
    net.runUntil(10 * MS);
    expect(err).toBe('ECONNREFUSED');
  });
});
