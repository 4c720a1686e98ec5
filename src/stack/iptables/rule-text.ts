// A rule printed as iptables-save(8) prints it (print_rule4 in iptables, each extension's ->save):
// -s, -d, -i, -o, -p first, then "-m name --options" in load order, then -j/-g and target options.
// Parsing this text gives the same rule back, which is what the save -> parse round trip relies on.
import { formatIpv4Address } from '../../wire/ipv4-address.js';
import { CT_STATE_ORDER, PROTO_NAMES, ctStateBit } from './rule.js';
import type { AddrSpec, IdSpec, IfaceSpec, Match, PortSpec, Rule, Target } from './rule.js';
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

export function matchSaveText(m: Match): string {
  switch (m.kind) {
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
