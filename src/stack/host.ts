// An emulated Linux host = one network namespace: interfaces (with loopback), addresses, routes,
// one conntrack, an iptables ruleset and a TCP layer. Packets move through the netfilter hooks in
// the kernel's order (raw -300, conntrack -200, mangle -150, nat dst -100 at PREROUTING/OUTPUT;
// filter 0; nat src 100 and conntrack confirm last at POSTROUTING/INPUT). NAT is decided on the
// first packet of a connection only; a packet conntrack marks INVALID has no entry attached and
// is neither NATed nor matched by nat rules, and on loopback PREROUTING tracks it again.
// Length: the hooks are one path through one namespace, kept in one file in the order a packet
// meets them (the kernel's ip_rcv -> ip_local_deliver / ip_forward -> ip_output), with the NAT
// bindings and REJECT answers the rules decide on the way.
import { Conntrack } from '../conntrack/conntrack.js';
import type { ConntrackEvent } from '../conntrack/events.js';
import { formatEvent } from '../conntrack/events.js';
import { resolveKernel, type KernelProfile } from '../conntrack/kernel-profile.js';
import { Status } from '../conntrack/status.js';
import { tcpStateName as ctStateName } from '../conntrack/tcp-states.js';
import { Outcome, verdictCtState } from '../conntrack/verdict.js';
import { IpProtocol, Ipv4Packet, TcpSegment, formatIpv4Address, ipv4ReceiveError, inPrefix, packetSummary, parseIpv4Address } from '../wire/index.js';
import type { NetIf, Route } from './netif.js';
import type { Hook, NatBinding, RejectAction, RuleEvaluator, RulePacket, RuleRandomSource, Table } from './rules.js';
import { CT_NAT_DST, CT_NAT_SRC, RouteType } from './rules.js';
import { chooseSourceNat } from '../conntrack/source-nat.js';
import { RuleEvalError } from './iptables/errors.js';
import { TcpFlag, encodeSegment, parseIpv4Tcp } from '../wire/index.js';
import type { Scheduler, Timer } from './scheduler.js';
import { hasConntrackAttachment, newSkb, type Skb } from './skb.js';
import { formatTcpEvent, type TcpEvent } from './tcp/tcp-events.js';
import { TcpStack, type TcpHostPort } from './tcp/tcp-stack.js';
import { applyTcpSysctls, defaultTcpSysctls, splitSysctls } from './tcp/tcp-sysctls.js';
import { ConfigError } from '../conntrack/errors.js';
import { DEFAULT_HZ, bootKernel, type KernelBoot, type KernelClock } from './kernel-clock.js';

export interface HostEvent {
  timeNs: number;
  host: string;
  kind: 'socket' | 'conntrack' | 'packet' | 'rule' | 'app';
  text: string;
  /** The TCP layer's typed fact behind a 'socket' event (text is its rendering). */
  tcp?: TcpEvent;
  /** Conntrack's typed event behind a 'conntrack [NEW|UPDATE|DESTROY]' line. */
  ct?: ConntrackEvent;
  /** A packet conntrack marked INVALID (no entry attached), and where. */
  invalid?: { hook: 'prerouting' | 'output' };
  /** A packet this host dropped, and what dropped it. */
  drop?: DropCause;
}

/** What dropped a packet: a rule's DROP verdict (table, hook, chain, 1-based rule index; 0 = the chain's policy), or a stage of the stack. */
export type DropCause =
  | { by: 'rule'; table: Table; hook: Hook; chain: string; rule: number }
  | { by: 'conntrack' | 'nat' | 'routing' | 'ip_rcv' | 'tcp' | 'link' };

export interface TapEvent {
  host: string;
  iface: string;
  direction: 'inbound' | 'outbound';
  bytes: Uint8Array;
  /** The packet's notes; more are appended while the packet is processed after the tap. */
  notes: string[];
}

export interface HostOptions {
  name: string;
  sched: Scheduler;
  kernel?: KernelProfile | string;
  /** net.netfilter.* and net.ipv4.* settings. */
  sysctls?: readonly string[];
  rules?: RuleEvaluator;
  /** net.ipv4.ip_forward */
  forwarding?: boolean;
  /**
   * Whether connection tracking runs in this namespace (default true). Linux registers the
   * conntrack hooks per namespace only when rules need them (Ruleset.usesConntrack()).
   */
  tracking?: boolean;
  /** CONFIG_HZ of this kernel (jiffies, timer rounding); Debian's 250 by default. */
  hz?: number;
  /** The kernel this namespace belongs to (clocks, secrets), shared with the other namespaces of it; its own otherwise. */
  boot?: KernelBoot;
  onEvent?: (e: HostEvent) => void;
  onTap?: (t: TapEvent) => void;
}

const LOOPBACK = parseIpv4Address('127.0.0.1');
/**
 * How long a packet takes from loopback_xmit() to its processing in the backlog softirq. Never 0
 * on a real machine (the 6.18.44 lab shows 19-28 us per lo hop with tcpdump attached), and that
 * matters: with a zero hop a loopback connection's first RTT sample is 0 us, srtt_us is clamped
 * to 1 and __tcp_set_rto() gives usecs_to_jiffies(200000) = 50 jiffies at HZ=250, where the
 * kernel, whose sample is at least 1 us, gets 51: every RTO and loss probe came one jiffy early.
 */
export const LOOPBACK_HOP_NS = 10_000;

export class Host implements TcpHostPort {
  readonly name: string;
  readonly sched: Scheduler;
  readonly profile: KernelProfile;
  readonly conntrack: Conntrack;
  readonly tcp: TcpStack;
  /** This kernel's clocks, jiffies and timer wheel. */
  readonly clock: KernelClock;
  rules?: RuleEvaluator;
  forwarding: boolean;
  readonly tracking: boolean;
  readonly interfaces = new Map<string, NetIf>();
  readonly routes: Route[] = [];
  onEvent?: (e: HostEvent) => void;
  onTap?: (t: TapEvent) => void;
  /** Packets dropped, by reason (for scenario outcomes). */
  readonly drops = new Map<string, number>();
  /** The run's random source for rule matches (-m statistic) and NAT port choice (get_random_u16). */
  private readonly random: RuleRandomSource;
  private readonly addrTypeFn = (addr: number, dev: string | undefined) => this.addrType(addr, dev);
  private readonly ipView = new Ipv4Packet(new Uint8Array(0));
  private readonly portsView = new TcpSegment(new Uint8Array(0));

  constructor(o: HostOptions) {
    this.name = o.name;
    this.sched = o.sched;
    this.profile = typeof o.kernel === 'object' ? o.kernel : resolveKernel(o.kernel);
    const { netfilter, ipv4 } = splitSysctls(o.sysctls ?? []);
    this.conntrack = new Conntrack({ kernel: this.profile, sysctls: netfilter, seed: o.sched.randomU32(), initialCapacity: 64 });
    this.conntrack.onEvent = (ev) => this.conntrackEvent(ev);
    const boot = o.boot ?? bootKernel(o.sched, o.hz ?? DEFAULT_HZ);
    this.clock = boot.clock;
    const tcpSysctls = { ...applyTcpSysctls(defaultTcpSysctls(this.profile), ipv4, this.profile), hz: this.clock.hz };
    this.tcp = new TcpStack(this, o.sched, this.profile, tcpSysctls, this.clock, boot.secrets);
    this.rules = o.rules;
    this.random = { randomU32: () => this.sched.randomU32() };
    this.forwarding = o.forwarding ?? false;
    this.tracking = o.tracking ?? true;
    this.onEvent = o.onEvent;
    this.onTap = o.onTap;
    this.addInterface('lo', '127.0.0.1/8', true);
  }

  // ------------------------------------------------------------ configuration

  addInterface(name: string, cidr: string, loopback = false): NetIf {
    if (this.interfaces.has(name)) throw new ConfigError(`${this.name}: interface ${name} exists`);
    const [a, len] = cidr.split('/');
    const prefixLen = Number(len ?? 32);
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new ConfigError(`${this.name}: bad prefix in ${cidr}`);
    const iface: NetIf = { name, addr: parseIpv4Address(a), prefixLen, loopback };
    this.interfaces.set(name, iface);
    // connected route
    this.routes.push({ prefix: iface.addr, prefixLen, dev: name });
    return iface;
  }

  addRoute(cidr: string, dev: string, via?: string): void {
    if (!this.interfaces.has(dev)) throw new ConfigError(`${this.name}: no interface ${dev}`);
    const [a, len] = cidr === 'default' ? ['0.0.0.0', '0'] : cidr.split('/');
    this.routes.push({ prefix: parseIpv4Address(a), prefixLen: Number(len ?? 32), dev, via: via ? parseIpv4Address(via) : undefined });
  }

  /** Longest-prefix match (local addresses go to lo, like the local routing table). */
  route(dst: number): NetIf | null {
    if (this.isLocalAddress(dst)) return this.interfaces.get('lo')!;
    let best: Route | null = null;
    for (const r of this.routes) if (inPrefix(dst, r.prefix, r.prefixLen) && (!best || r.prefixLen > best.prefixLen)) best = r;
    return best ? this.interfaces.get(best.dev)! : null;
  }

  isLocalAddress(addr: number): boolean {
    if (inPrefix(addr, LOOPBACK, 8)) return true;
    for (const i of this.interfaces.values()) if (i.addr === addr >>> 0) return true;
    return false;
  }

  routeIsLoopback(dst: number): boolean {
    return this.route(dst)?.loopback ?? false;
  }

  sourceFor(dst: number): number {
    const i = this.route(dst);
    if (!i) throw new ConfigError(`${this.name}: no route to ${formatIpv4Address(dst)}`);
    if (i.loopback) return inPrefix(dst, LOOPBACK, 8) ? LOOPBACK : dst;
    return i.addr;
  }

  /**
   * inet_dev_addr_type() for -m addrtype: 0.0.0.0/8 and 255.255.255.255 are BROADCAST, 224/4
   * MULTICAST; otherwise the local routing table decides (a LOCAL route per address and for
   * 127.0.0.0/8 on lo, a BROADCAST route for each subnet broadcast when the prefix is below /31),
   * and with `dev` only a route on that device counts; anything else is UNICAST.
   */
  addrType(addr: number, dev?: string): number {
    const a = addr >>> 0;
    if (a >>> 24 === 0 || a === 0xffffffff) return RouteType.BROADCAST;
    if (a >>> 28 === 0xe) return RouteType.MULTICAST;
    let best = -1;
    let type: number = RouteType.UNICAST;
    let onDev = '';
    const consider = (prefix: number, len: number, t: number, d: string) => {
      if (len > best && inPrefix(a, prefix, len)) {
        best = len;
        type = t;
        onDev = d;
      }
    };
    for (const i of this.interfaces.values()) {
      consider(i.addr, 32, RouteType.LOCAL, i.name);
      if (i.loopback) consider(i.addr, i.prefixLen, RouteType.LOCAL, i.name);
      if (i.prefixLen < 31) {
        const mask = i.prefixLen === 0 ? 0 : (0xffffffff << (32 - i.prefixLen)) >>> 0;
        consider(((i.addr & mask) | ~mask) >>> 0, 32, RouteType.BROADCAST, i.name);
      }
    }
    if (best < 0) return RouteType.UNICAST;
    return dev === undefined || dev === onDev ? type : RouteType.UNICAST;
  }

  primaryAddress(ifname: string): number | undefined {
    return this.interfaces.get(ifname)?.addr;
  }

  originalDst(local: number, localPort: number, remote: number, remotePort: number): { addr: number; port: number } | null {
    return this.conntrack.originalDst(local, localPort, remote, remotePort, this.sched.now);
  }

  /** Notes of the packet being delivered to a socket: socket reactions go into its capture comment. */
  private deliveringNotes: string[] | null = null;

  event(text: string, kind: HostEvent['kind'] = 'socket', tcp?: TcpEvent): void {
    if (kind === 'socket' && this.deliveringNotes) this.deliveringNotes.push(text.replace(/^socket /, 'sock '));
    this.onEvent?.(tcp ? { timeNs: this.sched.now, host: this.name, kind, text, tcp } : { timeNs: this.sched.now, host: this.name, kind, text });
  }

  /** The TCP layer's events, rendered here (the edge) for timelines and capture comments. */
  tcpEvent(e: TcpEvent): void {
    this.event(formatTcpEvent(e), 'socket', e);
  }

  private conntrackEvent(ev: ConntrackEvent): void {
    this.emit({ timeNs: this.sched.now, host: this.name, kind: 'conntrack', text: `conntrack ${formatEvent(ev).trim()}${ev.destroyReason ? ` (${ev.destroyReason})` : ''}`, ct: ev });
  }

  private emit(e: HostEvent): void {
    this.onEvent?.(e);
  }

  private gcTimer: Timer | null = null;

  /**
   * The conntrack GC worker, woken at the earliest expiry so DESTROY events appear when an entry
   * expires (the kernel's worker may report them up to its scan interval later; lookups never
   * match an expired entry either way). After a packet only that packet's entry can have moved
   * the earliest expiry forward (a scan of the table per packet would make a storm quadratic);
   * a worker woken too early finds nothing, scans once and sleeps again.
   */
  private scheduleGc(entry = -1): void {
    const t = entry >= 0 ? this.conntrack.records.timeoutAt(entry) : this.conntrack.nextExpiry();
    if (t === Infinity) return;
    if (this.gcTimer?.active && this.gcTimer.at <= t) return;
    this.gcTimer?.cancel();
    this.gcTimer = this.sched.at(t, () => {
      this.gcTimer = null;
      this.conntrack.expire(this.sched.now);
      this.scheduleGc();
    });
  }

  private drop(skb: Skb, why: string, cause: DropCause): void {
    skb.notes.push(`DROP: ${why}`);
    this.drops.set(why, (this.drops.get(why) ?? 0) + 1);
    this.emit({ timeNs: this.sched.now, host: this.name, kind: 'packet', text: `drop ${packetSummary(skb.bytes)}: ${why}`, drop: cause });
    if (skb.ct >= 0 && !this.conntrack.isConfirmed(skb.ct)) this.conntrack.abort(skb.ct);
  }

  // ------------------------------------------------------------ netfilter

  private rulePacket(skb: Skb): RulePacket {
    const ip = this.ipView.reset(skb.bytes, 0);
    const proto = ip.protocol;
    const ports = proto === IpProtocol.TCP || proto === IpProtocol.UDP;
    // TCP and UDP both start with the two ports: the TCP view reads them for either.
    const l4 = this.portsView.reset(skb.bytes, ip.payloadOffset, 4);
    return {
      src: ip.src,
      dst: ip.dst,
      proto, sport: ports ? l4.srcPort : 0, dport: ports ? l4.dstPort : 0, length: skb.bytes.length,
      inIface: skb.inIface, outIface: skb.outIface, uid: skb.uid, gid: skb.gid, ctstate: skb.ctstate,
      mark: skb.mark, ctNat: this.ctNatBits(skb), addrType: this.addrTypeFn,
    };
  }

  private ctNatBits(skb: Skb): number {
    if (skb.ct < 0) return 0;
    const st = this.conntrack.records.status(skb.ct);
    return (st & Status.SRC_NAT ? CT_NAT_SRC : 0) | (st & Status.DST_NAT ? CT_NAT_DST : 0);
  }

  /** Runs one table's chain for a hook; false when the packet is dropped. */
  private table(skb: Skb, table: Table, hook: Hook): boolean {
    if (!this.rules) return true;
    const pkt = this.rulePacket(skb);
    const r = this.rules.evaluate(table, hook, pkt, this.random);
    skb.mark = pkt.mark ?? skb.mark;
    skb.ctstate = pkt.ctstate; // CT --notrack (raw table) may have given it the untracked mark
    for (const h of r.hits) skb.notes.push(`rule ${h.table} ${h.chain}#${h.index} ${h.target}`);
    for (const l of r.logs) this.event(`LOG ${l}`, 'rule');
    if (r.reject) this.sendReject(skb, r.reject, hook);
    if (r.verdict === 'DROP') {
      const last = r.hits.at(-1);
      this.drop(skb, `${table} ${hook} ${last ? `${last.chain}#${last.index}` : 'policy'} DROP`, { by: 'rule', table, hook, chain: last?.chain ?? hook, rule: last?.index ?? 0 });
      return false;
    }
    return true;
  }

  /** nf_conntrack_in(): attaches an entry (or marks INVALID); false when conntrack drops it. */
  private conntrackIn(skb: Skb, hook: 'prerouting' | 'output'): boolean {
    if (hasConntrackAttachment(skb)) return true; // loopback: attached at OUTPUT ("Previously seen? Ignore.")
    if (!this.tracking) return true; // no conntrack hooks in this namespace: no entry, no verdict
    const now = this.sched.now;
    // A packet looping back from OUTPUT keeps the local stack's CHECKSUM_PARTIAL: nf_ip_checksum()
    // does not sum it at lo's PREROUTING.
    const v = this.conntrack.track(skb.bytes, 0, skb.bytes.length, now, hook, skb.inIface === 'lo');
    const reason = this.conntrack.reasonText(v);
    const ctstate = verdictCtState(v);
    if (ctstate === null) {
      this.drop(skb, `conntrack: ${reason}`, { by: 'conntrack' });
      return false;
    }
    skb.ctstate = ctstate;
    if (ctstate === 'UNTRACKED' || ctstate === 'INVALID') {
      skb.ct = -1;
      if (ctstate === 'INVALID') {
        skb.notes.push(`ct INVALID${reason ? ` [${reason}]` : ''}`);
        this.emit({ timeNs: this.sched.now, host: this.name, kind: 'conntrack', text: `conntrack INVALID ${packetSummary(skb.bytes)}${reason ? `: ${reason}` : ''}`, invalid: { hook } });
      }
      return true;
    }
    skb.ct = v.destroyed ? -1 : v.entry;
    skb.ctDir = v.dir;
    const ignored = v.outcome === Outcome.IGNORE;
    skb.notes.push(`ct ${skb.ctstate}${v.dir ? ' reply' : ''} ${ctStateName(v.stateBefore)}->${ctStateName(v.stateAfter)}${ignored ? ` ignored${reason ? ` [${reason}]` : ''}` : ''}${v.reopened ? ' (re-open)' : ''}${v.destroyed ? ' (entry deleted)' : ''}`);
    if (v.destroyed) {
      // The RST-with-no-reply rule deleted the entry, but this packet keeps it for NAT.
      skb.ct = v.entry;
    }
    return true;
  }

  /**
   * nf_nat_inet_fn(): on the first packet of a connection the nat table picks a binding (or a null
   * one); then every packet with an entry gets the entry's manipulation for this hook.
   */
  private nat(skb: Skb, hook: Hook, manip: 'src' | 'dst'): boolean {
    const e = skb.ct;
    if (e < 0) return true;
    const ct = this.conntrack;
    const doneBit = manip === 'dst' ? Status.DST_NAT_DONE : Status.SRC_NAT_DONE;
    if (skb.ctstate === 'NEW' && !(ct.records.status(e) & doneBit) && !ct.isConfirmed(e)) {
      let bound = false;
      if (this.rules) {
        const pkt = this.rulePacket(skb);
        const r = this.rules.evaluate('nat', hook, pkt, this.random);
        skb.mark = pkt.mark ?? skb.mark;
        for (const h of r.hits) skb.notes.push(`rule nat ${h.chain}#${h.index} ${h.target}`);
        if (r.verdict === 'DROP') {
          this.drop(skb, `nat ${hook} DROP`, { by: 'nat' });
          return false;
        }
        if (r.nat && (r.nat.kind === 'masquerade' || r.nat.kind === 'snat')) {
          if (!this.sourceNat(skb, e, r.nat)) return false;
          bound = true;
        } else if (r.nat) {
          const pkt = this.rulePacket(skb);
          let addr: number;
          let port: number;
          if (r.nat.kind === 'redirect') {
            // nf_nat_redirect_ipv4: OUTPUT -> 127.0.0.1, PREROUTING -> primary address of the input interface.
            if (hook === 'OUTPUT') addr = LOOPBACK;
            else {
              const a = skb.inIface ? this.primaryAddress(skb.inIface) : undefined;
              if (a === undefined) {
                this.drop(skb, 'REDIRECT: input interface has no address', { by: 'nat' });
                return false;
              }
              addr = a;
            }
            port = r.nat.portMin ?? pkt.dport;
          } else {
            addr = r.nat.addr;
            port = r.nat.portMin ?? pkt.dport;
          }
          ct.bindNat(e, 'dnat', addr, port);
          bound = true;
          skb.notes.push(`nat ${r.nat.kind === 'redirect' ? 'REDIRECT' : 'DNAT'} to ${formatIpv4Address(addr)}:${port}`);
        }
      }
      // nf_nat_alloc_null_binding: a source manip without a rule still keeps the tuple unique,
      // so a clash with an existing mapping gets a new source port (a destination one never changes).
      if (!bound && manip === 'src') this.nullSourceBinding(skb, e);
      ct.records.setStatus(e, ct.records.status(e) | doneBit);
    }
    ct.natManip(skb.bytes, 0, e, skb.ctDir, manip);
    return true;
  }

  /** MASQUERADE / SNAT at POSTROUTING (or SNAT at INPUT): nf_nat_setup_info with a source range. */
  private sourceNat(skb: Skb, e: number, nat: Extract<NatBinding, { kind: 'masquerade' | 'snat' }>): boolean {
    let addr: number;
    if (nat.kind === 'masquerade') {
      // nf_nat_masquerade_ipv4: the output device's address (inet_select_addr); none -> drop.
      const out = skb.outIface ? this.interfaces.get(skb.outIface) : undefined;
      if (!out || out.loopback) {
        this.drop(skb, `MASQUERADE: ${skb.outIface ?? '?'} has no usable address`, { by: 'nat' });
        return false;
      }
      addr = out.addr;
    } else {
      if (nat.addrMin !== nat.addrMax) {
        throw new RuleEvalError(`SNAT --to-source with an address range (${formatIpv4Address(nat.addrMin)}-${formatIpv4Address(nat.addrMax)}) is not modelled (find_best_ips_proto's jhash)`);
      }
      addr = nat.addrMin;
    }
    const c = chooseSourceNat(this.conntrack, e, { addr, portMin: nat.portMin, portMax: nat.portMax, random: nat.random, randomFully: nat.randomFully }, this.sched.now, () => this.sched.randomU32() & 0xffff);
    this.conntrack.bindNat(e, 'snat', c.addr, c.port);
    skb.notes.push(`nat ${nat.kind === 'masquerade' ? 'MASQUERADE' : 'SNAT'} to ${formatIpv4Address(c.addr)}:${c.port}${c.evicted.length ? ` (evicted TIME_WAIT entry ${c.evicted.join(',')})` : ''}`);
    return true;
  }

  private nullSourceBinding(skb: Skb, e: number): void {
    const ct = this.conntrack;
    const t = ct.table.tuples;
    const rw = (e * 2 + 1) * 4;
    const addr = t[rw + 1] >>> 0;
    const port = t[rw + 2] & 0xffff;
    const c = chooseSourceNat(ct, e, { addr, random: false, randomFully: false }, this.sched.now, () => this.sched.randomU32() & 0xffff);
    if (c.addr !== addr || c.port !== port) {
      ct.bindNat(e, 'snat', c.addr, c.port);
      skb.notes.push(`nat null binding: tuple taken, source port ${port} -> ${c.port}`);
    }
  }

  /**
   * REJECT's answer, sent before the rejected packet is dropped (ipt_REJECT calls it inline).
   * tcp-reset: nf_send_reset (no RST for an RST, a fragment or a non-unicast destination; IP id
   * 0, DF, TTL 64, seq = the ACK's number or ack = seq + SYN + FIN + payload; attached to the
   * original's entry as RELATED so NAT is undone; a confirmed entry goes to CLOSE). The ICMP
   * answers are not modelled: a TCP packet that reaches such a rule stops the run with a typed
   * error naming the rule's line.
   */
  private sendReject(skb: Skb, reject: RejectAction, hook: Hook): void {
    if (reject.with !== 'tcp-reset') {
      throw new RuleEvalError(`REJECT --reject-with ${reject.with} (rules line ${reject.line}) answers with ICMP, which ctsim does not model (only --reject-with tcp-reset)`);
    }
    let old;
    try {
      old = parseIpv4Tcp(skb.bytes, 0, { checksum: skb.inIface && skb.inIface !== 'lo' ? 'verify' : 'ignore' });
    } catch {
      return; // not a whole TCP segment, or a bad checksum (nf_ip_checksum): no reset
    }
    const th = old.tcp;
    if (th.flags & TcpFlag.RST || old.ip.fragmentOffset !== 0) return;
    const rt = this.addrType(old.ip.dst);
    if (rt === RouteType.BROADCAST || rt === RouteType.MULTICAST) return;
    const hasAck = (th.flags & TcpFlag.ACK) !== 0;
    const payload = th.payload.length;
    const rst = encodeSegment({
      src: old.ip.dst, dst: old.ip.src, srcPort: th.dstPort, dstPort: th.srcPort,
      seq: hasAck ? th.ack : 0,
      ack: hasAck ? 0 : (th.seq + (th.flags & TcpFlag.SYN ? 1 : 0) + (th.flags & TcpFlag.FIN ? 1 : 0) + payload) >>> 0,
      flags: TcpFlag.RST | (hasAck ? 0 : TcpFlag.ACK), window: 0, options: [], identification: 0, dontFragment: true, ttl: 64,
    });
    const out = newSkb(rst);
    // nf_ct_attach: the reset belongs to the rejected packet's entry, in the other direction.
    if (skb.ct >= 0) {
      out.ct = skb.ct;
      out.ctDir = (skb.ctDir ^ 1) as 0 | 1;
      out.ctstate = 'RELATED';
      this.conntrack.setClosing(skb.ct, this.sched.now);
    }
    // Without an entry to attach (the packet was INVALID) the reset is tracked at OUTPUT like any
    // locally generated packet.
    out.notes.push(`REJECT --reject-with tcp-reset answering a packet at ${hook}`);
    this.event(`REJECT tcp-reset ${packetSummary(rst)}`, 'rule');
    this.localOutSkb(out);
  }

  private confirm(skb: Skb): boolean {
    if (skb.ctstate === 'RELATED') return true; // nf_conntrack_confirm skips IP_CT_RELATED_REPLY
    if (skb.ct >= 0 && !this.conntrack.isConfirmed(skb.ct) && this.conntrack.table.live[skb.ct]) {
      if (!this.conntrack.confirm(skb.ct, this.sched.now)) {
        this.drop(skb, 'conntrack: insert failed (tuple clash)', { by: 'conntrack' });
        return false;
      }
    }
    if (skb.ct >= 0) this.scheduleGc(skb.ct);
    return true;
  }

  // ------------------------------------------------------------ packet paths

  /**
   * ip_local_out() for a packet built by the local TCP layer. False when the output path dropped
   * it (no route, a netfilter DROP, a failed conntrack confirm): the sender sees an error
   * (-EPERM from nf_hook_slow), which TCP acts on for new data and FINs.
   */
  localOut(bytes: Uint8Array, owner: { uid: number; gid: number } | null): boolean {
    return this.localOutSkb(newSkb(bytes, owner ?? undefined));
  }

  private localOutSkb(skb: Skb): boolean {
    const ip = new Ipv4Packet(skb.bytes);
    const dst = ip.dst;
    const out = this.route(dst);
    if (!out) {
      this.drop(skb, `no route to ${formatIpv4Address(dst)}`, { by: 'routing' });
      return false;
    }
    skb.outIface = out.name;
    if (!this.table(skb, 'raw', 'OUTPUT')) return false;
    if (!this.conntrackIn(skb, 'output')) return false;
    if (!this.table(skb, 'mangle', 'OUTPUT')) return false;
    if (!this.nat(skb, 'OUTPUT', 'dst')) return false;
    if (!this.table(skb, 'filter', 'OUTPUT')) return false;
    // ip_route_me_harder(): a destination changed by NAT needs a new route.
    const newDst = ip.dst;
    if (newDst !== dst) {
      const r = this.route(newDst);
      if (!r) {
        this.drop(skb, `no route to ${formatIpv4Address(newDst)}`, { by: 'routing' });
        return false;
      }
      skb.outIface = r.name;
    }
    return this.postRouting(skb);
  }

  private postRouting(skb: Skb): boolean {
    if (!this.table(skb, 'mangle', 'POSTROUTING')) return false;
    if (!this.nat(skb, 'POSTROUTING', 'src')) return false;
    if (!this.confirm(skb)) return false;
    const out = this.interfaces.get(skb.outIface!)!;
    this.onTap?.({ host: this.name, iface: out.name, direction: 'outbound', bytes: skb.bytes, notes: skb.notes });
    if (out.loopback) {
      // loopback_xmit -> netif_rx: received again on lo, with the conntrack attachment kept, in
      // the backlog's softirq a little later (see LOOPBACK_HOP_NS).
      const again: Skb = { ...skb, inIface: 'lo', outIface: undefined };
      this.sched.after(LOOPBACK_HOP_NS, () => this.receiveSkb(again));
      return true;
    }
    if (!out.transmit) {
      this.drop(skb, `${out.name} is not connected`, { by: 'link' });
      return true; // the device accepted it; no error reaches the sender
    }
    out.transmit(skb.bytes, skb.notes);
    return true;
  }

  /** A packet arriving on an interface (from a link). */
  receive(ifname: string, bytes: Uint8Array): void {
    const skb = newSkb(bytes);
    skb.inIface = ifname;
    if (!this.interfaces.get(ifname)?.loopback) this.onTap?.({ host: this.name, iface: ifname, direction: 'inbound', bytes, notes: skb.notes });
    this.receiveSkb(skb);
  }

  /** ip_rcv() -> PREROUTING -> routing -> INPUT or FORWARD. */
  private receiveSkb(skb: Skb): void {
    const bad = ipv4ReceiveError(skb.bytes, 0, skb.bytes.length);
    if (bad !== null) {
      this.drop(skb, `ip_rcv: ${bad.message}`, { by: 'ip_rcv' });
      return;
    }
    if (!this.table(skb, 'raw', 'PREROUTING')) return;
    if (!this.conntrackIn(skb, 'prerouting')) return;
    if (!this.table(skb, 'mangle', 'PREROUTING')) return;
    if (!this.nat(skb, 'PREROUTING', 'dst')) return;
    const ip = new Ipv4Packet(skb.bytes);
    const dst = ip.dst;
    if (this.isLocalAddress(dst)) {
      this.localIn(skb);
      return;
    }
    if (!this.forwarding) {
      this.drop(skb, `not for this host (${formatIpv4Address(dst)}) and ip_forward=0`, { by: 'routing' });
      return;
    }
    const out = this.route(dst);
    if (!out) {
      this.drop(skb, `no route to ${formatIpv4Address(dst)}`, { by: 'routing' });
      return;
    }
    skb.outIface = out.name;
    if (!this.table(skb, 'mangle', 'FORWARD')) return;
    if (!this.table(skb, 'filter', 'FORWARD')) return;
    ip.ttl = ip.ttl - 1; // checksum by a full recomputation: forwarding is rare here
    ip.fillChecksum();
    this.postRouting(skb);
  }

  private localIn(skb: Skb): void {
    if (!this.table(skb, 'mangle', 'INPUT')) return;
    if (!this.table(skb, 'filter', 'INPUT')) return;
    if (!this.nat(skb, 'INPUT', 'src')) return;
    if (!this.confirm(skb)) return;
    if (new Ipv4Packet(skb.bytes).protocol !== IpProtocol.TCP) {
      skb.notes.push('delivered: no handler for this protocol');
      return;
    }
    this.deliveringNotes = skb.notes;
    try {
      this.tcp.receive(skb.bytes, 0);
    } catch (e) {
      this.drop(skb, `TCP: ${(e as Error).message}`, { by: 'tcp' });
    } finally {
      this.deliveringNotes = null;
    }
  }

  /** `ss -tanoe` */
  ss(): string[] {
    return this.tcp.ss();
  }

  /** `conntrack -L` */
  conntrackList(): string[] {
    return this.conntrack.dump(this.sched.now);
  }
}
