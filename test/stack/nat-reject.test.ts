// Source NAT and REJECT on emulated hosts, packet by packet: MASQUERADE on a router keeps the
// client's source port when the tuple is unique and searches a new one on a clash (get_unique_tuple,
// nf_nat_l4proto_unique_tuple), --random-fully always draws one, replies are un-NATed; REJECT
// --reject-with tcp-reset answers as nf_send_reset builds its RST and connect() fails ECONNREFUSED.
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/sim/network.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { RuleEvalError } from '../../src/stack/iptables/errors.js';
import type { Host } from '../../src/stack/host.js';
import { ip, parseIpv4Tcp, TcpFlag } from '../../src/wire/index.js';

const SEC = 1e9;

/** client(s) 198.18.1.0/24 -- router (MASQUERADE on eth1) -- server 198.18.2.20. */
function routed(rules: string, seed = 1) {
  const net = new Network(seed);
  const c1 = net.addHost({ name: 'c1' });
  const c2 = net.addHost({ name: 'c2' });
  const router = net.addHost({ name: 'router', forwarding: true, rules: parseIptablesSave(rules) });
  const server = net.addHost({ name: 'server' });
  c1.addInterface('eth0', '198.18.1.10/24');
  c2.addInterface('eth0', '198.18.3.10/24');
  router.addInterface('eth0', '198.18.1.1/24');
  router.addInterface('eth2', '198.18.3.1/24');
  router.addInterface('eth1', '198.18.2.1/24');
  server.addInterface('eth0', '198.18.2.20/24');
  c1.addRoute('default', 'eth0', '198.18.1.1');
  c2.addRoute('default', 'eth0', '198.18.3.1');
  net.connect(c1, 'eth0', router, 'eth0', { latencyNs: 100_000 });
  net.connect(c2, 'eth0', router, 'eth2', { latencyNs: 100_000 });
  net.connect(router, 'eth1', server, 'eth0', { latencyNs: 100_000 });
  const seen: Array<{ src: number; sport: number; flags: number }> = [];
  server.onTap = (t) => {
    if (t.direction !== 'inbound') return;
    const p = parseIpv4Tcp(t.bytes);
    seen.push({ src: p.ip.src, sport: p.tcp.srcPort, flags: p.tcp.flags });
  };
  const l = server.tcp.socket({ uid: 0 });
  l.bind(0, 8080);
  l.listen();
  l.onAccept = (s) => {
    s.onData = () => undefined;
  };
  return { net, c1, c2, router, server, seen };
}

function connectFrom(h: Host, port: number) {
  const s = h.tcp.socket({ uid: 1000 });
  s.reuseAddr = true;
  s.bind(0, port);
  const r: { connected: boolean; error?: string } = { connected: false };
  s.onConnect = () => (r.connected = true);
  s.onError = (e) => (r.error = e);
  s.connect(ip('198.18.2.20'), 8080);
  return r;
}

const MASQ = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n';

describe('MASQUERADE', () => {
  it('keeps a unique source port, rewrites the address, un-NATs the replies', () => {
    const { net, c1, router, seen } = routed(MASQ);
    const r = connectFrom(c1, 40000);
    net.runUntil(1 * SEC);
    expect(r.connected).toBe(true);
    expect(seen[0]).toMatchObject({ src: ip('198.18.2.1'), sport: 40000, flags: TcpFlag.SYN });
    expect(router.conntrackList().join('\n')).toMatch(/src=198\.18\.1\.10 dst=198\.18\.2\.20 sport=40000 dport=8080 src=198\.18\.2\.20 dst=198\.18\.2\.1 sport=8080 dport=40000/);
  });

  it('a second client with the same source port gets a new port in 1024-65535 (the tuple would clash)', () => {
    const { net, c1, c2, seen } = routed(MASQ);
    const a = connectFrom(c1, 40000);
    net.runUntil(1 * SEC);
    const b = connectFrom(c2, 40000);
    net.runUntil(2 * SEC);
    expect(a.connected && b.connected).toBe(true);
    const syns = seen.filter((s) => s.flags === TcpFlag.SYN);
    expect(syns[0].sport).toBe(40000);
    expect(syns[1].sport).not.toBe(40000);
    expect(syns[1].sport).toBeGreaterThanOrEqual(1024);
  });

  it('the port search is deterministic per seed (get_random_u16 from the run seed)', () => {
    const port = (seed: number) => {
      const { net, c1, c2, seen } = routed(MASQ, seed);
      connectFrom(c1, 40000);
      net.runUntil(1 * SEC);
      connectFrom(c2, 40000);
      net.runUntil(2 * SEC);
      return seen.filter((s) => s.flags === TcpFlag.SYN)[1].sport;
    };
    expect(port(3)).toBe(port(3));
    expect(new Set([port(3), port(4), port(5)]).size).toBeGreaterThan(1);
  });

  it('--random-fully draws a port even when the original one is free; --to-ports bounds it', () => {
    const { net, c1, seen } = routed('*nat\n-A POSTROUTING -o eth1 -p tcp -j MASQUERADE --to-ports 50000-50009 --random-fully\nCOMMIT\n');
    connectFrom(c1, 40000);
    net.runUntil(1 * SEC);
    expect(seen[0].sport).toBeGreaterThanOrEqual(50000);
    expect(seen[0].sport).toBeLessThanOrEqual(50009);
  });

  it('a privileged source port stays in its class (1-511) when it must change', () => {
    const { net, c1, c2, seen } = routed(MASQ);
    connectFrom(c1, 300);
    net.runUntil(1 * SEC);
    connectFrom(c2, 300);
    net.runUntil(2 * SEC);
    const syns = seen.filter((s) => s.flags === TcpFlag.SYN);
    expect(syns[1].sport).toBeGreaterThanOrEqual(1);
    expect(syns[1].sport).toBeLessThanOrEqual(511);
    expect(syns[1].sport).not.toBe(300);
  });
});

describe('REJECT', () => {
  function pair(rules: string) {
    const net = new Network(1);
    const a = net.addHost({ name: 'client' });
    const b = net.addHost({ name: 'server', rules: parseIptablesSave(rules) });
    a.addInterface('eth0', '198.18.0.1/24');
    b.addInterface('eth0', '198.18.0.2/24');
    net.connect(a, 'eth0', b, 'eth0', { latencyNs: 100_000 });
    const rx: Uint8Array[] = [];
    a.onTap = (t) => {
      if (t.direction === 'inbound') rx.push(t.bytes);
    };
    return { net, a, b, rx };
  }

  it('--reject-with tcp-reset: the SYN gets RST|ACK (ack = seq + 1, IP id 0, DF, TTL 64, window 0) and connect() fails ECONNREFUSED', () => {
    const { net, a, rx } = pair('*filter\n-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset\nCOMMIT\n');
    const s = a.tcp.socket({ uid: 1000 });
    let err = '';
    s.onError = (e) => (err = e);
    s.connect(ip('198.18.0.2'), 8080, { iss: 1000 });
    net.runUntil(1 * SEC);
    expect(err).toBe('ECONNREFUSED');
    const rst = parseIpv4Tcp(rx[0]);
    expect(rst.tcp.flags).toBe(TcpFlag.RST | TcpFlag.ACK);
    expect(rst.tcp.seq).toBe(0);
    expect(rst.tcp.ack).toBe(1001);
    expect(rst.tcp.window).toBe(0);
    expect(rst.ip).toMatchObject({ identification: 0, dontFragment: true, ttl: 64, src: ip('198.18.0.2'), dst: ip('198.18.0.1') });
  });

  it('icmp-port-unreachable (the default) stops the run with a typed error naming the rules line', () => {
    const { net, a } = pair('*filter\n\n-A INPUT -p tcp -j REJECT\nCOMMIT\n');
    a.tcp.socket({ uid: 1000 }).connect(ip('198.18.0.2'), 8080);
    expect(() => net.runUntil(1 * SEC)).toThrow(RuleEvalError);
  });
});
