// The main replay of a case, with every per-packet invariant checked against an independent
// model of the table: which entries live (from NEW/DESTROY events), under which tuples, until
// when (from the timeouts the verdicts report and the sysctl table). The replay itself is
// `Replayer.push`, so the rows are exactly what `ctsim replay` prints for the case's pcap.
import { NO_REF } from '../conntrack/conn-table.js';
import type { Conntrack } from '../conntrack/conntrack.js';
import type { ConntrackEvent } from '../conntrack/events.js';
import { Status } from '../conntrack/status.js';
import { timeoutTableNs } from '../conntrack/sysctls.js';
import { TCP_CLASS_NAMES, TCP_STATE_NAMES, TcpCtState, TcpPacketClass, tcpStateName } from '../conntrack/tcp-states.js';
import type { Tuple } from '../conntrack/tuple.js';
import type { CaptureRecord } from '../pcap/index.js';
import { IpProtocol } from '../wire/index.js';
import { Replayer, type ReplayRow } from '../replay/replay.js';
import type { FuzzCase } from './case.js';
import type { Fault } from './faults.js';
import { violation, type InvariantName } from './invariants.js';
import { PacketFacts } from './packet-facts.js';
import { caseRecords } from './replay-records.js';
import { acceptedTransition, newEntryState, reopenAllowed } from './transition-rules.js';

const PROTO_ZONE_TCP = IpProtocol.TCP << 16;
/** Memory per entry slot the table and its columns may use (index + tuples + TCP state: ~120 B today). */
export const MAX_BYTES_PER_ENTRY = 256;
const DEAD_TUPLES_KEPT = 64;
/** Above this many live entries the per-packet index check samples (see checkIndex). */
const SAMPLE_ABOVE = 64;

interface ModelEntry {
  id: number;
  orig: Tuple;
  reply: Tuple;
  /** Virtual time (ns) at which the entry must no longer be found. */
  expiry: number;
}

interface Pre {
  e: number;
  dir: 0 | 1;
  id: number;
  state: number;
  status: number;
  expired: boolean;
  entry: ModelEntry;
}

/** Thrown by push when the engine raised a typed error: the case stops there (replay would too). */
export class TypedErrorStop extends Error {
  override readonly name = 'TypedErrorStop';
}

const TYPED = new Set(['WireError', 'CaptureError', 'ConfigError']);

export function isTypedError(e: unknown): boolean {
  return e instanceof Error && TYPED.has(e.name) && typeof (e as { kind?: unknown }).kind === 'string';
}

function stateIndex(name: string | null): number {
  return name === null ? -1 : (TCP_STATE_NAMES as readonly string[]).indexOf(name);
}

function tupleKey(t: Tuple): string {
  return `${t.src}:${t.sport}>${t.dst}:${t.dport}`;
}

export class CaseChecker {
  readonly replayer: Replayer;
  readonly ct: Conntrack;
  readonly rows: ReplayRow[] = [];
  private readonly events: ConntrackEvent[] = [];
  private readonly model = new Map<number, ModelEntry>();
  private readonly dead: Tuple[] = [];
  private readonly facts = new PacketFacts();
  private readonly timeouts: Float64Array;
  private readonly max: number;
  private packet = 0;
  private now = 0;
  private firstNs: bigint | null = null;

  constructor(readonly c: FuzzCase, private readonly fault?: Fault) {
    this.replayer = new Replayer({ kernel: c.kernel, sysctls: c.sysctls, onEvent: (ev) => this.events.push(ev) });
    this.ct = this.replayer.ct;
    this.timeouts = timeoutTableNs(this.ct.sysctls);
    this.max = this.ct.sysctls.nf_conntrack_max;
  }

  private fail(inv: InvariantName, msg: string): never {
    return violation(inv, this.packet, msg);
  }

  /** Replays every packet with the checks, then the end-of-case checks. Throws ViolationFound. */
  run(): void {
    for (const rec of caseRecords(this.c)) {
      this.packet = rec.index + 1;
      this.step(rec.data, rec);
    }
    this.packet = 0;
    this.finish();
  }

  private lookupRef(t: Tuple): number {
    return this.ct.table.lookup(t.src, t.dst, t.sport, t.dport, PROTO_ZONE_TCP);
  }

  private step(bytes: Uint8Array, rec: CaptureRecord): void {
    const ct = this.ct;
    const f = this.facts.read(bytes);
    // The replay's clock: time since the first packet, never running backwards.
    if (this.firstNs === null) this.firstNs = rec.timestampNs;
    const now = Math.max(this.now, Number(rec.timestampNs - this.firstNs));
    this.now = now;

    // Timeouts honoured before anything happens: an expired entry is not found.
    for (const m of this.model.values()) {
      if (m.expiry <= now && ct.find(m.orig, now) !== null) this.fail('timeout', `entry ${m.id} (${tupleKey(m.orig)}) is still found at ${now} ns, it expired at ${m.expiry} ns`);
    }

    let pre: Pre | null = null;
    if (f.hasTuple) {
      const ref = ct.table.lookup(f.src, f.dst, f.sport, f.dport, PROTO_ZONE_TCP);
      if (ref !== NO_REF) {
        const e = ref >> 1;
        const id = ct.ids[e];
        const entry = this.model.get(id);
        if (!entry) this.fail('index', `the packet's tuple finds entry slot ${e} (id ${id}) that is not a confirmed live entry`);
        pre = { e, dir: (ref & 1) as 0 | 1, id, state: ct.records.state(e), status: ct.records.status(e), expired: entry.expiry <= now, entry };
      }
    }
    const countBefore = ct.count;
    this.events.length = 0;
    let row: ReplayRow;
    try {
      row = this.replayer.push(rec);
      this.fault?.afterPush?.(ct, row, 'main');
    } catch (e) {
      if (isTypedError(e)) throw new TypedErrorStop((e as Error).message);
      const err = e as Error;
      const where = err?.stack?.split('\n').find((l) => l.includes(' at '))?.trim() ?? '';
      this.fail('exception', `${err?.name ?? 'throw'}: ${err?.message ?? String(e)}${where ? ` (${where})` : ''}`);
    }
    this.rows.push(row);

    // Events: DESTROY first (timeout, re-open, RST without reply, early drop), NEW at confirm.
    const destroyed = new Map<number, ConntrackEvent>();
    let created: ModelEntry | null = null;
    for (const ev of this.events) {
      if (ev.type === 'DESTROY') {
        const m = this.model.get(ev.id);
        if (!m) this.fail('index', `DESTROY event for entry ${ev.id}, which is not live`);
        if (ev.destroyReason === 'timeout' && ev.timeNs < m.expiry) this.fail('timeout', `entry ${ev.id} destroyed by timeout at ${ev.timeNs} ns, before its expiry at ${m.expiry} ns`);
        if (ev.destroyReason === 'early-drop') {
          if (ev.status & Status.ASSURED) this.fail('capacity', `early drop evicted ASSURED entry ${ev.id}`);
          if (countBefore < this.max) this.fail('capacity', `early drop of entry ${ev.id} with ${countBefore} of ${this.max} entries in use`);
        }
        destroyed.set(ev.id, ev);
        this.model.delete(ev.id);
        this.dead.push(m.orig, m.reply);
        if (this.dead.length > DEAD_TUPLES_KEPT) this.dead.splice(0, this.dead.length - DEAD_TUPLES_KEPT);
      } else if (ev.type === 'NEW') {
        if (this.model.has(ev.id)) this.fail('index', `NEW event for entry ${ev.id}, which is already live`);
        created = { id: ev.id, orig: ev.orig, reply: ev.reply, expiry: Infinity };
        this.model.set(ev.id, created);
      }
    }

    this.checkVerdict(f, pre, row, created, destroyed);
    this.checkStatus(pre, row);
    if (row.outcome === 'DROP' && countBefore < this.max) this.fail('capacity', `packet dropped with ${countBefore} of ${this.max} entries in use`);
    this.checkTimeouts(f, pre, row, created);
    this.checkIndex();
    this.checkCapacity();
  }

  private checkVerdict(f: PacketFacts, pre: Pre | null, row: ReplayRow, created: ModelEntry | null, destroyed: Map<number, ConntrackEvent>): void {
    const ct = this.ct;
    const live = pre !== null && !pre.expired;
    // A packet reaching the lookup kills its expired entry (nf_ct_is_expired in the lookup).
    if (pre?.expired && f.hasTuple && row.outcome !== 'UNTRACKED') {
      const ev = destroyed.get(pre.id);
      if (!ev || ev.destroyReason !== 'timeout') this.fail('timeout', `packet on expired entry ${pre.id} did not destroy it by timeout`);
    }
    if (row.outcome === 'UNTRACKED') {
      if (row.ctinfo !== 'UNTRACKED') this.fail('ctinfo', `outcome UNTRACKED with ctinfo ${row.ctinfo}`);
      if (f.hasTuple) this.fail('ctinfo', 'a TCP packet with a tuple was not tracked');
    } else if (!f.ipv4) {
      this.fail('ctinfo', `a packet that is not valid IPv4 got outcome ${row.outcome}`);
    }
    if (row.outcome === 'INVALID' || row.outcome === 'DROP' || row.outcome === 'UNTRACKED') {
      if (row.outcome !== 'UNTRACKED' && row.ctinfo !== 'INVALID') this.fail('ctinfo', `outcome ${row.outcome} with ctinfo ${row.ctinfo}`);
      if (row.dir !== null || row.state !== null) this.fail('ctinfo', `outcome ${row.outcome} reports an entry (dir ${row.dir}, state ${row.state})`);
      if (row.reopened) this.fail('transition', `outcome ${row.outcome} after a re-open: the old entry died and no new one was made`);
      if (created) this.fail('index', `outcome ${row.outcome} but entry ${created.id} was confirmed`);
      if (live) {
        if (!this.model.has(pre.id) || ct.ids[pre.e] !== pre.id || !ct.table.live[pre.e]) this.fail('transition', `outcome ${row.outcome} deleted entry ${pre.id}`);
        if (ct.records.state(pre.e) !== pre.state) this.fail('transition', `outcome ${row.outcome} changed entry ${pre.id} from ${tcpStateName(pre.state)} to ${tcpStateName(ct.records.state(pre.e))}`);
      }
      return;
    }
    // ACCEPT or IGNORE: an entry is attached.
    const cls = f.cls;
    const after = stateIndex(row.state);
    if (after < 0 || row.dir === null || row.entryId === null) this.fail('ctinfo', `outcome ${row.outcome} without an entry (state ${row.state}, dir ${row.dir})`);
    if (row.reopened) {
      if (!live) this.fail('transition', 're-open reported but the packet found no live entry');
      if (!reopenAllowed(pre.dir, cls, pre.state)) this.fail('transition', `re-open of a ${tcpStateName(pre.state)} entry by a ${TCP_CLASS_NAMES[cls]} in dir ${pre.dir}: the table proposes no SYN_SENT there`);
      if (destroyed.get(pre.id)?.destroyReason !== 'reopen') this.fail('transition', `re-open did not destroy entry ${pre.id} (reason reopen)`);
    }
    if (live && !row.reopened) {
      if (row.entryId !== pre.id) this.fail('transition', `packet on entry ${pre.id} was attached to entry ${row.entryId} without a re-open`);
      const dirName = pre.dir === 0 ? 'original' : 'reply';
      if (row.dir !== dirName) this.fail('ctinfo', `entry ${pre.id} found in dir ${dirName}, verdict says ${row.dir}`);
      const want = pre.dir === 1 ? 'ESTABLISHED_REPLY' : pre.status & Status.SEEN_REPLY ? 'ESTABLISHED' : 'NEW';
      if (row.ctinfo !== want) this.fail('ctinfo', `ctinfo ${row.ctinfo}, expected ${want} (dir ${dirName}, ${pre.status & Status.SEEN_REPLY ? '' : 'no '}reply seen)`);
      if (row.outcome === 'IGNORE') {
        if (after !== pre.state) this.fail('transition', `ignored packet changed ${tcpStateName(pre.state)} to ${row.state}`);
      } else {
        const kind = acceptedTransition(pre.dir, cls, pre.state, after);
        if (kind === null) this.fail('transition', `${tcpStateName(pre.state)} -> ${row.state} on a ${TCP_CLASS_NAMES[cls]} in dir ${pre.dir} is neither a table cell nor a documented override`);
        const before = kind === 'resync' ? 'SYN_SENT' : tcpStateName(pre.state);
        if (row.stateBefore !== before) this.fail('transition', `verdict says ${row.stateBefore}->${row.state}, the entry was ${tcpStateName(pre.state)}`);
      }
    } else {
      // A new entry (first packet, after an expiry, or after a re-open).
      if (!created || row.entryId !== created.id) {
        // Unless its RST-without-reply path deleted it at once (cannot happen to a new entry).
        this.fail('index', `packet with no live entry was attached to entry ${row.entryId}, which was not confirmed as new`);
      }
      if (row.ctinfo !== 'NEW' || row.dir !== 'original') this.fail('ctinfo', `new entry reported as ${row.ctinfo} ${row.dir}`);
      const want = newEntryState(cls);
      if (want >= TcpCtState.INVALID) this.fail('transition', `a ${TCP_CLASS_NAMES[cls]} created an entry: the table allows no new entry for it`);
      if (row.outcome === 'ACCEPT' && after !== want) this.fail('transition', `new entry in ${row.state}, the table says ${tcpStateName(want)}`);
      if (row.reopened && after !== TcpCtState.SYN_SENT) this.fail('transition', `re-open created a ${row.state} entry, not SYN_SENT`);
      if (row.stateBefore !== 'NONE') this.fail('transition', `new entry reported with state before ${row.stateBefore}`);
    }
    // The verdict's state is the entry's state, unless the entry is gone already (RST without reply).
    const m = this.model.get(row.entryId!);
    if (m) {
      const ref = this.lookupRef(m.orig);
      const e = ref >> 1;
      if (ref !== NO_REF && ct.records.state(e) !== after) this.fail('transition', `verdict says ${row.state}, entry ${m.id} is in ${tcpStateName(ct.records.state(e))}`);
    } else if (!destroyed.has(row.entryId!)) {
      this.fail('index', `verdict names entry ${row.entryId}, which is neither live nor destroyed by this packet`);
    }
  }

  /**
   * Status bits of an existing entry: SEEN_REPLY and ASSURED are never cleared; SEEN_REPLY comes
   * from a REPLY packet; ASSURED is set exactly when an accepted packet takes an entry that had
   * seen a reply from SYN_RECV or ESTABLISHED to ESTABLISHED (nf_conntrack_tcp_packet's tail).
   */
  private checkStatus(pre: Pre | null, row: ReplayRow): void {
    if (!pre || pre.expired || row.reopened || !this.model.has(pre.id)) return;
    const ct = this.ct;
    const now = ct.records.status(pre.e);
    const lost = pre.status & ~now & (Status.SEEN_REPLY | Status.ASSURED | Status.CONFIRMED);
    if (lost) this.fail('status', `entry ${pre.id} lost status bits 0x${lost.toString(16)} (${pre.status.toString(16)} -> ${now.toString(16)})`);
    const gained = now & ~pre.status;
    if ((gained & Status.SEEN_REPLY) && row.dir !== 'reply') this.fail('status', `entry ${pre.id} marked SEEN_REPLY by a packet in dir ${row.dir}`);
    const assuredRule = row.outcome === 'ACCEPT' && (pre.status & Status.SEEN_REPLY) !== 0 && row.state === 'ESTABLISHED' &&
      (row.stateBefore === 'SYN_RECV' || row.stateBefore === 'ESTABLISHED');
    if ((gained & Status.ASSURED) && !assuredRule) this.fail('status', `entry ${pre.id} became ASSURED on ${row.stateBefore}->${row.state} (${row.outcome}, reply ${pre.status & Status.SEEN_REPLY ? '' : 'not '}seen)`);
    if (assuredRule && !(now & Status.ASSURED)) this.fail('status', `entry ${pre.id} did not become ASSURED on ${row.stateBefore}->ESTABLISHED after a reply`);
  }

  private checkTimeouts(f: PacketFacts, pre: Pre | null, row: ReplayRow, created: ModelEntry | null): void {
    const t = this.timeouts;
    const now = this.now;
    if (row.timeout !== null) {
      const ns = row.timeout * 1e9;
      const after = stateIndex(row.state);
      const allowed = ns === t[after] || ns === t[TcpCtState.RETRANS] || ns === t[TcpCtState.UNACK] || (f.cls === TcpPacketClass.RST && ns === t[TcpCtState.CLOSE]);
      if (!allowed || (f.cls !== TcpPacketClass.RST && ns > t[after])) {
        this.fail('timeout', `timeout ${row.timeout} s for ${row.state} is not from the sysctl table (state ${t[after] / 1e9} s, unacknowledged ${t[TcpCtState.UNACK] / 1e9} s, max_retrans ${t[TcpCtState.RETRANS] / 1e9} s)`);
      }
    }
    if (created) {
      created.expiry = now + (row.timeout !== null ? row.timeout * 1e9 : t[stateIndex(row.state)]);
    } else if (pre && !pre.expired && this.model.has(pre.id) && row.outcome === 'ACCEPT' && row.timeout !== null) {
      pre.entry.expiry = now + row.timeout * 1e9;
    }
    // The engine's expiry of the entry this packet touched must be the model's.
    const m = created ?? (pre && this.model.has(pre.id) ? pre.entry : null);
    if (!m) return;
    const ref = this.lookupRef(m.orig);
    if (ref === NO_REF) return; // reported by the index check
    const actual = this.ct.records.timeoutAt(ref >> 1);
    if (actual === m.expiry) return;
    // v6.1+ nf_tcp_handle_invalid: an out-of-window FIN/RST answering one from the other side
    // shortens an ASSURED entry's remaining time (>= 120 s) to the unacknowledged timeout.
    const unack = t[TcpCtState.UNACK];
    const lowered = row.outcome === 'INVALID' && pre !== null && this.ct.profile.behaviour.ternaryWindow &&
      (f.cls === TcpPacketClass.FIN || f.cls === TcpPacketClass.RST) && (pre.status & Status.ASSURED) !== 0 &&
      m.expiry - now >= 120e9 && m.expiry - now > unack && actual === now + unack;
    if (!lowered) this.fail('timeout', `entry ${m.id} expires at ${actual} ns, its verdicts say ${m.expiry} ns`);
    m.expiry = actual;
  }

  /**
   * Both-direction lookups of live entries. With many entries (flood cases) each packet checks a
   * rotating slice of them and every 64th packet all of them, so the cost stays linear.
   */
  private checkIndex(): void {
    const ct = this.ct;
    if (ct.count !== this.model.size) this.fail('index', `${ct.count} entries in the table, ${this.model.size} confirmed and live`);
    const all = this.model.size <= SAMPLE_ABOVE || this.packet % 64 === 0;
    let k = 0;
    const from = all ? 0 : (this.packet * SAMPLE_ABOVE) % this.model.size;
    for (const m of this.model.values()) {
      if (!all && (k++ < from || k > from + SAMPLE_ABOVE)) continue;
      const r0 = this.lookupRef(m.orig);
      if (r0 === NO_REF || (r0 & 1) !== 0 || ct.ids[r0 >> 1] !== m.id || !ct.table.live[r0 >> 1]) {
        this.fail('index', `live entry ${m.id} not found from its ORIGINAL tuple ${tupleKey(m.orig)} (got ref ${r0})`);
      }
      const r1 = this.lookupRef(m.reply);
      if (r1 !== r0 + 1) this.fail('index', `live entry ${m.id} not found from its REPLY tuple ${tupleKey(m.reply)} (got ref ${r1}, ORIGINAL gave ${r0})`);
      const found = ct.find(m.orig, this.now);
      if ((found !== null) !== (m.expiry > this.now)) this.fail('timeout', `entry ${m.id} ${found ? 'found' : 'not found'} at ${this.now} ns, expiry ${m.expiry} ns`);
    }
    for (const d of this.dead) {
      const r = this.lookupRef(d);
      if (r === NO_REF) continue;
      const owner = this.model.get(ct.ids[r >> 1]);
      const own = owner ? ((r & 1) === 0 ? owner.orig : owner.reply) : null;
      if (!own || tupleKey(own) !== tupleKey(d)) this.fail('index', `the tuple ${tupleKey(d)} of a destroyed entry still finds slot ${r >> 1}`);
    }
  }

  private checkCapacity(): void {
    const ct = this.ct;
    const cap = ct.table.capacity;
    if (ct.count > this.max) this.fail('capacity', `${ct.count} entries, nf_conntrack_max is ${this.max}`);
    if (cap > this.max) this.fail('capacity', `table capacity ${cap} above nf_conntrack_max ${this.max}`);
    const mem = ct.table.memoryBytes();
    const entryBytes = ct.records.memoryBytes() + ct.ids.byteLength;
    const total = mem.index + mem.tuples + entryBytes;
    if (total > MAX_BYTES_PER_ENTRY * cap + 4096) this.fail('capacity', `${total} bytes for ${cap} entry slots (bound ${MAX_BYTES_PER_ENTRY} B per slot)`);
    if (ct.records.capacity !== cap || ct.ids.length !== cap) {
      this.fail('capacity', `per-entry records (${ct.records.capacity}) and ids (${ct.ids.length}) do not follow the table capacity ${cap}`);
    }
  }

  /** End of case: the table scan, `conntrack -L`, the GC at the last packet's time and after every expiry. */
  private finish(): void {
    const ct = this.ct;
    const now = this.now;
    let live = 0;
    for (let e = 0; e < ct.table.capacity; e++) {
      if (!ct.table.live[e]) continue;
      live++;
      if (!this.model.has(ct.ids[e])) this.fail('index', `slot ${e} (id ${ct.ids[e]}) is live but no confirmed entry owns it`);
    }
    if (live !== this.model.size) this.fail('index', `${live} live slots, ${this.model.size} live entries`);
    const entries = [...this.model.values()];
    const unexpired = entries.filter((m) => m.expiry > now).length;
    const listed = ct.dump(now).length;
    if (listed !== unexpired) this.fail('timeout', `conntrack -L lists ${listed} entries at ${now} ns, ${unexpired} have not expired`);
    const next = entries.reduce((a, m) => Math.min(a, m.expiry), Infinity);
    if (ct.nextExpiry() !== next) this.fail('timeout', `nextExpiry() ${ct.nextExpiry()}, earliest expiry is ${next}`);
    for (const at of [now, entries.reduce((a, m) => Math.max(a, m.expiry), now)]) {
      this.events.length = 0;
      const n = ct.expire(at);
      const due = entries.filter((m) => this.model.has(m.id) && m.expiry <= at);
      if (n !== due.length || this.events.length !== due.length) this.fail('timeout', `the GC at ${at} ns deleted ${n} entries (${this.events.length} events), ${due.length} were due`);
      for (const ev of this.events) {
        const m = this.model.get(ev.id);
        if (ev.type !== 'DESTROY' || ev.destroyReason !== 'timeout' || !m || ev.timeNs < m.expiry) this.fail('timeout', `GC event ${ev.type} ${ev.destroyReason ?? ''} for entry ${ev.id} at ${ev.timeNs} ns`);
        this.model.delete(ev.id);
      }
    }
    if (ct.count !== 0) this.fail('index', `${ct.count} entries left after every expiry`);
  }
}
