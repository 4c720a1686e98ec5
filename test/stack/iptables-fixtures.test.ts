// Real iptables-save output (test/stack/fixtures/iptables-save, produced by the real
// iptables-restore/iptables-save in a namespace: scripts/iptables-save-fixtures.sh) loads
// unchanged and prints back line for line; then what those rulesets do to packets: kube-proxy's
// ClusterIP DNAT with -m statistic, KUBE-MARK-MASQ / KUBE-POSTROUTING marks and MASQUERADE,
// REJECT for a service without endpoints, Docker's addrtype LOCAL DNAT, Istio's UDP-only raw rules.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleEvalError, RuleParseError } from '../../src/stack/iptables/errors.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { probabilityText } from '../../src/stack/iptables/rule-text.js';
import type { RulePacket } from '../../src/stack/rules.js';
import { RouteType } from '../../src/stack/rules.js';
import { ip } from '../../src/wire/ipv4-address.js';
import { Prng } from '../../src/sim/prng.js';

const DIR = join(import.meta.dirname, 'fixtures', 'iptables-save');
const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();
const read = (f: string) => readFileSync(join(DIR, f), 'utf8');
const ruleLines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** Route types of a node with 198.18.0.10/24 on eth0, docker0 198.18.96.1/24 and lo. */
const nodeAddrType = (addr: number): number => {
  if ([ip('198.18.0.10'), ip('198.18.96.1'), ip('127.0.0.1')].includes(addr)) return RouteType.LOCAL;
  return RouteType.UNICAST;
};

const pkt = (over: Partial<RulePacket> = {}): RulePacket => ({
  src: ip('198.18.64.50'), dst: ip('198.19.0.20'), proto: 6, sport: 40000, dport: 80, length: 60,
  inIface: 'cni0', ctstate: 'NEW', mark: 0, ctNat: 0, addrType: nodeAddrType, ...over,
});

describe('real iptables-save dumps load unchanged', () => {
  it('has the four dumps in both backends', () => {
    expect(fixtures).toEqual([
      'docker-bridge.legacy.txt', 'docker-bridge.txt',
      'istio-sidecar-dns-drop-invalid.legacy.txt', 'istio-sidecar-dns-drop-invalid.txt',
      'istio-sidecar.legacy.txt', 'istio-sidecar.txt',
      'kube-proxy-node.legacy.txt', 'kube-proxy-node.txt',
    ]);
  });

  for (const f of fixtures) {
    it(`${f}: every rule and chain line prints back exactly as iptables-save printed it`, () => {
      const text = read(f);
      const rs = parseIptablesSave(text);
      expect(ruleLines(rs.save({ counters: false }))).toEqual(ruleLines(text));
    });
  }

  it('probabilities print as libxt_statistic does (%.11f of lround(p * 2^31) / 2^31)', () => {
    const rs = parseIptablesSave('*nat\n:X - [0:0]\n-A X -m statistic --mode random --probability 0.3333333333 -j RETURN\n-A X -m statistic --mode random --probability 0.2500000000 -j RETURN\nCOMMIT\n');
    expect(ruleLines(rs.save({ counters: false })).slice(-3, -1)).toEqual([
      '-A X -m statistic --mode random --probability 0.33333333349 -j RETURN',
      '-A X -m statistic --mode random --probability 0.25000000000 -j RETURN',
    ]);
    // An exact tie at the 11th decimal rounds half to even, like glibc's printf.
    expect(probabilityText(2 ** 19)).toBe('0.00024414062');
    expect(probabilityText(3 * 2 ** 19)).toBe('0.00073242188');
    expect(probabilityText(2 ** 31)).toBe('1.00000000000');
  });
});

describe('kube-proxy node (iptables mode)', () => {
  const rs = () => parseIptablesSave(read('kube-proxy-node.txt'));

  it('ClusterIP: PREROUTING DNATs to one of three endpoints, each about a third of the time, deterministically per seed', () => {
    const run = (seed: number) => {
      const r = rs();
      const rnd = new Prng(seed);
      const random = { randomU32: () => rnd.nextU32() };
      const counts = new Map<string, number>();
      for (let i = 0; i < 3000; i++) {
        const res = r.evaluate('nat', 'PREROUTING', pkt({ sport: 30000 + i }), random);
        expect(res.nat?.kind).toBe('dnat');
        const key = res.nat!.kind === 'dnat' ? `${res.nat!.addr}:${res.nat!.portMin}` : '';
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    };
    const a = run(7);
    expect([...a.keys()].sort()).toEqual([ip('198.18.64.10'), ip('198.18.64.11'), ip('198.18.65.12')].map((x) => `${x}:8080`).sort());
    for (const n of a.values()) {
      expect(n / 3000).toBeGreaterThan(0.27);
      expect(n / 3000).toBeLessThan(0.4);
    }
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
  });

  it('traffic from outside the pod CIDR is marked 0x4000 (KUBE-MARK-MASQ = --set-xmark 0x4000/0x4000); pod traffic is not', () => {
    const r = rs();
    const outside = pkt({ src: ip('198.18.0.77'), inIface: 'eth0' });
    r.evaluate('nat', 'PREROUTING', outside);
    expect(outside.mark).toBe(0x4000);
    const inside = pkt();
    r.evaluate('nat', 'PREROUTING', inside);
    expect(inside.mark).toBe(0);
  });

  it('KUBE-POSTROUTING: marked packets are masqueraded (--random-fully) and the mark is cleared with --xor-mark; others RETURN', () => {
    const r = rs();
    const marked = pkt({ mark: 0x4001, outIface: 'eth0', inIface: undefined });
    const res = r.evaluate('nat', 'POSTROUTING', marked);
    expect(res.nat).toEqual({ kind: 'masquerade', random: false, randomFully: true });
    expect(marked.mark).toBe(0x0001);
    const plain = pkt({ outIface: 'eth0', inIface: undefined });
    const res2 = r.evaluate('nat', 'POSTROUTING', plain);
    expect(res2.nat).toBeUndefined();
    expect(res2.hits.map((h) => `${h.chain}#${h.index} ${h.target}`)).toEqual(['POSTROUTING#1 KUBE-POSTROUTING', 'KUBE-POSTROUTING#1 RETURN', 'POSTROUTING#2 ACCEPT']);
  });

  it('NodePort: only a LOCAL destination reaches KUBE-NODEPORTS (the last rule of KUBE-SERVICES)', () => {
    const r = rs();
    const toNode = r.evaluate('nat', 'PREROUTING', pkt({ src: ip('198.18.0.77'), dst: ip('198.18.0.10'), dport: 30080, inIface: 'eth0' }));
    expect(toNode.nat?.kind).toBe('dnat');
    expect(toNode.hits.some((h) => h.chain === 'KUBE-NODEPORTS')).toBe(true);
    const elsewhere = r.evaluate('nat', 'PREROUTING', pkt({ src: ip('198.18.0.77'), dst: ip('198.18.0.11'), dport: 30080, inIface: 'eth0' }));
    expect(elsewhere.nat).toBeUndefined();
  });

  it('KUBE-FORWARD drops INVALID (the nfacct match always matches) and accepts marked or ESTABLISHED traffic', () => {
    const r = rs();
    expect(r.evaluate('filter', 'FORWARD', pkt({ ctstate: 'INVALID', outIface: 'eth0' })).verdict).toBe('DROP');
    const ok = r.evaluate('filter', 'FORWARD', pkt({ ctstate: 'ESTABLISHED', outIface: 'eth0' }));
    expect(ok.hits.at(-1)?.text).toContain('kubernetes forwarding conntrack rule');
  });

  it('KUBE-FIREWALL: --ctstate ! RELATED,ESTABLISHED,DNAT drops a NEW localnet packet unless it was DNATed', () => {
    const r = rs();
    const loc = { src: ip('198.18.0.77'), dst: ip('127.0.0.1'), inIface: 'eth0', dport: 22 };
    expect(r.evaluate('filter', 'INPUT', pkt(loc)).verdict).toBe('DROP');
    expect(r.evaluate('filter', 'INPUT', pkt({ ...loc, ctNat: 2 })).verdict).toBe('ACCEPT');
  });

  it('a service without endpoints is REJECTed with icmp-port-unreachable (the host refuses to answer it: ICMP is out of scope)', () => {
    const r = rs();
    const res = r.evaluate('filter', 'OUTPUT', pkt({ dst: ip('198.19.0.30'), inIface: undefined, outIface: 'eth0', uid: 1000, gid: 1000 }));
    expect(res.verdict).toBe('DROP');
    expect(res.reject).toEqual({ with: 'icmp-port-unreachable', line: expect.any(Number) });
    expect(read('kube-proxy-node.txt').split('\n')[res.reject!.line - 1]).toContain('default/noep:http has no endpoints');
  });
});

describe('Docker (bridge driver)', () => {
  const rs = () => parseIptablesSave(read('docker-bridge.txt'));

  it('a published port on a LOCAL address is DNATed to the container unless it comes in on docker0', () => {
    const r = rs();
    const fromOutside = r.evaluate('nat', 'PREROUTING', pkt({ src: ip('198.18.0.77'), dst: ip('198.18.0.10'), dport: 8080, inIface: 'eth0' }));
    expect(fromOutside.nat).toEqual({ kind: 'dnat', addr: ip('198.18.96.2'), portMin: 80, portMax: 80 });
    const fromBridge = r.evaluate('nat', 'PREROUTING', pkt({ src: ip('198.18.96.3'), dst: ip('198.18.0.10'), dport: 8080, inIface: 'docker0' }));
    expect(fromBridge.nat).toBeUndefined();
    const notLocal = r.evaluate('nat', 'PREROUTING', pkt({ src: ip('198.18.0.77'), dst: ip('198.18.0.99'), dport: 8080, inIface: 'eth0' }));
    expect(notLocal.nat).toBeUndefined();
  });

  it('the bridge subnet is masqueraded on the way out, not towards the bridge itself', () => {
    const r = rs();
    expect(r.evaluate('nat', 'POSTROUTING', pkt({ src: ip('198.18.96.2'), dst: ip('198.18.0.77'), outIface: 'eth0', inIface: undefined })).nat?.kind).toBe('masquerade');
    expect(r.evaluate('nat', 'POSTROUTING', pkt({ src: ip('198.18.96.2'), dst: ip('198.18.96.3'), outIface: 'docker0', inIface: undefined })).nat).toBeUndefined();
  });

  it('FORWARD policy DROP; the isolation chains drop traffic between the two bridges', () => {
    const r = rs();
    const cross = r.evaluate('filter', 'FORWARD', pkt({ src: ip('198.18.96.2'), dst: ip('198.18.97.2'), inIface: 'docker0', outIface: 'br-5f3c1e2a9b7d' }));
    expect(cross.verdict).toBe('DROP');
    expect(cross.hits.at(-1)?.chain).toBe('DOCKER-ISOLATION-STAGE-2');
    const out = r.evaluate('filter', 'FORWARD', pkt({ src: ip('198.18.96.2'), dst: ip('198.18.0.77'), inIface: 'docker0', outIface: 'eth0' }));
    expect(out.verdict).toBe('ACCEPT');
    const unsolicited = r.evaluate('filter', 'FORWARD', pkt({ src: ip('198.18.0.77'), dst: ip('198.18.96.2'), dport: 22, inIface: 'eth0', outIface: 'docker0' }));
    expect(unsolicited.verdict).toBe('DROP');
    expect(unsolicited.hits.at(-1)?.kind).toBe('policy');
  });
});

describe('Istio with DNS capture and INVALID drop', () => {
  const rs = () => parseIptablesSave(read('istio-sidecar-dns-drop-invalid.txt'));

  it('TCP passes the raw table untouched: the CT --zone rules are UDP-only', () => {
    const r = rs();
    const res = r.evaluate('raw', 'OUTPUT', pkt({ uid: 1337, gid: 1337, inIface: undefined, outIface: 'eth0', dport: 53 }));
    expect(res.verdict).toBe('ACCEPT');
    expect(res.hits.map((h) => h.target)).toEqual(['ISTIO_OUTPUT_DNS', 'ACCEPT']);
  });

  it('a UDP packet that reaches an inert CT rule is a typed error naming the line, never a silent pass', () => {
    const r = rs();
    expect(() => r.evaluate('raw', 'OUTPUT', pkt({ proto: 17, dport: 53, uid: 1337, gid: 1337, inIface: undefined, outIface: 'eth0' }))).toThrow(RuleEvalError);
    expect(() => r.evaluate('raw', 'OUTPUT', pkt({ proto: 17, dport: 53, uid: 1337, gid: 1337, inIface: undefined, outIface: 'eth0' }))).toThrow(/-j CT.*line \d+/);
  });

  it('TCP DNS of the app is redirected to 15053 and other app traffic to 15001 (multiport ! --dports 53,15008)', () => {
    const r = rs();
    const dns = r.evaluate('nat', 'OUTPUT', pkt({ dst: ip('198.19.0.10'), dport: 53, uid: 1000, gid: 1000, inIface: undefined, outIface: 'eth0' }));
    expect(dns.nat).toEqual({ kind: 'redirect', portMin: 15053, portMax: 15053 });
    const web = r.evaluate('nat', 'OUTPUT', pkt({ dst: ip('198.19.0.20'), dport: 80, uid: 1000, gid: 1000, inIface: undefined, outIface: 'eth0' }));
    expect(web.nat).toEqual({ kind: 'redirect', portMin: 15001, portMax: 15001 });
    // Envoy (uid 1337) calling the pod's own address over lo: the multiport exclusion keeps 53 and 15008 out of ISTIO_IN_REDIRECT.
    const selfDns = r.evaluate('nat', 'OUTPUT', pkt({ dst: ip('198.18.64.50'), dport: 53, uid: 1337, gid: 1337, inIface: undefined, outIface: 'lo' }));
    expect(selfDns.hits.some((h) => h.chain === 'ISTIO_IN_REDIRECT')).toBe(false);
    const selfWeb = r.evaluate('nat', 'OUTPUT', pkt({ dst: ip('198.18.64.50'), dport: 8080, uid: 1337, gid: 1337, inIface: undefined, outIface: 'lo' }));
    expect(selfWeb.nat).toEqual({ kind: 'redirect', portMin: 15006, portMax: 15006 });
  });

  it('mangle PREROUTING drops INVALID', () => {
    expect(rs().evaluate('mangle', 'PREROUTING', pkt({ ctstate: 'INVALID', inIface: 'eth0' })).verdict).toBe('DROP');
  });
});

describe('what ctsim cannot model is refused with the line', () => {
  const fail = (text: string) => {
    try {
      parseIptablesSave(text);
    } catch (e) {
      return e as RuleParseError;
    }
    throw new Error('parsed');
  };
  it('CT on a TCP rule, CONNMARK, -m recent, SNAT ranges in the wrong table', () => {
    expect(fail('*raw\n-A OUTPUT -p tcp -j CT --zone 1\nCOMMIT\n')).toMatchObject({ reason: 'unsupported-target', line: 2, token: '-j CT' });
    expect(fail('*raw\n-A OUTPUT -p tcp -j CT\nCOMMIT\n')).toMatchObject({ reason: 'unsupported-target', line: 2, token: '-j CT' });
    expect(fail('*mangle\n-A PREROUTING -j CONNMARK --restore-mark\nCOMMIT\n')).toMatchObject({ reason: 'unsupported-target', line: 2 });
    expect(fail('*filter\n\n-A INPUT -p tcp -m recent --set\nCOMMIT\n')).toMatchObject({ reason: 'unsupported-match', line: 3, token: '-m recent' });
    expect(fail('*filter\n-A INPUT -j MASQUERADE\nCOMMIT\n')).toMatchObject({ reason: 'wrong-table', line: 2 });
    expect(fail('*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n')).toMatchObject({ reason: 'wrong-hook', line: 2 });
    expect(fail('*nat\n-A OUTPUT -j REJECT\nCOMMIT\n')).toMatchObject({ reason: 'wrong-table', line: 2 });
    expect(fail('*filter\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT\n')).toMatchObject({ reason: 'wrong-protocol', line: 2 });
    expect(fail('*filter\n-A INPUT -m statistic --mode random -j DROP\nCOMMIT\n')).toMatchObject({ reason: 'missing-argument', line: 2 });
    expect(fail('*filter\n-A INPUT -m multiport --dports 1,2 -j DROP\nCOMMIT\n')).toMatchObject({ reason: 'wrong-protocol', line: 2 });
    expect(fail('*filter\n-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j DROP\nCOMMIT\n')).toMatchObject({ reason: 'bad-value', line: 2 });
    expect(fail('*filter\n-A INPUT -m addrtype --dst-type LOCAL --limit-iface-out -j DROP\nCOMMIT\n')).toMatchObject({ reason: 'wrong-hook', line: 2 });
    expect(fail('*filter\n-A INPUT -j MARK --set-mark 1 --or-mark 2\nCOMMIT\n')).toMatchObject({ reason: 'syntax', line: 2 });
  });
});

describe('match semantics', () => {
  it('-m statistic --mode nth --every 3 --packet 1 matches every third packet, the counter starting at 1', () => {
    const r = parseIptablesSave('*filter\n-A INPUT -m statistic --mode nth --every 3 --packet 1 -j DROP\nCOMMIT\n');
    const v = Array.from({ length: 7 }, () => r.evaluate('filter', 'INPUT', pkt()).verdict);
    // count starts at 1; each packet: count = count == 2 ? 0 : count + 1; a match when it becomes 0.
    expect(v).toEqual(['ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT']);
    expect(ruleLines(r.save({ counters: false }))[4]).toBe('-A INPUT -m statistic --mode nth --every 3 --packet 1 -j DROP');
  });

  it('-m mark with and without a mask; MARK --and-mark/--set-mark print as --set-xmark', () => {
    const r = parseIptablesSave('*mangle\n-A PREROUTING -m mark --mark 0x10/0xf0 -j MARK --and-mark 0xff00\n-A PREROUTING -m mark ! --mark 5 -j MARK --set-mark 0x7/0xf\nCOMMIT\n');
    expect(ruleLines(r.save({ counters: false })).slice(6, 8)).toEqual([
      '-A PREROUTING -m mark --mark 0x10/0xf0 -j MARK --set-xmark 0x0/0xffff00ff',
      '-A PREROUTING -m mark ! --mark 0x5 -j MARK --set-xmark 0x7/0xf',
    ]);
    const p = pkt({ mark: 0x1234 });
    r.evaluate('mangle', 'PREROUTING', p); // 0x1234 & 0xf0 = 0x30: rule 1 no; rule 2: 0x1234 != 5 -> (0x1234 & ~0xf) ^ 7
    expect(p.mark).toBe(0x1237);
    const q = pkt({ mark: 0xab1c });
    r.evaluate('mangle', 'PREROUTING', q); // rule 1: 0x10 -> mark & 0xff00 = 0xab00; rule 2: != 5 -> 0xab07
    expect(q.mark).toBe(0xab07);
  });

  it('-m addrtype --limit-iface-in looks only at routes on the input device', () => {
    const r = parseIptablesSave('*nat\n-A PREROUTING -m addrtype --dst-type LOCAL --limit-iface-in -j DNAT --to-destination 198.18.9.9\nCOMMIT\n');
    const onEth0 = (addr: number, dev: string | undefined) => (addr === ip('198.18.0.10') && (dev === undefined || dev === 'eth0') ? RouteType.LOCAL : RouteType.UNICAST);
    expect(r.evaluate('nat', 'PREROUTING', pkt({ dst: ip('198.18.0.10'), inIface: 'eth0', addrType: onEth0 })).nat).toBeDefined();
    expect(r.evaluate('nat', 'PREROUTING', pkt({ dst: ip('198.18.0.10'), inIface: 'eth1', addrType: onEth0 })).nat).toBeUndefined();
  });

  it('-m multiport --ports matches either port; "!" inverts the whole list', () => {
    const r = parseIptablesSave('*filter\n-A INPUT -p tcp -m multiport --ports 22,8000:8080 -j DROP\n-A INPUT -p tcp -m multiport ! --sports 1:1023 -j ACCEPT\nCOMMIT\n');
    expect(r.evaluate('filter', 'INPUT', pkt({ sport: 22, dport: 5 })).verdict).toBe('DROP');
    expect(r.evaluate('filter', 'INPUT', pkt({ sport: 5, dport: 8040 })).verdict).toBe('DROP');
    expect(r.evaluate('filter', 'INPUT', pkt({ sport: 5000, dport: 5 })).hits.at(-1)?.index).toBe(2);
    expect(r.evaluate('filter', 'INPUT', pkt({ sport: 500, dport: 5 })).hits.at(-1)?.kind).toBe('policy');
  });
});
