// ipt_do_table semantics on hand-written rulesets: jump pushes a return point, goto does not,
// RETURN and the end of a user chain pop, RETURN in a builtin chain and the end of a goto'd chain
// with nothing to pop apply the policy, LOG and target-less rules continue, counters count every
// match; plus each match kind and the NAT bindings REDIRECT/DNAT hand back.
import { describe, expect, it } from 'vitest';
import { RuleEvalError, RuleParseError } from '../../src/stack/iptables/errors.js';
import { MAX_JUMP_DEPTH } from '../../src/stack/iptables/evaluate.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { Ruleset } from '../../src/stack/iptables/ruleset.js';
import type { RulePacket } from '../../src/stack/rules.js';
import { ip } from '../../src/wire/ipv4-address.js';

const pkt = (over: Partial<RulePacket> = {}): RulePacket => ({
  src: ip('8.8.8.8'),
  dst: ip('198.18.0.10'),
  proto: 6,
  sport: 40000,
  dport: 22,
  length: 100,
  inIface: 'eth0',
  ctstate: 'NEW',
  ...over,
});

const trace = (r: { hits: { chain: string; index: number; target: string }[] }) => r.hits.map((h) => `${h.chain}#${h.index} ${h.target}`);

const FILTER = `
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j A
-A INPUT -p tcp -m tcp --dport 80 -g B
-A INPUT -p tcp -m tcp --dport 443 -j RETURN
-A INPUT -s 10.0.0.0/8 -j ACCEPT
-A INPUT -j LOG --log-prefix "in-drop: "
-A A -s 192.168.0.0/16 -j RETURN
-A A -j C
-A A -j ACCEPT
-A B -s 10.1.0.0/16 -j ACCEPT
-A C -s 172.16.0.0/12 -j DROP
COMMIT
`;

describe('jump, goto, RETURN and policy', () => {
  it('RETURN from a jumped-to chain resumes after the jump; falling off INPUT applies the policy', () => {
    const rs = parseIptablesSave(FILTER);
    const r = rs.evaluate('filter', 'INPUT', pkt({ src: ip('192.168.1.1') }));
    expect(r.verdict).toBe('DROP');
    expect(trace(r)).toEqual(['INPUT#1 A', 'A#1 RETURN', 'INPUT#5 LOG', 'INPUT#6 DROP']);
    expect(r.hits[3]).toMatchObject({ kind: 'policy', text: '-P INPUT DROP' });
    expect(r.logs).toEqual(['in-drop: IN=eth0 OUT= SRC=192.168.1.1 DST=198.18.0.10 LEN=100 PROTO=TCP SPT=40000 DPT=22']);
  });

  it('a nested jump returns to the rule after it when the inner chain falls off its end', () => {
    const rs = parseIptablesSave(FILTER);
    expect(trace(rs.evaluate('filter', 'INPUT', pkt()))).toEqual(['INPUT#1 A', 'A#2 C', 'A#3 ACCEPT']);
    const dropped = rs.evaluate('filter', 'INPUT', pkt({ src: ip('172.16.9.9') }));
    expect(dropped.verdict).toBe('DROP');
    expect(trace(dropped)).toEqual(['INPUT#1 A', 'A#2 C', 'C#1 DROP']);
  });

  it('goto does not push: the end of a goto chain reached from INPUT is the INPUT policy, not INPUT rule 3', () => {
    const rs = parseIptablesSave(FILTER);
    expect(trace(rs.evaluate('filter', 'INPUT', pkt({ src: ip('10.1.2.3'), dport: 80 })))).toEqual(['INPUT#2 B', 'B#1 ACCEPT']);
    // 10.2.0.1 would be accepted by INPUT rule 4 if goto returned like a jump
    const r = rs.evaluate('filter', 'INPUT', pkt({ src: ip('10.2.0.1'), dport: 80 }));
    expect(r.verdict).toBe('DROP');
    expect(trace(r)).toEqual(['INPUT#2 B', 'INPUT#6 DROP']);
  });

  it('RETURN in a builtin chain applies its policy at once (rule 4 would ACCEPT 10.0.0.1)', () => {
    const rs = parseIptablesSave(FILTER);
    const r = rs.evaluate('filter', 'INPUT', pkt({ src: ip('10.0.0.1'), dport: 443 }));
    expect(r.verdict).toBe('DROP');
    expect(trace(r)).toEqual(['INPUT#3 RETURN', 'INPUT#6 DROP']);
  });

  it('goto from a user chain: RETURN in the goto target returns to the caller of the chain that did the goto', () => {
    const rs = parseIptablesSave(`*mangle
:PREROUTING ACCEPT [0:0]
:X - [0:0]
:Y - [0:0]
-A PREROUTING -j X
-A PREROUTING -p tcp
-A PREROUTING -j DROP
-A X -g Y
-A X -j ACCEPT
-A Y -j LOG --log-prefix y: --log-level debug
-A Y -j RETURN
COMMIT
`);
    const r = rs.evaluate('mangle', 'PREROUTING', pkt());
    expect(r.verdict).toBe('DROP');
    expect(trace(r)).toEqual(['PREROUTING#1 X', 'X#1 Y', 'Y#1 LOG', 'Y#2 RETURN', 'PREROUTING#2 ', 'PREROUTING#3 DROP']);
    expect(r.logs).toHaveLength(1);
    expect(r.logs[0]).toMatch(/^y:IN=eth0 /);
    // the target-less rule counted the packet, the never-reached X#2 did not
    expect(rs.rule('mangle', 'PREROUTING', 2)!.counters).toEqual({ packets: 1, bytes: 100 });
    expect(rs.rule('mangle', 'X', 2)!.counters).toEqual({ packets: 0, bytes: 0 });
    expect(rs.save({ counters: false })).toContain('-A Y -j LOG --log-prefix "y:" --log-level 7\n-A Y -j RETURN\n');
  });

  it('counts every rule whose matches succeed, including jumps, RETURN and LOG, and the policy', () => {
    const rs = parseIptablesSave(FILTER);
    rs.evaluate('filter', 'INPUT', pkt({ src: ip('192.168.1.1'), length: 40 }));
    rs.evaluate('filter', 'INPUT', pkt({ length: 60 }));
    expect(rs.rule('filter', 'INPUT', 1)!.counters).toEqual({ packets: 2, bytes: 100 });
    expect(rs.rule('filter', 'A', 1)!.counters).toEqual({ packets: 1, bytes: 40 });
    expect(rs.rule('filter', 'A', 2)!.counters).toEqual({ packets: 1, bytes: 60 });
    expect(rs.rule('filter', 'INPUT', 5)!.counters).toEqual({ packets: 1, bytes: 40 });
    expect(rs.chain('filter', 'INPUT')!.policyCounters).toEqual({ packets: 1, bytes: 40 });
    expect(rs.save()).toContain(':INPUT DROP [1:40]\n');
    expect(rs.save()).toContain('[2:100] -A INPUT -p tcp -m tcp --dport 22 -j A\n');
  });

  it('jump depth is bounded: 64 nested jumps work, the 65th is a RuleEvalError', () => {
    const nest = (depth: number) => {
      const rs = new Ruleset();
      for (let i = depth - 1; i >= 0; i--) rs.command('raw', `-N C${i}`);
      rs.command('raw', '-A PREROUTING -j C0');
      for (let i = 0; i < depth - 1; i++) rs.command('raw', `-A C${i} -j C${i + 1}`);
      rs.command('raw', `-A C${depth - 1} -j DROP`);
      return rs;
    };
    expect(nest(MAX_JUMP_DEPTH).evaluate('raw', 'PREROUTING', pkt()).verdict).toBe('DROP');
    const deep = nest(MAX_JUMP_DEPTH + 1);
    expect(() => deep.evaluate('raw', 'PREROUTING', pkt())).toThrow(RuleEvalError);
    expect(() => deep.evaluate('raw', 'PREROUTING', pkt())).toThrow(/more than 64 nested jumps at raw C63 rule 1/);
  });

  it('jump loops are refused when the table is loaded, as the kernel does (ELOOP)', () => {
    const loop = '*filter\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -p udp -g A\nCOMMIT\n';
    const e = (() => {
      try {
        parseIptablesSave(loop);
      } catch (err) {
        return err as RuleParseError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(RuleParseError);
    expect(e.reason).toBe('jump-loop');
    expect(e.line).toBe(6);
    expect(e.message).toBe('line 6: jump loop: chain B jumps to A, which leads back to B');
    const rs = new Ruleset();
    rs.command('filter', '-N SELF');
    expect(() => rs.command('filter', '-A SELF -j SELF')).toThrow(/jump loop/);
  });

  it('a table never loaded accepts without hits; a hook the table does not have is an error', () => {
    const rs = new Ruleset();
    expect(rs.evaluate('raw', 'OUTPUT', pkt())).toEqual({ verdict: 'ACCEPT', hits: [], logs: [] });
    expect(() => rs.evaluate('nat', 'FORWARD', pkt())).toThrow(RuleEvalError);
    rs.command('filter', '-P FORWARD DROP');
    expect(() => rs.evaluate('filter', 'PREROUTING', pkt())).toThrow(/not registered at PREROUTING/);
    expect(rs.evaluate('filter', 'FORWARD', pkt()).verdict).toBe('DROP');
  });
});

describe('matches', () => {
  it('addresses with prefixes and "!"', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A INPUT ! -s 10.0.0.0/8 -d 198.18.0.0/15 -j DROP');
    expect(rs.evaluate('filter', 'INPUT', pkt({ src: ip('11.0.0.1') })).verdict).toBe('DROP');
    expect(rs.evaluate('filter', 'INPUT', pkt({ src: ip('10.255.0.1') })).verdict).toBe('ACCEPT');
    expect(rs.evaluate('filter', 'INPUT', pkt({ src: ip('11.0.0.1'), dst: ip('198.20.0.1') })).verdict).toBe('ACCEPT');
    // addresses above 2^31 compare correctly
    rs.command('filter', '-I INPUT -s 255.255.255.0/24 -j ACCEPT');
    expect(rs.evaluate('filter', 'INPUT', pkt({ src: ip('255.255.255.7') })).hits[0].index).toBe(1);
  });

  it('interfaces: exact names, "+" wildcards, "!" and no interface at all', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A FORWARD -i eth+ ! -o lo -j DROP');
    expect(rs.evaluate('filter', 'FORWARD', pkt({ inIface: 'eth1', outIface: 'eth0' })).verdict).toBe('DROP');
    expect(rs.evaluate('filter', 'FORWARD', pkt({ inIface: 'eth1', outIface: 'lo' })).verdict).toBe('ACCEPT');
    expect(rs.evaluate('filter', 'FORWARD', pkt({ inIface: 'veth1', outIface: 'eth0' })).verdict).toBe('ACCEPT');
    rs.command('filter', '-A OUTPUT -o lo -j DROP');
    expect(rs.evaluate('filter', 'OUTPUT', pkt({ inIface: undefined, outIface: 'lo0' })).verdict).toBe('ACCEPT');
    expect(rs.evaluate('filter', 'OUTPUT', pkt({ inIface: undefined, outIface: 'lo' })).verdict).toBe('DROP');
  });

  it('protocol and port ranges, with "!"', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A INPUT -p udp -m udp --sport 1000:2000 ! --dport 53 -j DROP');
    rs.command('filter', '-A INPUT ! -p tcp -j LOG');
    expect(rs.evaluate('filter', 'INPUT', pkt({ proto: 17, sport: 1500, dport: 5353 })).verdict).toBe('DROP');
    expect(rs.evaluate('filter', 'INPUT', pkt({ proto: 17, sport: 1500, dport: 53 })).logs).toHaveLength(1);
    expect(rs.evaluate('filter', 'INPUT', pkt({ proto: 17, sport: 999, dport: 5353 })).verdict).toBe('ACCEPT');
    expect(rs.evaluate('filter', 'INPUT', pkt({ proto: 6, sport: 1500, dport: 5353 })).hits).toEqual([
      expect.objectContaining({ kind: 'policy' }),
    ]);
  });

  it('conntrack and state matches', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    rs.command('filter', '-A INPUT -m state ! --state NEW -j DROP');
    rs.command('filter', '-A INPUT -m conntrack ! --ctstate INVALID -j LOG');
    const v = (ctstate: RulePacket['ctstate']) => trace(rs.evaluate('filter', 'INPUT', pkt({ ctstate })));
    expect(v('ESTABLISHED')).toEqual(['INPUT#1 ACCEPT']);
    expect(v('RELATED')).toEqual(['INPUT#1 ACCEPT']);
    expect(v('INVALID')).toEqual(['INPUT#2 DROP']);
    expect(v('UNTRACKED')).toEqual(['INPUT#2 DROP']);
    expect(v('NEW')).toEqual(['INPUT#3 LOG', 'INPUT#4 ACCEPT']);
  });

  it('owner: uid/gid compare on locally generated packets; without a socket only inverted tests match (xt_owner)', () => {
    const rs = new Ruleset();
    rs.command('nat', '-N OWNED');
    rs.command('nat', '-A OUTPUT -m owner --uid-owner 1337 -j OWNED');
    rs.command('nat', '-A POSTROUTING -m owner ! --uid-owner 1337 -j LOG --log-prefix not-envoy');
    rs.command('nat', '-A POSTROUTING -m owner --uid-owner 1337 ! --gid-owner 7 -j LOG --log-prefix mixed');
    expect(trace(rs.evaluate('nat', 'OUTPUT', pkt({ uid: 1337, gid: 1337 })))).toEqual(['OUTPUT#1 OWNED', 'OUTPUT#2 ACCEPT']);
    expect(trace(rs.evaluate('nat', 'OUTPUT', pkt({ uid: 1000, gid: 1337 })))).toEqual(['OUTPUT#2 ACCEPT']);
    expect(rs.evaluate('nat', 'POSTROUTING', pkt({ uid: 1337, gid: 1 })).logs.map((l) => l.slice(0, 5))).toEqual(['mixed']);
    expect(rs.evaluate('nat', 'POSTROUTING', pkt({ uid: 1000, gid: 1 })).logs.map((l) => l.slice(0, 9))).toEqual(['not-envoy']);
    // a forwarded packet has no socket: "--uid-owner 1337" fails, "! --uid-owner 1337" succeeds
    expect(trace(rs.evaluate('nat', 'OUTPUT', pkt()))).toEqual(['OUTPUT#2 ACCEPT']);
    const fwd = rs.evaluate('nat', 'POSTROUTING', pkt());
    expect(fwd.logs.map((l) => l.slice(0, 9))).toEqual(['not-envoy']);
  });

  it('comments are kept for display and never affect matching', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A INPUT -m comment --comment "allow ssh (ops)" -p tcp -m tcp --dport 22 -j ACCEPT');
    expect(rs.evaluate('filter', 'INPUT', pkt()).verdict).toBe('ACCEPT');
    expect(rs.dump('filter')).toContain('0.0.0.0/0            /* allow ssh (ops) */ tcp dpt:22\n');
    expect(rs.save()).toContain('-A INPUT -p tcp -m comment --comment "allow ssh (ops)" -m tcp --dport 22 -j ACCEPT\n');
  });
});

describe('NAT targets and ruleset commands', () => {
  it('REDIRECT and DNAT hand back their binding; the packet is accepted', () => {
    const rs = new Ruleset();
    rs.command('nat', '-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:8080-8090');
    rs.command('nat', '-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 10.0.0.6');
    rs.command('nat', '-A OUTPUT -p tcp -j REDIRECT');
    expect(rs.evaluate('nat', 'PREROUTING', pkt({ dport: 80 }))).toMatchObject({
      verdict: 'ACCEPT',
      nat: { kind: 'dnat', addr: ip('10.0.0.5'), portMin: 8080, portMax: 8090 },
    });
    expect(rs.evaluate('nat', 'PREROUTING', pkt({ dport: 81 })).nat).toEqual({ kind: 'dnat', addr: ip('10.0.0.6') });
    expect(rs.evaluate('nat', 'OUTPUT', pkt()).nat).toEqual({ kind: 'redirect' });
    expect(rs.dump('nat')).toContain('tcp dpt:80 to:10.0.0.5:8080-8090\n');
  });

  it('-I inserts at a 1-based position (default 1); -P sets a policy; a failing command changes nothing', () => {
    const rs = new Ruleset();
    rs.command('filter', '-A INPUT -s 1.1.1.1/32 -j ACCEPT');
    rs.command('filter', '-A INPUT -s 3.3.3.3/32 -j ACCEPT');
    rs.command('filter', '-I INPUT 2 -s 2.2.2.2/32 -j ACCEPT');
    rs.command('filter', '-I INPUT -s 0.0.0.0/32 -j ACCEPT');
    rs.command('filter', '-I INPUT 5 -s 4.4.4.4/32 -j ACCEPT');
    rs.command('filter', '-P INPUT DROP');
    const before = rs.save();
    expect(before.match(/-s \S+/g)).toEqual(['-s 0.0.0.0/32', '-s 1.1.1.1/32', '-s 2.2.2.2/32', '-s 3.3.3.3/32', '-s 4.4.4.4/32']);
    expect(before).toContain(':INPUT DROP [0:0]');
    expect(() => rs.command('filter', '-I INPUT 7 -j ACCEPT')).toThrow(/line 1: rule number 7 out of range for "-I INPUT" \(1 to 6\)/);
    expect(() => rs.command('filter', '-A INPUT -j NOWHERE')).toThrow(RuleParseError);
    expect(rs.save()).toBe(before);
  });

  it('bare command files apply to the named table, on top of what a ruleset already has', () => {
    const rs = parseIptablesSave('*filter\n:INPUT ACCEPT [5:500]\n-A INPUT -j ACCEPT\nCOMMIT\n');
    parseIptablesSave('# extra rules\n-N EXTRA\n[3:300] -I INPUT -j EXTRA\n-A EXTRA -j RETURN\n', { table: 'filter', into: rs });
    expect(rs.save()).toBe(
      '# Generated by ctsim\n*filter\n:INPUT ACCEPT [5:500]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:EXTRA - [0:0]\n' +
        '[3:300] -A INPUT -j EXTRA\n[0:0] -A INPUT -j ACCEPT\n[0:0] -A EXTRA -j RETURN\nCOMMIT\n# Completed\n',
    );
  });
});
