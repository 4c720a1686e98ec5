// replay --host: a capture taken on a node or in a pod (`tcpdump -i any`) replayed through that
// host's own netfilter, one conntrack per host, each packet at the hook where the capture point
// saw it:
//   - a packet received on a real interface was captured before PREROUTING: tracked there (its
//     checksum verified as the kernel would, see ChecksumCheck), then mangle/nat PREROUTING and
//     INPUT (or FORWARD) rules run; a rule's DROP is reported, and a new entry it drops is never
//     confirmed;
//   - a packet sent by the host (outgoing on a real interface, or on lo either way) was captured
//     after POSTROUTING, i.e. after NAT: conntrack saw it at OUTPUT with the tuple before NAT,
//     which is reconstructed from the entry it belongs to (its reply tuple, inverted, is what an
//     original-direction packet looks like after NAT, and its original tuple inverted what a
//     reply looks like). A first packet seen only after NAT (the application's SYN after
//     REDIRECT: 127.0.0.1:15001) gets its original destination from the first packet the
//     capture shows coming back to it from elsewhere (the sidecar's SYN-ACK, de-NATed), if the
//     host's nat OUTPUT rules would indeed redirect it there; every such inference is stated.
//     The capture does not show which socket sent a packet, so nat OUTPUT is asked as root and
//     as each uid and gid its owner matches name (Istio's proxy 1337). A new connection's SYN
//     seen leaving as addressed although the rules would rewrite it for every such owner (and
//     they match no mark and nothing at random) is stated too: the rules and the capture
//     disagree (other host, other time);
//   - before conntrack, the raw table (OUTPUT for a sent packet, PREROUTING for a received one):
//     its DROP stops the packet untracked, CT --notrack leaves it untracked (no entry, no NAT);
//   - a lo packet is tracked once, at OUTPUT; only when conntrack marked it INVALID there (no
//     entry attached: nf_conntrack_in() resets skb->_nfct) is it tracked again when lo delivers
//     it, at PREROUTING (checksum trusted, after raw PREROUTING), where mangle PREROUTING may drop it;
//   - the same packet seen twice (lo out and in, a forwarded packet on both interfaces) is
//     tracked once (PacketSelector).
// Memory: the capture is held in memory (the look-ahead for original destinations).
import type { CaptureRecord } from '../pcap/index.js';
import type { ConntrackHook } from '../conntrack/conntrack.js';
import { Status } from '../conntrack/status.js';
import { verdictCtState, type CtState, type Verdict } from '../conntrack/verdict.js';
import type { Hook, RuleEvaluator, RulePacket, RuleResult, Table } from '../stack/rules.js';
import { CT_NAT_DST, CT_NAT_SRC } from '../stack/rules.js';
import { IpProtocol, PacketView, TcpFlag, formatIpv4Address, inPrefix, parseIpv4Address, rewriteTuple } from '../wire/index.js';
import { Replayer, type ReplayOptions, type ReplayRow } from './replay.js';
import { PacketSelector, Selection, formatTuple } from './select.js';
import { socketOwners, socketOwnersText, type SocketOwner } from './socket-owners.js';

export interface ReplayHostInterface {
  name: string;
  addr: number;
  prefixLen: number;
  /** The SLL2 interface index the capture gives it (when the capture has several interfaces). */
  ifindex?: number;
}

/** The host whose capture is replayed: its addresses and its iptables rules. */
export interface ReplayHost {
  name: string;
  interfaces: ReplayHostInterface[];
  rules?: RuleEvaluator;
  forwarding?: boolean;
}

/** A row of replay --host: the conntrack verdict plus where and what the host did with it. */
export interface HostRow extends ReplayRow {
  /** The hook the packet was tracked at (null: not tracked). */
  hook: ConntrackHook | null;
  /** The interface the capture saw it on ('' when the capture does not say). */
  iface: string;
  /** A rule dropped the packet after conntrack: "mangle PREROUTING ISTIO_DROP#1". */
  dropped: string | null;
  /** What the capture could not show and was assumed (e.g. an original destination). */
  assumed: string | null;
  /** A lo packet INVALID at OUTPUT, tracked again at PREROUTING when lo delivered it. */
  again: ReplayRow | null;
}

const LOOPBACK_NET = parseIpv4Address('127.0.0.0');
const LOCALHOST = parseIpv4Address('127.0.0.1');
/** How far ahead (packets) to look for the reply that shows a redirected packet's original destination. */
const LOOKAHEAD = 4096;

export interface HostCounts {
  packets: number;
  tracked: number;
  duplicates: number;
  outcomes: Record<string, number>;
  dropped: number;
  assumed: number;
}

export class HostReplayer {
  readonly replayer: Replayer;
  readonly counts: HostCounts = { packets: 0, tracked: 0, duplicates: 0, outcomes: {}, dropped: 0, assumed: 0 };
  private readonly selector = new PacketSelector<HostRow>({ dedup: true });
  private readonly view = new PacketView();
  private readonly ahead = new PacketView();
  /** The socket owners a locally generated packet is tried as (natOwners), once computed. */
  private owners: SocketOwner[] | null = null;
  /** The binding inferred for the packet being tracked (used by the nat callback). */
  private pendingDnat: { addr: number; port: number } | null = null;
  /** The inbound path's verdict for a created entry (set in the nat callback). */
  private inboundDrop: string | null = null;
  private inboundIface = '';
  private currentHook: ConntrackHook = 'prerouting';

  constructor(readonly host: ReplayHost, opts: ReplayOptions) {
    this.replayer = new Replayer({
      ...opts,
      nat: {
        bind: (ct, v) => {
          if (this.pendingDnat) {
            ct.bindNat(v.entry, 'dnat', this.pendingDnat.addr, this.pendingDnat.port);
            return true;
          }
          if (this.currentHook === 'output') return true;
          // PREROUTING: mangle, then the nat table's binding, then INPUT/FORWARD, all before confirm.
          this.inboundDrop = this.inboundRules(v, true);
          return this.inboundDrop === null;
        },
        rewrite: () => {},
      },
    });
  }

  /** Replays a whole capture (held in memory for the look-ahead). */
  *replay(records: readonly CaptureRecord[]): Generator<HostRow> {
    for (let i = 0; i < records.length; i++) yield this.push(records, i);
  }

  /** The entries `conntrack -L` would list `atNs` after the first packet (default: at the last one). */
  entries(atNs?: number): string[] {
    const r = this.replayer;
    return r.ct.dump(Math.max(r.nowNs, atNs ?? 0));
  }

  private ifaceName(ifindex: number | undefined, loopback: boolean): string {
    if (loopback) return 'lo';
    const ifs = this.host.interfaces;
    const byIndex = ifindex === undefined ? undefined : ifs.find((i) => i.ifindex === ifindex);
    if (byIndex) return byIndex.name;
    if (ifs.length === 1) return ifs[0].name;
    return ifindex === undefined ? '' : `if${ifindex}`;
  }

  private isLocal(addr: number): boolean {
    if (inPrefix(addr, LOOPBACK_NET, 8)) return true;
    return this.host.interfaces.some((i) => i.addr === addr >>> 0);
  }

  push(records: readonly CaptureRecord[], index: number): HostRow {
    const rec = records[index];
    const c = this.counts;
    c.packets++;
    const sel = this.selector;
    const kind = sel.classify(rec);
    const link = sel.link;
    const loopback = link?.loopback === true;
    const iface = this.ifaceName(link?.ifindex, loopback);
    if (kind === Selection.DUPLICATE) {
      c.duplicates++;
      const row = this.replayer.duplicateRow(rec, sel.originalResult, sel.originalN, sel.ownTuple());
      const hr: HostRow = { ...row, hook: null, iface, dropped: null, assumed: null, again: null };
      c.outcomes.DUPLICATE = (c.outcomes.DUPLICATE ?? 0) + 1;
      return hr;
    }
    c.tracked++;
    const view = sel.view;
    const local = loopback || link?.outgoing === true || rec.direction === 'outbound';
    let data = sel.data;
    let assumed: string | null = null;
    let captured: string | null = null;
    this.pendingDnat = null;
    this.inboundDrop = null;
    this.inboundIface = iface;
    const off = link?.networkOffset ?? 0;
    if (local && view.hasPorts) {
      const ip = view.ip;
      const tcp = view.tcp;
      const pre = this.beforeNat(ip.src, tcp.srcPort, ip.dst, tcp.dstPort, (tcp.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN, records, index);
      if (pre.tuple) {
        captured = formatTuple(ip.src, tcp.srcPort, ip.dst, tcp.dstPort);
        data = rec.data.slice();
        rewriteTuple(data, off, pre.tuple);
      }
      this.pendingDnat = pre.dnat;
      assumed = pre.assumed;
    }
    const hook: ConntrackHook = local ? 'output' : 'prerouting';
    this.currentHook = hook;
    const raw = this.rawTable(local ? 'OUTPUT' : 'PREROUTING', data, off, iface);
    const row = this.replayer.push(rec, { link, linkError: sel.linkError, data, hook, notTracked: raw?.reason });
    if (captured) row.captured = captured;
    const v = this.replayer.lastVerdict;
    let dropped: string | null = null;
    let again: ReplayRow | null = null;
    if (raw) {
      dropped = raw.dropped;
    } else if (!local && v && row.outcome !== 'UNTRACKED') {
      // A created entry's rules ran before confirm (the nat callback); every other packet's now.
      dropped = v.created ? this.inboundDrop : this.inboundRules(v, false);
    } else if (loopback && row.outcome === 'INVALID') {
      // No entry attached at OUTPUT: lo delivers it to PREROUTING, where conntrack looks again.
      this.pendingDnat = null;
      this.currentHook = 'prerouting';
      this.inboundIface = 'lo';
      const raw2 = this.rawTable('PREROUTING', sel.data, off, 'lo');
      again = this.replayer.push(rec, { link, linkError: sel.linkError, data: sel.data, hook: 'prerouting', notTracked: raw2?.reason });
      this.countOutcome(again.outcome);
      const v2 = this.replayer.lastVerdict;
      if (raw2) dropped = raw2.dropped;
      else if (v2) dropped = v2.created ? this.inboundDrop : this.inboundRules(v2, false);
    }
    const hr: HostRow = { ...row, hook, iface, dropped, assumed, again };
    this.countOutcome(row.outcome);
    if (dropped) c.dropped++;
    if (assumed) c.assumed++;
    sel.remember(hr, hr.n);
    return hr;
  }

  private countOutcome(o: string): void {
    this.counts.outcomes[o] = (this.counts.outcomes[o] ?? 0) + 1;
  }

  /**
   * The raw table at `hook` for a packet with no conntrack attachment yet (raw runs before
   * conntrack): its DROP stops the packet there, and CT --notrack gives it the untracked mark,
   * so conntrack never sees it. Returns what the row should say, or null when neither happened.
   */
  private rawTable(hook: 'OUTPUT' | 'PREROUTING', data: Uint8Array, off: number, iface: string): { dropped: string | null; reason: string } | null {
    const rules = this.host.rules;
    if (!rules) return null;
    const v = this.view;
    v.decodeIpv4(data, off);
    if (!v.hasPorts) return null;
    const out = hook === 'OUTPUT';
    const pkt: RulePacket = {
      src: v.ip.src, dst: v.ip.dst, proto: v.ip.protocol, sport: v.tcp.srcPort, dport: v.tcp.dstPort, length: v.ip.totalLength,
      // At raw OUTPUT the route is the one of the destination before NAT (the capture shows it after).
      inIface: out ? undefined : iface, outIface: out ? (this.isLocal(v.ip.dst) ? 'lo' : this.routeIface(v.ip.dst)) : undefined,
      // The capture cannot say which socket sent it: root's is assumed (raw rules rarely match owners).
      uid: out ? 0 : undefined, gid: out ? 0 : undefined,
      ctstate: 'INVALID', mark: 0, ctNat: 0, addrType: (a) => (this.isLocal(a) ? 2 : 1),
    };
    const where = dropWhere('raw', hook, rules.evaluate('raw', hook, pkt));
    if (where !== null) return { dropped: where, reason: `dropped by ${where} before conntrack` };
    if (pkt.ctstate === 'UNTRACKED') return { dropped: null, reason: `CT --notrack in raw ${hook}: conntrack ignores it` };
    return null;
  }

  /**
   * The tuple conntrack saw at OUTPUT for a locally generated packet captured after NAT as
   * src:sport > dst:dport: null tuple when it is the same. `dnat`: the binding a new entry gets.
   */
  private beforeNat(src: number, sport: number, dst: number, dport: number, syn: boolean, records: readonly CaptureRecord[], index: number):
    { tuple: { src: number; dst: number; sport: number; dport: number } | null; dnat: { addr: number; port: number } | null; assumed: string | null } {
    const ct = this.replayer.ct;
    const now = Math.max(this.replayer.nowNs, Math.round(this.replayer.timeOf(records[index]) * 1e9));
    // After NAT an original-direction packet carries the inverted reply tuple, a reply the inverted original.
    const hit = ct.find({ src: dst, dst: src, sport: dport, dport: sport, proto: IpProtocol.TCP }, now);
    if (hit) {
      const t = ct.tuple(hit.entry, hit.dir === 1 ? 0 : 1);
      // An original-direction packet that re-opens the entry (a SYN after CLOSE) creates a new
      // one, which the same nat OUTPUT rule binds the same way: keep the binding at hand.
      const reply = ct.tuple(hit.entry, 1);
      const dnat = hit.dir === 1 && (ct.records.status(hit.entry) & Status.DST_NAT) !== 0 ? { addr: reply.src, port: reply.sport } : null;
      if (t.src === src && t.dst === dst && t.sport === sport && t.dport === dport) return { tuple: null, dnat, assumed: null };
      return { tuple: { src: t.src, dst: t.dst, sport: t.sport, dport: t.dport }, dnat, assumed: null };
    }
    if (!this.host.rules) return { tuple: null, dnat: null, assumed: null };
    if (!this.isLocal(dst)) {
      // Captured leaving as addressed. A new connection's SYN passes nat OUTPUT: if the rules
      // rewrite it whatever socket sent it, the rules and the capture disagree (a mid-stream
      // packet may belong to an entry older than the rules: its NAT was decided then).
      // Rules that match the mark or at random cannot be re-asked without what the capture lacks.
      if (!syn || this.host.rules.hiddenMatches?.('nat').markOrRandom !== false) return { tuple: null, dnat: null, assumed: null };
      const targets = this.natOwners().map((o) => this.natOutputTarget(src, sport, dst, dport, o));
      const first = targets[0];
      if (!first || targets.some((t) => !t || (t.addr === dst && t.port === dport))) return { tuple: null, dnat: null, assumed: null };
      return { tuple: null, dnat: null, assumed: `a new connection's SYN seen leaving as addressed, but the nat OUTPUT rules' ${first.what} would have rewritten it whichever socket sent it (${socketOwnersText(this.natOwners())}); tracked as captured: are the rules this host's, from the time of the capture?` };
    }
    // A first packet. Was it redirected? Only if the nat OUTPUT rules send its original to dst:dport
    // (for some socket owner: the capture does not show which socket sent it).
    const orig = this.lookAhead(src, sport, dst, dport, records, index);
    if (!orig) {
      return { tuple: null, dnat: null, assumed: `first packet seen only as ${formatTuple(src, sport, dst, dport)}: no later packet shows where it was addressed before NAT; tracked as captured` };
    }
    const target = this.natOwners().map((o) => this.natOutputTarget(src, sport, orig.addr, orig.port, o)).find((t) => t && t.addr === dst && t.port === dport);
    if (!target) {
      return { tuple: null, dnat: null, assumed: `packet #${orig.n} suggests ${formatIpv4Address(orig.addr)}:${orig.port} as the original destination, but the nat OUTPUT rules do not send it to ${formatIpv4Address(dst)}:${dport}; tracked as captured` };
    }
    return {
      tuple: { src, dst: orig.addr, sport, dport: orig.port },
      dnat: target,
      assumed: `seen only after OUTPUT NAT: original destination ${formatIpv4Address(orig.addr)}:${orig.port} from packet #${orig.n} (its answer, de-NATed); the rules' ${target.what} gives the captured one`,
    };
  }

  /** The first later locally sent packet addressed to src:sport from somewhere other than dst:dport. */
  private lookAhead(src: number, sport: number, dst: number, dport: number, records: readonly CaptureRecord[], index: number): { addr: number; port: number; n: number } | null {
    const v = this.ahead;
    for (let j = index + 1; j < records.length && j <= index + LOOKAHEAD; j++) {
      const r = records[j];
      v.decodeFrame(r.iface.linkType, r.data);
      if (v.linkError || !v.hasPorts) continue;
      const l = v.link;
      if (!(l.loopback === true || l.outgoing === true || r.direction === 'outbound')) continue;
      if (v.ip.dst !== src || v.tcp.dstPort !== sport) continue;
      if (v.ip.src === dst && v.tcp.srcPort === dport) return null; // answered as captured: not NATed
      return { addr: v.ip.src, port: v.tcp.srcPort, n: r.index + 1 };
    }
    return null;
  }

  /** The socket owners a locally generated packet is tried as at nat OUTPUT (computed once). */
  private natOwners(): SocketOwner[] {
    this.owners ??= socketOwners(this.host.rules!, 'nat');
    return this.owners;
  }

  /** Where the nat OUTPUT chain sends a new locally generated packet from a socket of this owner. */
  private natOutputTarget(src: number, sport: number, dst: number, dport: number, owner: SocketOwner): { addr: number; port: number; what: string } | null {
    const rules = this.host.rules!;
    const pkt: RulePacket = {
      src, dst, proto: IpProtocol.TCP, sport, dport, length: 60, outIface: this.isLocal(dst) ? 'lo' : this.routeIface(dst),
      uid: owner.uid, gid: owner.gid, ctstate: 'NEW', mark: 0, ctNat: 0, addrType: (a) => (this.isLocal(a) ? 2 : 1),
    };
    const r = rules.evaluate('nat', 'OUTPUT', pkt);
    if (!r.nat) return null;
    if (r.nat.kind === 'redirect') return { addr: LOCALHOST, port: r.nat.portMin ?? dport, what: `REDIRECT --to-ports ${r.nat.portMin ?? dport}` };
    if (r.nat.kind === 'dnat') return { addr: r.nat.addr, port: r.nat.portMin ?? dport, what: `DNAT --to-destination ${formatIpv4Address(r.nat.addr)}:${r.nat.portMin ?? dport}` };
    return null;
  }

  private routeIface(dst: number): string | undefined {
    let best: ReplayHostInterface | undefined;
    for (const i of this.host.interfaces) if (inPrefix(dst, i.addr, i.prefixLen) && (!best || i.prefixLen > best.prefixLen)) best = i;
    return (best ?? this.host.interfaces[0])?.name;
  }

  /**
   * The tables a received packet meets after conntrack: mangle PREROUTING, nat PREROUTING (a new
   * entry's binding), then mangle/filter INPUT (for this host) or FORWARD. Returns the rule that
   * dropped it, or null.
   */
  private inboundRules(v: Verdict, created: boolean): string | null {
    const rules = this.host.rules;
    if (!rules) return null;
    const ctstate = verdictCtState(v);
    if (ctstate === null) return null;
    const view = this.view;
    const r = this.replayer;
    view.decodeIpv4(r.lastData, r.lastOff);
    if (!view.hasPorts) return null;
    const ct = r.ct;
    const e = v.entry;
    const natBits = (st: number) => (st & Status.SRC_NAT ? CT_NAT_SRC : 0) | (st & Status.DST_NAT ? CT_NAT_DST : 0);
    const pkt: RulePacket = {
      src: view.ip.src, dst: view.ip.dst, proto: view.ip.protocol, sport: view.tcp.srcPort, dport: view.tcp.dstPort, length: view.ip.totalLength,
      inIface: this.inboundIface, ctstate: ctstate as CtState, mark: 0, ctNat: e >= 0 && ctstate !== 'INVALID' ? natBits(ct.records.status(e)) : 0,
      addrType: (a) => (this.isLocal(a) ? 2 : 1),
    };
    const run = (table: Table, hook: Hook): string | null => dropWhere(table, hook, rules.evaluate(table, hook, pkt));
    let drop = run('mangle', 'PREROUTING');
    if (drop) return drop;
    if (created && e >= 0) {
      const res = rules.evaluate('nat', 'PREROUTING', pkt);
      if (res.verdict === 'DROP') return 'nat PREROUTING';
      if (res.nat?.kind === 'redirect') {
        // nf_nat_redirect_ipv4 at PREROUTING: the input interface's primary address.
        const addr = this.host.interfaces.find((i) => i.name === this.inboundIface)?.addr ?? pkt.dst;
        ct.bindNat(e, 'dnat', addr, res.nat.portMin ?? pkt.dport);
        pkt.dst = addr;
        pkt.dport = res.nat.portMin ?? pkt.dport;
      } else if (res.nat?.kind === 'dnat') {
        ct.bindNat(e, 'dnat', res.nat.addr, res.nat.portMin ?? pkt.dport);
        pkt.dst = res.nat.addr;
        pkt.dport = res.nat.portMin ?? pkt.dport;
      }
    }
    const forLocal = this.isLocal(pkt.dst) || (e >= 0 && ctstate !== 'INVALID' && (ct.records.status(e) & Status.DST_NAT) !== 0);
    if (forLocal) {
      drop = run('mangle', 'INPUT') ?? run('filter', 'INPUT');
    } else if (this.host.forwarding) {
      pkt.outIface = this.routeIface(pkt.dst);
      drop = run('mangle', 'FORWARD') ?? run('filter', 'FORWARD') ?? run('mangle', 'POSTROUTING');
    } else {
      drop = 'routing: not for this host and ip_forward=0';
    }
    return drop;
  }
}

/** The rule (or policy) that dropped a packet, "mangle PREROUTING ISTIO_DROP#1"; null when the table let it pass. */
function dropWhere(table: Table, hook: Hook, res: RuleResult): string | null {
  if (res.verdict !== 'DROP') return null;
  const last = res.hits.at(-1);
  return `${table} ${hook} ${last ? `${last.chain}#${last.index}` : 'policy'}`;
}
