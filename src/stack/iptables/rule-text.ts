// A rule printed as iptables-save(8) prints it (print_rule4 in iptables, each extension's ->save):
// -s, -d, -i, -o, -p first, then "-m name --options" in load order, then -j/-g and target options.
// Parsing this text gives the same rule back, which is what the save -> parse round trip relies on.
import { formatIpv4Address } from '../../wire/ipv4-address.js';
import { ADDR_TYPES, CT_STATE_ORDER, PROTO_NAMES, ctStateBit } from './rule.js';
import type { AddrSpec, IdSpec, IfaceSpec, MarkSpec, Match, PortSpec, Rule, Target } from './rule.js';
import { quoteArg } from './tokenizer.js';

const inv = (invert: boolean) => (invert ? ' !' : '');

export function stateListText(mask: number): string {
  return CT_STATE_ORDER.filter((s) => (mask & ctStateBit(s)) !== 0).join(',');
}

function addr(opt: string, a: AddrSpec | undefined): string {
  return a ? `${inv(a.invert)} ${opt} ${formatIpv4Address(a.addr)}/${a.prefixLen}` : '';
}

function iface(opt: string, f: IfaceSpec | undefined): string {
  return f ? `${inv(f.invert)} ${opt} ${f.name}${f.wildcard ? '+' : ''}` : '';
}

function ports(opt: string, p: PortSpec | undefined): string {
  if (!p) return '';
  return `${inv(p.invert)} ${opt} ${p.min === p.max ? p.min : `${p.min}:${p.max}`}`;
}

function id(opt: string, s: IdSpec | undefined): string {
  return s ? `${inv(s.invert)} ${opt} ${s.id}` : '';
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** print_mark of libxt_mark: "0xV/0xM", or "0xV" when the mask is all ones. */
export function markText(m: MarkSpec): string {
  return m.mask >>> 0 === 0xffffffff ? hex(m.value) : `${hex(m.value)}/${hex(m.mask)}`;
}

/**
 * printf("%.11f", k / 2^31) exactly, as libxt_statistic prints a probability: the value is a
 * dyadic rational, so the 11-decimal rounding is done in integers (half to even, like glibc).
 */
export function probabilityText(k: number): string {
  const q = BigInt(k) * 10n ** 11n;
  let n = q >> 31n;
  const r = q - (n << 31n);
  const half = 1n << 30n;
  if (r > half || (r === half && (n & 1n) === 1n)) n += 1n;
  const digits = n.toString().padStart(12, '0');
  return `${digits.slice(0, -11)}.${digits.slice(-11)}`;
}

/** print_types of libxt_addrtype: the names of the set bits, comma separated, in RTN_* order. */
export function addrTypesText(mask: number): string {
  return ADDR_TYPES.filter((_, i) => (mask & (1 << i)) !== 0).join(',');
}

export function multiportText(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`)).join(',');
}

export function matchSaveText(m: Match): string {
  switch (m.kind) {
    case 'mark':
      return ` -m mark${inv(m.invert)} --mark ${markText(m.mark!)}`;
    case 'multiport':
      return ` -m multiport${inv(m.invert)} --${m.which} ${multiportText(m.ranges)}`;
    case 'statistic':
      return m.mode === 'random'
        ? ` -m statistic --mode random${inv(m.invert)} --probability ${probabilityText(m.probability!)}`
        : ` -m statistic --mode nth${inv(m.invert)} --every ${m.every! + 1}${m.packet ? ` --packet ${m.packet}` : ''}`;
    case 'addrtype':
      return (
        ' -m addrtype' +
        (m.src || m.srcInvert ? `${inv(m.srcInvert)} --src-type ${addrTypesText(m.src)}` : '') +
        (m.dst || m.dstInvert ? `${inv(m.dstInvert)} --dst-type ${addrTypesText(m.dst)}` : '') +
        (m.limitIn ? ' --limit-iface-in' : '') +
        (m.limitOut ? ' --limit-iface-out' : '')
      );
    case 'nfacct':
      // libxt_nfacct prints the name after two blanks (" --nfacct-name  %s"), as iptables-save 1.8 shows.
      return ` -m nfacct --nfacct-name  ${quoteArg(m.name)}`;
    case 'tcp':
    case 'udp':
      return ` -m ${m.kind}${ports('--sport', m.sport)}${ports('--dport', m.dport)}`;
    case 'owner':
      return ` -m owner${id('--uid-owner', m.uid)}${id('--gid-owner', m.gid)}`;
    case 'conntrack':
    case 'state': {
      const opt = m.kind === 'conntrack' ? '--ctstate' : '--state';
      return ` -m ${m.kind}${m.mask !== 0 ? `${inv(m.invert)} ${opt} ${stateListText(m.mask)}` : ''}`;
    }
    case 'comment':
      return ` -m comment --comment ${quoteArg(m.text)}`;
  }
}

function natPorts(t: { portMin?: number; portMax?: number }): string {
  if (t.portMin === undefined) return '';
  return t.portMin === t.portMax ? `${t.portMin}` : `${t.portMin}-${t.portMax}`;
}

export function targetSaveText(t: Target): string {
  switch (t.kind) {
    case 'none':
      return '';
    case 'accept':
      return ' -j ACCEPT';
    case 'drop':
      return ' -j DROP';
    case 'return':
      return ' -j RETURN';
    case 'jump':
      return ` -${t.goto ? 'g' : 'j'} ${t.chain}`;
    case 'redirect':
      return ` -j REDIRECT${t.portMin !== undefined ? ` --to-ports ${natPorts(t)}` : ''}`;
    case 'dnat': {
      const p = natPorts(t);
      return ` -j DNAT --to-destination ${formatIpv4Address(t.addr)}${p ? `:${p}` : ''}`;
    }
    case 'log':
      // libxt_LOG saves the prefix when set and the level when it is not the default (4).
      return ` -j LOG${t.prefix !== '' ? ` --log-prefix ${quoteArg(t.prefix)}` : ''}${t.level !== 4 ? ` --log-level ${t.level}` : ''}`;
    case 'mark':
      return ` -j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'masquerade': {
      const p = natPorts(t);
      return ` -j MASQUERADE${p ? ` --to-ports ${p}` : ''}${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}`;
    }
    case 'snat': {
      const p = natPorts(t);
      const a = t.addrMin === t.addrMax ? formatIpv4Address(t.addrMin) : `${formatIpv4Address(t.addrMin)}-${formatIpv4Address(t.addrMax)}`;
      return ` -j SNAT --to-source ${a}${p ? `:${p}` : ''}${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}${t.persistent ? ' --persistent' : ''}`;
    }
    case 'reject':
      return ` -j REJECT --reject-with ${t.with}`;
    case 'notrack':
      return t.alias ? ' -j NOTRACK' : ' -j CT --notrack';
    case 'inert':
      return ` -j ${t.name}${t.args.map((a) => ` ${quoteArg(a)}`).join('')}`;
  }
}

/** The rule after "-A CHAIN", with its leading space ("" for a rule with no options). */
export function ruleSpecText(r: Rule): string {
  const proto = r.proto ? `${inv(r.proto.invert)} -p ${PROTO_NAMES[r.proto.num] ?? r.proto.num}` : '';
  return (
    addr('-s', r.src) +
    addr('-d', r.dst) +
    iface('-i', r.inIface) +
    iface('-o', r.outIface) +
    proto +
    r.matches.map(matchSaveText).join('') +
    targetSaveText(r.target)
  );
}

/** "-A CHAIN ..." as iptables-save prints it (without counters). */
export function ruleSaveLine(chain: string, r: Rule): string {
  return `-A ${chain}${ruleSpecText(r)}`;
}
