// A packet conntrack marks INVALID at OUTPUT leaves with no entry attached (nf_conntrack_in sets
// skb->_nfct = 0), so when lo hands it back to PREROUTING conntrack tracks it a second time; only
// a packet with an entry (or the untracked mark) is "previously seen" and skipped there. A REJECT
// answering an INVALID packet has no entry to attach either, so its reset is tracked at OUTPUT.
// Measured on 6.18.44 and on 6.1.192 (a UML guest), in a namespace, 198.18.0.1 on lo,
// raw-socket packets to it, the same on both:
//  - a bare RST with no entry: `conntrack -S` invalid +2;
//  - a bare ACK with no entry, nf_conntrack_tcp_loose=0, `-A INPUT -p tcp --dport 5555 -m conntrack
//    --ctstate INVALID -j REJECT --reject-with tcp-reset`: invalid +4 (the ACK twice, the reset
//    twice) and the OUTPUT rule `-m conntrack --ctstate INVALID` counts 2 packets (the ACK, the reset);
//  - a SYN: invalid +0 and no entry left (the RST|ACK answer is valid and deletes it).
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/sim/network.js';
import type { HostEvent } from '../../src/stack/host.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { encodeSegment, ip, TcpFlag } from '../../src/wire/index.js';

const ADDR = '198.18.0.1';

function loopbackHost(rules: string, sysctls: string[] = []) {
  const net = new Network(1);
  const events: HostEvent[] = [];
  const ruleset = parseIptablesSave(rules);
  const h = net.addHost({ name: 'pod', rules: ruleset, sysctls });
  h.addInterface('eth0', `${ADDR}/24`);
  const prev = h.onEvent;
  h.onEvent = (e) => {
    events.push(e);
    prev?.(e);
  };
  return { net, h, events, ruleset };
}

function segment(flags: number, ack = 0) {
  return encodeSegment({
    src: ip(ADDR), dst: ip(ADDR), srcPort: 40000, dstPort: 5555, seq: 1000, ack, flags, window: 64240,
    options: [], identification: 1, dontFragment: false, ttl: 64,
  });
}

const invalidHooks = (events: HostEvent[]) => events.flatMap((e) => (e.invalid ? [e.invalid.hook] : []));

describe('loopback packets conntrack marks INVALID', () => {
  it('are tracked again at PREROUTING: a RST with no entry counts twice', () => {
    const { net, h, events } = loopbackHost('*filter\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    h.localOut(segment(TcpFlag.RST), null);
    net.runUntil(1e9);
    expect(h.conntrack.stats.invalid).toBe(2);
    expect(invalidHooks(events)).toEqual(['output', 'prerouting']);
    expect(h.conntrack.count).toBe(0);
  });

  it('a packet with an entry is tracked once: the SYN creates it at OUTPUT, PREROUTING skips it', () => {
    const { net, h, events } = loopbackHost('*filter\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    h.localOut(segment(TcpFlag.SYN), null);
    net.runUntil(1e6);
    // The SYN's entry, then the local TCP's RST|ACK (no listener on 5555) in its reply direction: valid.
    expect(h.conntrack.stats.invalid).toBe(0);
    expect(invalidHooks(events)).toEqual([]);
    expect(h.conntrackList()).toEqual([]); // the RST in reply to an unanswered SYN deletes it (6.18.44: none left)
  });

  it('a REJECT answering an INVALID packet sends a reset that is tracked (INVALID) at OUTPUT and again at PREROUTING', () => {
    const rules = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A INPUT -p tcp -m tcp --dport 5555 -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset',
      '-A OUTPUT -p tcp -m conntrack --ctstate INVALID -j ACCEPT',
      'COMMIT',
      '',
    ].join('\n');
    const { net, h, events, ruleset } = loopbackHost(rules, ['net.netfilter.nf_conntrack_tcp_loose=0']);
    h.localOut(segment(TcpFlag.ACK, 777), null);
    net.runUntil(1e9);
    expect(h.conntrack.stats.invalid).toBe(4);
    expect(invalidHooks(events)).toEqual(['output', 'prerouting', 'output', 'prerouting']);
    expect(ruleset.rule('filter', 'OUTPUT', 1)!.counters.packets).toBe(2);
    expect(ruleset.rule('filter', 'INPUT', 1)!.counters.packets).toBe(1);
  });
});
