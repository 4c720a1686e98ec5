// The raw table's CT --notrack (and its alias -j NOTRACK) on an emulated host: the packet gets the
// untracked mark before conntrack, so no entry is made or found, NAT never sees it, --ctstate
// UNTRACKED matches it at every later hook (lo's PREROUTING ignores it as "previously seen"), and
// packets of the same connection the rules do not untrack are tracked as usual. Each expectation
// is what 6.18.44 did in a namespace, 198.18.0.1 on lo, a Python client (bound to port 40000)
// sending "hi" to a server on 5555 that answers "okhi" and closes:
//  - both directions untracked (raw OUTPUT --dport 5555 -j NOTRACK, --sport 5555 -j CT --notrack),
//    with nat OUTPUT --dport 5555 -j REDIRECT --to-ports 6666: served by 5555 (never redirected),
//    no entry, invalid 0, the filter OUTPUT and INPUT --ctstate UNTRACKED rules 10 packets each;
//  - only the client's packets untracked: the server's SYN-ACK is INVALID (no entry: invalid +2,
//    at OUTPUT and again at lo's PREROUTING), its next ACK is picked up (nf_conntrack_tcp_loose)
//    and one entry is left, server -> client, [UNREPLIED], CLOSE_WAIT; filter OUTPUT counted 5
//    UNTRACKED, 1 INVALID, 4 NEW.
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/sim/network.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { RuleParseError } from '../../src/stack/iptables/errors.js';
import { ip } from '../../src/wire/index.js';

const ADDR = ip('198.18.0.1');

function run(rules: string) {
  const net = new Network(1);
  const ruleset = parseIptablesSave(rules);
  const h = net.addHost({ name: 'pod', rules: ruleset });
  h.addInterface('eth0', '198.18.0.1/24');
  const served: number[] = [];
  for (const port of [5555, 6666]) {
    const l = h.tcp.socket({ uid: 0 });
    l.bind(ADDR, port);
    l.listen();
    l.onAccept = (c) => {
      c.onData = (d) => {
        served.push(port);
        const reply = new Uint8Array(2 + d.length);
        reply.set([0x6f, 0x6b]);
        reply.set(d, 2);
        c.send(reply);
        c.close();
      };
    };
  }
  const client = h.tcp.socket({ uid: 0 });
  client.bind(ADDR, 40000);
  let reply = '';
  client.onConnect = () => client.send(new TextEncoder().encode('hi'));
  client.onData = (d) => {
    reply += new TextDecoder().decode(d);
    // As the Python client: recv() returns, close() runs once the server's FIN is in too.
    h.sched.after(1_000_000, () => client.close());
  };
  client.connect(ADDR, 5555);
  net.runUntil(1e9);
  return { h, ruleset, served, reply };
}

const FILTER = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -p tcp -m conntrack --ctstate UNTRACKED -j ACCEPT',
  '-A OUTPUT -p tcp -m conntrack --ctstate UNTRACKED -j ACCEPT',
  '-A OUTPUT -p tcp -m conntrack --ctstate INVALID -j ACCEPT',
  '-A OUTPUT -p tcp -m conntrack --ctstate NEW -j ACCEPT',
  'COMMIT',
];

describe('CT --notrack / NOTRACK in the raw table', () => {
  it('both directions untracked: no entry, no NAT, every packet UNTRACKED at OUTPUT and INPUT', () => {
    const rules = [
      '*raw',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A OUTPUT -p tcp -m tcp --dport 5555 -j NOTRACK',
      '-A OUTPUT -p tcp -m tcp --sport 5555 -j CT --notrack',
      'COMMIT',
      '*nat',
      ':OUTPUT ACCEPT [0:0]',
      '-A OUTPUT -p tcp -m tcp --dport 5555 -j REDIRECT --to-ports 6666',
      'COMMIT',
      ...FILTER,
      '',
    ].join('\n');
    const { h, ruleset, served, reply } = run(rules);
    expect(reply).toBe('okhi');
    expect(served).toEqual([5555]);
    expect(h.conntrackList()).toEqual([]);
    expect(h.conntrack.stats.invalid).toBe(0);
    expect(ruleset.rule('nat', 'OUTPUT', 1)!.counters.packets).toBe(0);
    expect(ruleset.rule('filter', 'OUTPUT', 1)!.counters.packets).toBe(10);
    expect(ruleset.rule('filter', 'INPUT', 1)!.counters.packets).toBe(10);
    expect(ruleset.rule('raw', 'OUTPUT', 1)!.counters.packets).toBe(5);
    expect(ruleset.rule('raw', 'OUTPUT', 2)!.counters.packets).toBe(5);
  });

  it('only the client untracked: the server\'s SYN-ACK is INVALID twice, its ACK picked up, one UNREPLIED entry left', () => {
    const rules = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -m tcp --dport 5555 -j NOTRACK', 'COMMIT', ...FILTER, ''].join('\n');
    const { h, ruleset, reply } = run(rules);
    expect(reply).toBe('okhi');
    expect(h.conntrack.stats.invalid).toBe(2);
    const list = h.conntrackList();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^tcp\s+6\s+(59|60) CLOSE_WAIT src=198\.18\.0\.1 dst=198\.18\.0\.1 sport=5555 dport=40000 \[UNREPLIED\] src=198\.18\.0\.1 dst=198\.18\.0\.1 sport=40000 dport=5555/);
    expect([1, 2, 3].map((i) => ruleset.rule('filter', 'OUTPUT', i)!.counters.packets)).toEqual([5, 1, 4]);
  });

  it('a packet that already has an entry is not untracked (xt_CT: only without an attachment)', () => {
    // raw PREROUTING sees lo packets that carry their OUTPUT entry: the rule matches and changes nothing.
    const rules = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -i lo -p tcp -j CT --notrack', 'COMMIT', ...FILTER, ''].join('\n');
    const { h, ruleset, reply } = run(rules);
    expect(reply).toBe('okhi');
    expect(ruleset.rule('raw', 'PREROUTING', 1)!.counters.packets).toBeGreaterThan(0);
    expect(ruleset.rule('filter', 'INPUT', 1)!.counters.packets).toBe(0); // nothing arrived UNTRACKED
    expect(h.conntrack.stats.invalid).toBe(0);
    expect(h.conntrackList()).toHaveLength(1); // the connection's own entry, tracked at OUTPUT
  });
});

describe('CT/NOTRACK rules as iptables reads and prints them', () => {
  const load = (rule: string, table = 'raw') => parseIptablesSave(`*${table}\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT ${rule}\nCOMMIT\n`);

  it('saves each form as written and lists both as CT (iptables 1.8.9: "CT ... tcp dpt:80 NOTRACK", "... CT notrack")', () => {
    const rs = load('-p tcp -m tcp --dport 80 -j NOTRACK');
    rs.command('raw', '-A OUTPUT -p tcp -m tcp --dport 81 -j CT --notrack');
    expect(rs.save({ counters: false })).toContain('-A OUTPUT -p tcp -m tcp --dport 80 -j NOTRACK\n-A OUTPUT -p tcp -m tcp --dport 81 -j CT --notrack\n');
    const listing = rs.dump('raw');
    expect(listing).toMatch(/ CT\s+tcp\s+--\s+\*\s+\*\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+tcp dpt:80 NOTRACK/);
    expect(listing).toMatch(/tcp dpt:81 CT notrack/);
  });

  it('refuses them outside the raw table, CT without --notrack, and options NOTRACK does not take', () => {
    expect(() => load('-p tcp -j NOTRACK', 'mangle')).toThrow(/only valid in the raw table, not mangle/);
    expect(() => load('-p tcp -j CT')).toThrow(RuleParseError);
    expect(() => load('-p tcp -j CT')).toThrow(/modelled only with --notrack/);
    expect(() => load('-p tcp -j CT --notrack --zone 1')).toThrow(/"-j CT --zone" is not modelled/);
    expect(() => load('-p tcp -j NOTRACK --notrack')).toThrow(/needs "-j CT"/);
    // On a rule that can never see TCP, CT's other uses (Istio's DNS zones) stay inert, as before.
    expect(load('-p udp -m udp --dport 53 -j CT --zone 1').save({ counters: false })).toContain('-A OUTPUT -p udp -m udp --dport 53 -j CT --zone 1\n');
  });
});
