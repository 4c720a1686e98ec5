// `iptables -t T -L -v -n --line-numbers` output (list_entries, print_header and print_firewall
// in iptables' iptables.c; counters through xtables_print_num, abbreviated with K/M/G/T because
// -x is not given; each extension's ->print for the trailing columns). Fixed-width columns and
// their trailing blanks are reproduced so the text diffs cleanly against a real host's listing.
import { formatIpv4Address } from '../../wire/ipv4-address.js';
import { PROTO_NAMES, targetName } from './rule.js';
import type { AddrSpec, Chain, IfaceSpec, Match, PortSpec, Rule, TableRules } from './rule.js';
import { addrTypesText, markText, multiportText, probabilityText, stateListText } from './rule-text.js';
import { orderedChains } from './chain-order.js';

const pad = (s: string, w: number) => s.padEnd(w);
const padL = (s: string, w: number) => s.padStart(w);

/** xtables_print_num with FMT_KILOMEGAGIGA: 5 digits, then K, M, G, T ("%4lluK "). */
function num(n: number, table: boolean): string {
  if (n <= 99999) return table ? `${padL(String(n), 5)} ` : `${n} `;
  let v = n;
  for (const unit of ['K', 'M', 'G', 'T']) {
    v = Math.floor((v + 500) / 1000);
    if (v <= 9999 || unit === 'T') return table ? `${padL(String(v), 4)}${unit} ` : `${v}${unit} `;
  }
  return `${v}T `;
}

function iface(f: IfaceSpec | undefined): string {
  if (!f) return '*';
  return `${f.invert ? '!' : ''}${f.name}${f.wildcard ? '+' : ''}`;
}

/** Numeric address with the mask, "/32" left out (xtables_ipmask_to_numeric). */
function addr(a: AddrSpec | undefined): string {
  if (!a) return ' 0.0.0.0/0';
  return `${a.invert ? '!' : ' '}${formatIpv4Address(a.addr)}${a.prefixLen === 32 ? '' : `/${a.prefixLen}`}`;
}

function ports(name: string, p: PortSpec | undefined): string {
  if (!p) return '';
  const inv = p.invert ? '!' : '';
  return p.min === p.max ? ` ${name}:${inv}${p.min}` : ` ${name}s:${inv}${p.min}:${p.max}`;
}

function matchText(m: Match): string {
  switch (m.kind) {
    case 'tcp':
    case 'udp':
      return ` ${m.kind}${ports('spt', m.sport)}${ports('dpt', m.dport)}`;
    case 'owner':
      return (
        (m.uid ? `${m.uid.invert ? ' !' : ''} owner UID match ${m.uid.id}` : '') +
        (m.gid ? `${m.gid.invert ? ' !' : ''} owner GID match ${m.gid.id}` : '')
      );
    case 'conntrack':
      return m.mask ? `${m.invert ? ' !' : ''} ctstate ${stateListText(m.mask)}` : '';
    case 'state':
      return `${m.invert ? ' !' : ''} state ${stateListText(m.mask)}`;
    case 'comment':
      return ` /* ${m.text} */`;
    case 'mark':
      return ` mark match${m.invert ? ' !' : ''} ${markText(m.mark!)}`;
    case 'multiport':
      return ` multiport ${m.which} ${m.invert ? '!' : ''}${multiportText(m.ranges)}`;
    case 'statistic':
      return m.mode === 'random'
        ? ` statistic mode random${m.invert ? ' !' : ''} probability ${probabilityText(m.probability!)}`
        : ` statistic mode nth${m.invert ? ' !' : ''} every ${m.every! + 1}${m.packet ? ` packet ${m.packet}` : ''}`;
    case 'addrtype':
      return (
        ' ADDRTYPE match' +
        (m.src || m.srcInvert ? ` src-type ${m.srcInvert ? '!' : ''}${addrTypesText(m.src)}` : '') +
        (m.dst || m.dstInvert ? ` dst-type ${m.dstInvert ? '!' : ''}${addrTypesText(m.dst)}` : '') +
        (m.limitIn ? ' limit-in' : '') +
        (m.limitOut ? ' limit-out' : '')
      );
    case 'nfacct':
      return ` nfacct-name  ${m.name}`;
  }
}

function natPorts(t: { portMin?: number; portMax?: number }): string {
  return t.portMin === t.portMax ? `${t.portMin}` : `${t.portMin}-${t.portMax}`;
}

function targetText(r: Rule): string {
  const t = r.target;
  switch (t.kind) {
    case 'redirect':
      return t.portMin === undefined ? '' : ` redir ports ${natPorts(t)}`;
    case 'dnat':
      return ` to:${formatIpv4Address(t.addr)}${t.portMin === undefined ? '' : `:${natPorts(t)}`}`;
    case 'log':
      return ` LOG flags 0 level ${t.level}${t.prefix !== '' ? ` prefix "${t.prefix}"` : ''}`;
    case 'mark': {
      // libxt_MARK mark_tg_print (revision 2): the simplest form that describes (value, mask).
      const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
      if (t.value === t.mask) return ` MARK or ${hex(t.value)}`;
      if (t.value === 0) return ` MARK and ${hex(~t.mask)}`;
      if (t.mask === 0) return ` MARK xor ${hex(t.value)}`;
      if (t.mask >>> 0 === 0xffffffff) return ` MARK set ${hex(t.value)}`;
      return ` MARK xset ${hex(t.value)}/${hex(t.mask)}`;
    }
    case 'masquerade':
      return `${t.portMin !== undefined ? ` masq ports: ${natPorts(t)}` : ''}${t.random ? ' random' : ''}${t.randomFully ? ' random-fully' : ''}`;
    case 'snat': {
      const a = t.addrMin === t.addrMax ? formatIpv4Address(t.addrMin) : `${formatIpv4Address(t.addrMin)}-${formatIpv4Address(t.addrMax)}`;
      return ` to:${a}${t.portMin === undefined ? '' : `:${natPorts(t)}`}${t.random ? ' random' : ''}${t.randomFully ? ' random-fully' : ''}${t.persistent ? ' persistent' : ''}`;
    }
    case 'reject':
      return ` reject-with ${t.with}`;
    case 'notrack':
      return t.alias ? ' NOTRACK' : ' CT notrack'; // libxt_CT's notrack_ct0_tg_print / ct_print
    case 'inert':
      return t.args.length ? ` ${t.args.join(' ')}` : '';
    default:
      return '';
  }
}

function row(n: number, r: Rule): string {
  const proto = r.proto ? `${r.proto.invert ? '!' : ' '}${pad(PROTO_NAMES[r.proto.num] ?? String(r.proto.num), 5)}` : ' all  ';
  return (
    `${pad(String(n), 4)} ` +
    num(r.counters.packets, true) +
    num(r.counters.bytes, true) +
    `${pad(targetName(r.target), 9)} ` +
    proto +
    '-- ' +
    ` ${pad(iface(r.inIface), 6)} ` +
    `${pad(iface(r.outIface), 6)} ` +
    `${pad(addr(r.src), 20)} ` +
    `${pad(addr(r.dst), 20)} ` +
    (r.target.kind === 'jump' && r.target.goto ? '[goto] ' : '') +
    r.matches.map(matchText).join('') +
    targetText(r)
  );
}

const HEADER = `num   pkts bytes target     prot opt in     out     source               destination         `;

function references(t: TableRules, name: string): number {
  let n = 0;
  for (const c of t.chains.values()) for (const r of c.rules) if (r.target.kind === 'jump' && r.target.chain === name) n++;
  return n;
}

function chainBlock(t: TableRules, c: Chain): string {
  const head = c.builtin
    ? `Chain ${c.name} (policy ${c.policy} ${num(c.policyCounters.packets, false)}packets, ${num(c.policyCounters.bytes, false)}bytes)`
    : `Chain ${c.name} (${references(t, c.name)} references)`;
  return [head, HEADER, ...c.rules.map((r, i) => row(i + 1, r))].join('\n') + '\n';
}

/** The whole table, chains separated by a blank line: builtin chains in hook order, then user chains by name. */
export function listTable(t: TableRules): string {
  return orderedChains(t)
    .map((c) => chainBlock(t, c))
    .join('\n');
}
