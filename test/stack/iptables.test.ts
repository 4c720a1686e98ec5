// The Istio sidecar capture rules (istio/istio cni/pkg/plugin/testdata/basic.txt.golden) through
// the rule engine: the preset survives iptables-save -> parse -> save, and each kind of pod
// traffic takes the path through ISTIO_OUTPUT / ISTIO_INBOUND that the Istio docs describe.
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import type { Ruleset } from '../../src/stack/iptables/ruleset.js';
import { ISTIO_INVALID_DROP_RULES, ISTIO_SIDECAR_RULES, loadIstioPreset, readPreset } from '../../src/stack/presets/istio.js';
import type { RulePacket } from '../../src/stack/rules.js';
import { ip } from '../../src/wire/ipv4-address.js';

const POD = ip('198.18.0.10');
const SERVER = ip('198.19.0.20');
const TCP = 6;
const UDP = 17;

/** A locally generated packet of the app (uid/gid 1000) leaving through eth0. */
function appOut(over: Partial<RulePacket> = {}): RulePacket {
  return { src: POD, dst: SERVER, proto: TCP, sport: 44410, dport: 8080, length: 60, outIface: 'eth0', uid: 1000, gid: 1000, ctstate: 'NEW', ...over };
}

/** A packet arriving on eth0 for the pod (no socket owner). */
function inbound(over: Partial<RulePacket> = {}): RulePacket {
  return { src: SERVER, dst: POD, proto: TCP, sport: 51000, dport: 8080, length: 60, inIface: 'eth0', ctstate: 'NEW', ...over };
}

const path = (rs: Ruleset, table: 'nat' | 'mangle', hook: 'OUTPUT' | 'PREROUTING', p: RulePacket) =>
  rs.evaluate(table, hook, p).hits.map((h) => `${h.chain}#${h.index} ${h.target}`);

/** The rule lines of a .rules file, without comments and blank lines. */
const ruleLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('Istio preset: iptables-save round trip', () => {
  it('parse -> save (no counters) reproduces the preset files line for line', () => {
    for (const file of [ISTIO_SIDECAR_RULES, ISTIO_INVALID_DROP_RULES]) {
      const text = readPreset(file);
      const saved = parseIptablesSave(text).save({ counters: false });
      expect(ruleLines(saved)).toEqual(ruleLines(text));
    }
  });

  it('save -c -> parse -> save -c is stable, counters included', () => {
    const rs = loadIstioPreset({ invalidDrop: true });
    rs.evaluate('nat', 'OUTPUT', appOut());
    rs.evaluate('nat', 'PREROUTING', inbound());
    const once = rs.save();
    expect(once).toContain('[1:60] -A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    expect(parseIptablesSave(once).save()).toBe(once);
  });

  it('the nat table has the four Istio chains and the builtin policies ACCEPT', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    expect(rs.tableNames()).toEqual(['nat']);
    const nat = rs.table('nat')!;
    expect([...nat.chains.keys()].sort()).toEqual(
      ['INPUT', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT', 'OUTPUT', 'POSTROUTING', 'PREROUTING'],
    );
    for (const c of ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']) expect(rs.chain('nat', c)!.policy).toBe('ACCEPT');
    expect(rs.chain('nat', 'ISTIO_OUTPUT')!.rules).toHaveLength(11);
  });

  it('reads the istio-iptables input form too (bare -N/-A lines, implicit -m tcp, options in Istio order)', () => {
    const istioInput = [
      '-N ISTIO_REDIRECT',
      '-N ISTIO_IN_REDIRECT',
      '-N ISTIO_OUTPUT',
      '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
      '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
      '-A OUTPUT -j ISTIO_OUTPUT',
      '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    ].join('\n');
    const rs = parseIptablesSave(istioInput, { table: 'nat' });
    expect(rs.save({ counters: false })).toContain(
      '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT\n',
    );
    // "* nat" with a blank, as istio-iptables writes its restore input
    expect(parseIptablesSave(`* nat\n${istioInput}\nCOMMIT\n`).save()).toBe(rs.save());
  });
});

describe('Istio preset: outbound (nat OUTPUT)', () => {
  it('app (uid 1000) TCP to 198.19.0.20:8080 via eth0 is REDIRECTed to 15001 through ISTIO_OUTPUT rule 11', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const r = rs.evaluate('nat', 'OUTPUT', appOut());
    expect(r.verdict).toBe('ACCEPT');
    expect(r.nat).toEqual({ kind: 'redirect', portMin: 15001, portMax: 15001 });
    expect(r.hits.map((h) => [h.chain, h.index, h.target])).toEqual([
      ['OUTPUT', 1, 'ISTIO_OUTPUT'],
      ['ISTIO_OUTPUT', 11, 'ISTIO_REDIRECT'],
      ['ISTIO_REDIRECT', 1, 'REDIRECT'],
    ]);
    expect(r.hits[2]).toMatchObject({ table: 'nat', text: '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001' });
    expect(r.logs).toEqual([]);
  });

  it('Envoy (uid 1337) upstream connection RETURNs from ISTIO_OUTPUT rule 6; OUTPUT policy ACCEPT, no NAT', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const r = rs.evaluate('nat', 'OUTPUT', appOut({ uid: 1337, gid: 1337 }));
    expect(r.verdict).toBe('ACCEPT');
    expect(r.nat).toBeUndefined();
    expect(path(rs, 'nat', 'OUTPUT', appOut({ uid: 1337, gid: 1337 }))).toEqual(['OUTPUT#1 ISTIO_OUTPUT', 'ISTIO_OUTPUT#6 RETURN', 'OUTPUT#2 ACCEPT']);
    expect(r.hits[2]).toMatchObject({ kind: 'policy', text: '-P OUTPUT ACCEPT' });
    // gid 1337 alone (another uid in the proxy group) is caught by the gid rule
    expect(path(rs, 'nat', 'OUTPUT', appOut({ uid: 5, gid: 1337 }))).toContain('ISTIO_OUTPUT#9 RETURN');
  });

  it('app to 127.0.0.1 RETURNs: over lo by the "not Envoy on lo" rule, otherwise by -d 127.0.0.1/32', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const viaLo = rs.evaluate('nat', 'OUTPUT', appOut({ dst: ip('127.0.0.1'), outIface: 'lo' }));
    expect(viaLo.nat).toBeUndefined();
    expect(viaLo.hits.map((h) => `${h.chain}#${h.index}`)).toEqual(['OUTPUT#1', 'ISTIO_OUTPUT#5', 'OUTPUT#2']);
    // (routing would always pick lo for 127/8; without -o lo only rule 10 catches it)
    expect(path(rs, 'nat', 'OUTPUT', appOut({ dst: ip('127.0.0.1') }))).toContain('ISTIO_OUTPUT#10 RETURN');
  });

  it('traffic to the agent port 15020 is excluded, TCP and UDP', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    expect(path(rs, 'nat', 'OUTPUT', appOut({ dport: 15020 }))).toEqual(['OUTPUT#1 ISTIO_OUTPUT', 'ISTIO_OUTPUT#1 RETURN', 'OUTPUT#2 ACCEPT']);
    expect(path(rs, 'nat', 'OUTPUT', appOut({ proto: UDP, dport: 15020 }))).toEqual(['OUTPUT#1 ISTIO_OUTPUT', 'ISTIO_OUTPUT#2 RETURN', 'OUTPUT#2 ACCEPT']);
    // other UDP falls through to ISTIO_REDIRECT, whose REDIRECT is -p tcp only: nothing happens
    const dns = rs.evaluate('nat', 'OUTPUT', appOut({ proto: UDP, dport: 53 }));
    expect(dns.nat).toBeUndefined();
    expect(dns.hits.map((h) => `${h.chain}#${h.index}`)).toEqual(['OUTPUT#1', 'ISTIO_OUTPUT#11', 'OUTPUT#2']);
  });

  it('Envoy calling the pod IP over lo goes to the inbound side (15006); Envoy to 15008 over lo does not', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const self = appOut({ dst: POD, outIface: 'lo', uid: 1337, gid: 1337 });
    const r = rs.evaluate('nat', 'OUTPUT', self);
    expect(r.nat).toEqual({ kind: 'redirect', portMin: 15006, portMax: 15006 });
    expect(r.hits.map((h) => `${h.chain}#${h.index}`)).toEqual(['OUTPUT#1', 'ISTIO_OUTPUT#4', 'ISTIO_IN_REDIRECT#1']);
    expect(rs.evaluate('nat', 'OUTPUT', { ...self, dport: 15008 }).nat).toBeUndefined();
  });

  it('Envoy inbound passthrough from 127.0.0.6 over lo is not captured', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const p = appOut({ src: ip('127.0.0.6'), dst: POD, outIface: 'lo', uid: 1337, gid: 1337 });
    expect(path(rs, 'nat', 'OUTPUT', p)).toEqual(['OUTPUT#1 ISTIO_OUTPUT', 'ISTIO_OUTPUT#3 RETURN', 'OUTPUT#2 ACCEPT']);
  });
});

describe('Istio preset: inbound (nat PREROUTING)', () => {
  it('TCP to port 8080 arriving on eth0 is REDIRECTed to 15006', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const r = rs.evaluate('nat', 'PREROUTING', inbound());
    expect(r).toMatchObject({ verdict: 'ACCEPT', nat: { kind: 'redirect', portMin: 15006, portMax: 15006 } });
    expect(r.hits.map((h) => `${h.chain}#${h.index} ${h.target}`)).toEqual([
      'PREROUTING#1 ISTIO_INBOUND',
      'ISTIO_INBOUND#5 ISTIO_IN_REDIRECT',
      'ISTIO_IN_REDIRECT#1 REDIRECT',
    ]);
  });

  it('the excluded ports RETURN: 15008 by rule 1, 15020/15021/15090 by rules 2-4', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    const r = rs.evaluate('nat', 'PREROUTING', inbound({ dport: 15008 }));
    expect(r.nat).toBeUndefined();
    expect(r.hits.map((h) => `${h.chain}#${h.index} ${h.target}`)).toEqual(['PREROUTING#1 ISTIO_INBOUND', 'ISTIO_INBOUND#1 RETURN', 'PREROUTING#2 ACCEPT']);
    expect(path(rs, 'nat', 'PREROUTING', inbound({ dport: 15020 }))[1]).toBe('ISTIO_INBOUND#2 RETURN');
    expect(path(rs, 'nat', 'PREROUTING', inbound({ dport: 15021 }))[1]).toBe('ISTIO_INBOUND#3 RETURN');
    expect(path(rs, 'nat', 'PREROUTING', inbound({ dport: 15090 }))[1]).toBe('ISTIO_INBOUND#4 RETURN');
  });

  it('inbound UDP is not captured', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    expect(path(rs, 'nat', 'PREROUTING', inbound({ proto: UDP }))).toEqual(['PREROUTING#2 ACCEPT']);
  });
});

describe('Istio INVALID drop (mangle)', () => {
  it('drops an INVALID packet in PREROUTING through ISTIO_DROP', () => {
    const rs = loadIstioPreset({ invalidDrop: true });
    const r = rs.evaluate('mangle', 'PREROUTING', inbound({ ctstate: 'INVALID' }));
    expect(r.verdict).toBe('DROP');
    expect(r.hits.map((h) => `${h.chain}#${h.index} ${h.target}`)).toEqual(['PREROUTING#1 ISTIO_DROP', 'ISTIO_DROP#1 DROP']);
  });

  it('lets valid packets through, and ignores INVALID packets on OUTPUT (mangle OUTPUT has no rule)', () => {
    const rs = loadIstioPreset({ invalidDrop: true });
    expect(rs.evaluate('mangle', 'PREROUTING', inbound({ ctstate: 'ESTABLISHED' })).verdict).toBe('ACCEPT');
    const out = rs.evaluate('mangle', 'OUTPUT', appOut({ ctstate: 'INVALID' }));
    expect(out.verdict).toBe('ACCEPT');
    expect(out.hits.map((h) => `${h.chain}#${h.index} ${h.target}`)).toEqual(['OUTPUT#1 ACCEPT']);
  });

  it('without invalidDrop there is no mangle table: every packet passes without hits', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    expect(rs.evaluate('mangle', 'PREROUTING', inbound({ ctstate: 'INVALID' }))).toEqual({ verdict: 'ACCEPT', hits: [], logs: [] });
  });
});

describe('counters and iptables -L -v -n --line-numbers', () => {
  it('counts every matching rule (jumps and RETURN included) and the policy that decided', () => {
    const rs = loadIstioPreset({ invalidDrop: false });
    rs.evaluate('nat', 'OUTPUT', appOut({ length: 60 })); // redirected
    rs.evaluate('nat', 'OUTPUT', appOut({ length: 52 })); // redirected
    rs.evaluate('nat', 'OUTPUT', appOut({ uid: 1337, gid: 1337, length: 1500 })); // RETURN -> policy
    expect(rs.rule('nat', 'OUTPUT', 1)!.counters).toEqual({ packets: 3, bytes: 1612 });
    expect(rs.rule('nat', 'ISTIO_OUTPUT', 6)!.counters).toEqual({ packets: 1, bytes: 1500 });
    expect(rs.rule('nat', 'ISTIO_OUTPUT', 11)!.counters).toEqual({ packets: 2, bytes: 112 });
    expect(rs.rule('nat', 'ISTIO_REDIRECT', 1)!.counters).toEqual({ packets: 2, bytes: 112 });
    expect(rs.rule('nat', 'ISTIO_OUTPUT', 1)!.counters).toEqual({ packets: 0, bytes: 0 });
    expect(rs.chain('nat', 'OUTPUT')!.policyCounters).toEqual({ packets: 1, bytes: 1500 });

    const dump = rs.dump('nat');
    expect(dump).toContain('Chain OUTPUT (policy ACCEPT 1 packets, 1500 bytes)\n');
    expect(dump).toContain(
      'Chain OUTPUT (policy ACCEPT 1 packets, 1500 bytes)\n' +
        'num   pkts bytes target     prot opt in     out     source               destination         \n' +
        '1        3  1612 ISTIO_OUTPUT  all  --  *      *       0.0.0.0/0            0.0.0.0/0           \n',
    );
    expect(dump).toContain('Chain ISTIO_IN_REDIRECT (3 references)\n');
    expect(dump).toContain(
      '4        0     0 ISTIO_IN_REDIRECT  tcp  --  *      lo      0.0.0.0/0           !127.0.0.1            tcp dpt:!15008 owner UID match 1337\n',
    );
    expect(dump).toContain('5        0     0 RETURN     all  --  *      lo      0.0.0.0/0            0.0.0.0/0            ! owner UID match 1337\n');
    expect(dump).toContain('3        0     0 RETURN     all  --  *      lo      127.0.0.6            0.0.0.0/0           \n');
    expect(dump).toContain('1        2   112 REDIRECT   tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            redir ports 15001\n');
    // chains in libiptc order, separated by one blank line
    expect(dump.match(/^Chain \S+/gm)).toEqual([
      'Chain PREROUTING', 'Chain INPUT', 'Chain OUTPUT', 'Chain POSTROUTING',
      'Chain ISTIO_INBOUND', 'Chain ISTIO_IN_REDIRECT', 'Chain ISTIO_OUTPUT', 'Chain ISTIO_REDIRECT',
    ]);
    expect(dump).toContain('0.0.0.0/0           \n\nChain INPUT (policy');

    rs.resetCounters();
    expect(rs.rule('nat', 'OUTPUT', 1)!.counters).toEqual({ packets: 0, bytes: 0 });
    expect(rs.dump('nat')).toContain('Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)');
  });

  it('abbreviates large counters with K/M/G as iptables -L without -x does', () => {
    const rs = parseIptablesSave('*filter\n:INPUT ACCEPT [123456:98765432]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n[100000:12345678901] -A INPUT -j ACCEPT\nCOMMIT\n');
    const dump = rs.dump('filter');
    expect(dump).toContain('Chain INPUT (policy ACCEPT 123K packets, 99M bytes)');
    expect(dump).toContain('1     100K   12G ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0           \n');
    expect(dump).toContain('Chain FORWARD (policy DROP 0 packets, 0 bytes)');
  });
});
