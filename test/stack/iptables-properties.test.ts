// Property tests over random rulesets written in the supported grammar (random option order,
// both "!" positions, implicit and explicit -m tcp/udp, long option names, quoted strings,
// counters): save -> parse -> save is the identity, and the saved ruleset decides every random
// packet exactly as the one it was saved from (verdict, NAT binding, hits, LOG lines).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import type { Ruleset } from '../../src/stack/iptables/ruleset.js';
import { BUILTIN_CHAINS, TABLE_NAMES } from '../../src/stack/iptables/tables.js';
import type { Hook, TableName } from '../../src/stack/iptables/tables.js';
import type { RulePacket } from '../../src/stack/rules.js';
import type { CtState } from '../../src/conntrack/verdict.js';
import { formatIpv4Address } from '../../src/wire/ipv4-address.js';

const u32 = fc.nat(0xffffffff);
const port = fc.nat(65535);
const printable = (maxLength: number) =>
  fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength }).map((cs) => String.fromCharCode(...cs));

const RESERVED = new Set(['ACCEPT', 'DROP', 'RETURN', 'REDIRECT', 'DNAT', 'LOG', 'QUEUE', 'REJECT', 'MARK', 'SNAT', 'CT', 'TEE', 'TOS', 'TTL', 'HL', 'SET', 'LED', 'ECN', 'HMARK', 'DSCP', 'TRACE', 'AUDIT', 'ULOG', 'NFLOG', 'TPROXY', 'NOTRACK', 'TCPMSS', 'CLASSIFY', 'CONNMARK', 'SECMARK', 'NETMAP', 'MASQUERADE', 'CHECKSUM', 'IDLETIMER', 'RATEEST', 'SYNPROXY', 'NFQUEUE', 'CLUSTERIP', 'CONNSECMARK', 'TCPOPTSTRIP', 'PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
const chainName = fc.stringMatching(/^[A-Z][A-Za-z0-9_-]{0,11}$/).filter((n) => !RESERVED.has(n));

interface GRule {
  src?: { addr: number; len: number; inv: boolean; intra: boolean };
  dst?: { addr: number; len: number; inv: boolean; intra: boolean };
  inIf?: { name: string; wild: boolean; inv: boolean };
  outIf?: { name: string; wild: boolean; inv: boolean };
  proto?: { name: 'tcp' | 'udp' | 'icmp'; inv: boolean };
  sport?: { a: number; b: number; inv: boolean };
  dport?: { a: number; b: number; inv: boolean };
  implicitPorts: boolean;
  owner?: { uid?: { id: number; inv: boolean }; gid?: { id: number; inv: boolean } };
  ct?: { module: 'conntrack' | 'state'; mask: number; inv: boolean };
  comment?: string;
  matchOrder: number[];
  ipOrder: number[];
  longNames: boolean;
  target: { kind: 'none' | 'accept' | 'drop' | 'return' | 'log' | 'jump' | 'goto' | 'redirect' | 'dnat'; pick: number; addr: number; ports?: { a: number; b: number }; prefix: string; level: number };
  counters?: [number, number];
}

const ifaceArb = fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9.]{0,9}$/), wild: fc.boolean(), inv: fc.boolean() });
const addrArb = fc.record({ addr: u32, len: fc.nat(32), inv: fc.boolean(), intra: fc.boolean() });
const portsArb = fc.tuple(port, port, fc.boolean()).map(([x, y, inv]) => ({ a: Math.min(x, y), b: Math.max(x, y), inv }));
const idArb = fc.record({ id: fc.nat(0xfffffffe), inv: fc.boolean() });

const ruleArb: fc.Arbitrary<GRule> = fc.record(
  {
    src: addrArb,
    dst: addrArb,
    inIf: ifaceArb,
    outIf: ifaceArb,
    proto: fc.record({ name: fc.constantFrom<'tcp' | 'udp' | 'icmp'>('tcp', 'udp', 'icmp'), inv: fc.boolean() }),
    sport: portsArb,
    dport: portsArb,
    implicitPorts: fc.boolean(),
    owner: fc.record({ uid: idArb, gid: idArb }, { requiredKeys: [] }),
    ct: fc.record({ module: fc.constantFrom<'conntrack' | 'state'>('conntrack', 'state'), mask: fc.integer({ min: 1, max: 31 }), inv: fc.boolean() }),
    comment: printable(40),
    matchOrder: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
    ipOrder: fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 5, maxLength: 5 }),
    longNames: fc.boolean(),
    target: fc.record({
      kind: fc.constantFrom('none', 'accept', 'drop', 'return', 'log', 'jump', 'goto', 'redirect', 'dnat'),
      pick: fc.nat(100),
      addr: u32,
      ports: fc.option(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })).map(([x, y]) => ({ a: Math.min(x, y), b: Math.max(x, y) })), { nil: undefined }),
      prefix: printable(29),
      level: fc.nat(7),
    }),
    counters: fc.tuple(fc.nat(1e9), fc.nat(1e12)),
  },
  { requiredKeys: ['implicitPorts', 'matchOrder', 'ipOrder', 'longNames', 'target'] },
);

interface GTable {
  name: TableName;
  policies: Array<'ACCEPT' | 'DROP'>;
  users: string[];
  rules: GRule[][]; // builtin chains first, then users
  declareWithN: boolean;
}

const tableArb = (name: TableName): fc.Arbitrary<GTable> =>
  fc
    .record({
      policies: fc.array(fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'), { minLength: 5, maxLength: 5 }),
      users: fc.uniqueArray(chainName, { maxLength: 4 }),
      rules: fc.array(fc.array(ruleArb, { maxLength: 4 }), { minLength: 9, maxLength: 9 }),
      declareWithN: fc.boolean(),
    })
    .map((t) => ({ ...t, name }));

const rulesetArb = fc
  .shuffledSubarray([...TABLE_NAMES], { minLength: 1 })
  .chain((names) => fc.tuple(...names.map(tableArb)));

const NAT_HOOKS: readonly Hook[] = ['PREROUTING', 'OUTPUT'];
const OWNER_HOOKS: readonly Hook[] = ['OUTPUT', 'POSTROUTING'];

/** Renders one table as iptables-restore input, dropping what the kernel would refuse here. */
function renderTable(t: GTable): string {
  const builtins = BUILTIN_CHAINS[t.name];
  const chains = [...builtins, ...t.users];
  const isUser = (i: number) => i >= builtins.length;
  // Resolve jump targets first (a DAG: builtin -> any user chain, user i -> user j > i).
  const jumpOf = (ci: number, r: GRule): number | undefined => {
    if (r.target.kind !== 'jump' && r.target.kind !== 'goto') return undefined;
    const first = isUser(ci) ? ci + 1 : builtins.length;
    if (first >= chains.length) return undefined;
    return first + (r.target.pick % (chains.length - first));
  };
  const hooks: Array<Set<Hook>> = chains.map(() => new Set());
  const mark = (ci: number, h: Hook) => {
    if (hooks[ci].has(h)) return;
    hooks[ci].add(h);
    for (const r of t.rules[ci] ?? []) {
      const j = jumpOf(ci, r);
      if (j !== undefined) mark(j, h);
    }
  };
  builtins.forEach((h, i) => mark(i, h));

  const lines = [`*${t.name}`];
  builtins.forEach((h, i) => lines.push(`:${h} ${t.policies[i]} [${i}:${i * 100}]`));
  for (const u of t.users) lines.push(t.declareWithN ? `-N ${u}` : `:${u} - [0:0]`);
  chains.forEach((chain, ci) => {
    const reach = [...hooks[ci]];
    for (const r of t.rules[ci] ?? []) {
      const o = (short: string, long: string) => (r.longNames ? long : short);
      const tcpUdp = r.proto && !r.proto.inv && r.proto.name !== 'icmp' ? r.proto.name : undefined;
      const ip: string[] = [];
      const neg = (opt: string, v: string, inv: boolean, intra = false) => (inv ? (intra ? `${opt} ! ${v}` : `! ${opt} ${v}`) : `${opt} ${v}`);
      for (const k of r.ipOrder) {
        if (k === 0 && r.src) ip.push(neg(o('-s', '--source'), `${formatIpv4Address(r.src.addr)}/${r.src.len}`, r.src.inv, r.src.intra));
        if (k === 1 && r.dst) ip.push(neg(o('-d', '--destination'), `${formatIpv4Address(r.dst.addr)}/${r.dst.len}`, r.dst.inv, r.dst.intra));
        if (k === 2 && r.inIf && chain !== 'OUTPUT' && chain !== 'POSTROUTING') ip.push(neg(o('-i', '--in-interface'), r.inIf.name + (r.inIf.wild ? '+' : ''), r.inIf.inv));
        if (k === 3 && r.outIf && chain !== 'PREROUTING' && chain !== 'INPUT') ip.push(neg(o('-o', '--out-interface'), r.outIf.name + (r.outIf.wild ? '+' : ''), r.outIf.inv));
      }
      // -p goes last of the IP part when ports are implicit (they need it first), else anywhere
      const proto = r.proto ? neg(o('-p', '--protocol'), r.proto.name, r.proto.inv) : undefined;
      if (proto) ip.splice(r.implicitPorts ? ip.length : Math.min(r.ipOrder[4], ip.length), 0, proto);
      const matches: string[] = [];
      for (const k of r.matchOrder) {
        if (k === 0 && tcpUdp && (r.sport || r.dport)) {
          const ports = [
            r.sport ? neg(o('--sport', '--source-port'), `${r.sport.a}:${r.sport.b}`, r.sport.inv) : '',
            r.dport ? neg(o('--dport', '--destination-port'), r.dport.a === r.dport.b ? `${r.dport.a}` : `${r.dport.a}:${r.dport.b}`, r.dport.inv) : '',
          ].filter(Boolean).join(' ');
          matches.push(r.implicitPorts && matches.length === 0 ? ports : `-m ${tcpUdp} ${ports}`);
        }
        if (k === 1 && r.owner && reach.every((h) => OWNER_HOOKS.includes(h))) {
          const { uid, gid } = r.owner;
          matches.push(['-m owner', uid ? neg('--uid-owner', `${uid.id}`, uid.inv) : '', gid ? neg('--gid-owner', `${gid.id}`, gid.inv) : ''].filter(Boolean).join(' '));
        }
        if (k === 2 && r.ct) {
          const names = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'].filter((_, b) => r.ct!.mask & (1 << b));
          matches.push(`-m ${r.ct.module} ${neg(r.ct.module === 'state' ? '--state' : '--ctstate', names.reverse().join(','), r.ct.inv)}`);
        }
        if (k === 3 && r.comment !== undefined) matches.push(`-m comment --comment "${r.comment.replace(/["\\]/g, (c) => `\\${c}`)}"`);
      }
      const tk = r.target;
      const j = jumpOf(ci, r);
      const natOk = t.name === 'nat' && reach.every((h) => NAT_HOOKS.includes(h));
      const ports = tk.ports && tcpUdp ? tk.ports : undefined;
      const portText = ports ? (ports.a === ports.b ? `${ports.a}` : `${ports.a}-${ports.b}`) : '';
      let target = '';
      if (tk.kind === 'accept' || ((tk.kind === 'redirect' || tk.kind === 'dnat') && !natOk) || ((tk.kind === 'jump' || tk.kind === 'goto') && j === undefined)) target = `${o('-j', '--jump')} ACCEPT`;
      else if (tk.kind === 'drop') target = '-j DROP';
      else if (tk.kind === 'return') target = '-j RETURN';
      else if (tk.kind === 'log') target = `-j LOG --log-level ${tk.level} --log-prefix "${tk.prefix.replace(/["\\]/g, (c) => `\\${c}`)}"`;
      else if (tk.kind === 'jump') target = `${o('-j', '--jump')} ${chains[j!]}`;
      else if (tk.kind === 'goto') target = `${o('-g', '--goto')} ${chains[j!]}`;
      else if (tk.kind === 'redirect') target = `-j REDIRECT${ports ? ` ${o('--to-ports', '--to-port')} ${portText}` : ''}`;
      else if (tk.kind === 'dnat') target = `-j DNAT --to-destination ${formatIpv4Address(tk.addr)}${ports ? `:${portText}` : ''}`;
      const ctr = r.counters ? `[${r.counters[0]}:${r.counters[1]}] ` : '';
      lines.push(`${ctr}${o('-A', '--append')} ${chain} ${[...ip, ...matches, target].filter(Boolean).join(' ')}`.trimEnd());
    }
  });
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

const CT_STATES: CtState[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
const packetArb: fc.Arbitrary<RulePacket> = fc.record({
  src: u32,
  dst: u32,
  proto: fc.constantFrom(1, 6, 17),
  sport: port,
  dport: port,
  length: fc.integer({ min: 20, max: 1500 }),
  inIface: fc.option(fc.constantFrom('eth0', 'eth1', 'lo', 'veth9'), { nil: undefined }),
  outIface: fc.option(fc.constantFrom('eth0', 'eth1', 'lo', 'veth9'), { nil: undefined }),
  uid: fc.option(fc.constantFrom(0, 1000, 1337), { nil: undefined }),
  gid: fc.option(fc.constantFrom(0, 1000, 1337), { nil: undefined }),
  ctstate: fc.constantFrom(...CT_STATES),
});

function decide(rs: Ruleset, table: TableName, hook: Hook, p: RulePacket) {
  const r = rs.evaluate(table, hook, p);
  return { verdict: r.verdict, nat: r.nat, logs: r.logs, hits: r.hits.map((h) => `${h.table}:${h.chain}#${h.index} ${h.target} ${h.text}`) };
}

describe('iptables-save round trip over random rulesets', () => {
  it('save -> parse -> save is unchanged, and both rulesets decide packets alike', () => {
    fc.assert(
      fc.property(rulesetArb, fc.array(packetArb, { minLength: 1, maxLength: 8 }), (tables, packets) => {
        const text = tables.map(renderTable).join('');
        const first = parseIptablesSave(text);
        const saved = first.save();
        const again = parseIptablesSave(saved);
        expect(again.save()).toBe(saved);
        expect(parseIptablesSave(first.save({ counters: false })).save({ counters: false })).toBe(first.save({ counters: false }));
        for (const t of tables) {
          for (const hook of BUILTIN_CHAINS[t.name]) {
            for (const p of packets) expect(decide(again, t.name, hook, p)).toEqual(decide(first, t.name, hook, p));
          }
        }
        // evaluation moved both rulesets' counters the same way
        expect(again.save()).toBe(first.save());
      }),
      { numRuns: 300 },
    );
  });

  it('random rule text never throws anything but RuleParseError', () => {
    const words = fc.constantFrom(
      '-A', '-I', '-N', '-P', 'INPUT', 'OUTPUT', 'X', '-p', 'tcp', 'udp', 'all', '!', '-s', '-d', '10.0.0.0/8', '1.2.3.4',
      '-i', '-o', 'eth+', '-m', 'tcp', 'owner', 'conntrack', 'comment', '--dport', '--sport', '80', '1:2', '--uid-owner',
      '1337', '--ctstate', 'NEW', '--comment', '"x y"', '-j', '-g', 'ACCEPT', 'DROP', 'RETURN', 'LOG', 'REDIRECT', 'DNAT',
      '--to-ports', '15001', '--to-destination', '10.0.0.1:80', '--log-prefix', '[1:2]', ':X', '-', 'COMMIT', '*nat', '*filter',
    );
    fc.assert(
      fc.property(fc.array(fc.array(words, { maxLength: 10 }).map((ws) => ws.join(' ')), { maxLength: 8 }), (lines) => {
        try {
          parseIptablesSave(lines.join('\n'), { table: 'nat' });
        } catch (e) {
          expect((e as Error).name).toBe('RuleParseError');
        }
      }),
      { numRuns: 500 },
    );
  });
});
