// One replay run as the CLI drives it: the packet selector (--iface, de-duplication of the same
// packet seen on several interfaces, NAT learnt from those copies) in front of one conntrack, or
// two (--compare: the same packets through kernel/sysctl profile A and B, verdicts side by side).
import type { CaptureRecord } from '../pcap/index.js';
import { Replayer, type ReplayOptions, type ReplayRow } from './replay.js';
import type { ChecksumCounts } from './summary.js';
import { PacketSelector, Selection, type SelectOptions } from './select.js';

export interface SessionOptions {
  /** Profile A (the only one without compare). */
  a: ReplayOptions;
  /** Profile B for --compare. */
  b?: ReplayOptions;
  select?: SelectOptions;
}

export interface ReplayStep {
  rec: CaptureRecord;
  /** 'skip': not on --iface; 'duplicate': a copy of an earlier tracked packet. */
  kind: 'track' | 'duplicate' | 'skip';
  /** The row under profile A (null when skipped). */
  a: ReplayRow | null;
  /** The row under profile B (compare only). */
  b: ReplayRow | null;
  /** Compare: the verdicts differ (see verdictKey). */
  differs: boolean;
}

/**
 * What "the verdict" is when two profiles are compared: ctinfo, outcome (accept, ignore, invalid,
 * drop), direction, state before and after, and whether the packet re-opened the entry. Timeouts
 * and the wording of reasons are not compared.
 */
export function verdictKey(r: ReplayRow): string {
  return `${r.ctinfo}|${r.outcome}|${r.dir}|${r.stateBefore}|${r.state}|${r.reopened}`;
}

export interface SessionCounts {
  packets: number;
  tracked: number;
  duplicates: number;
  skipped: number;
  differ: number;
  /** Packet number (1-based) of the first differing packet, or null. */
  firstDiffer: number | null;
  outcomesA: Record<string, number>;
  outcomesB: Record<string, number>;
  /** What the kernel did with the TCP checksums of profile A's tracked packets. */
  checksums: ChecksumCounts;
}

export class ReplaySession {
  readonly a: Replayer;
  readonly b: Replayer | null;
  readonly selector: PacketSelector<ReplayStep>;
  readonly counts: SessionCounts = { packets: 0, tracked: 0, duplicates: 0, skipped: 0, differ: 0, firstDiffer: null, outcomesA: {}, outcomesB: {}, checksums: {} };

  constructor(opts: SessionOptions) {
    this.a = new Replayer(opts.a);
    this.b = opts.b ? new Replayer(opts.b) : null;
    this.selector = new PacketSelector(opts.select ?? {});
  }

  push(rec: CaptureRecord): ReplayStep {
    const c = this.counts;
    c.packets++;
    const sel = this.selector;
    const kind = sel.classify(rec);
    if (kind === Selection.SKIP) {
      c.skipped++;
      return { rec, kind: 'skip', a: null, b: null, differs: false };
    }
    if (kind === Selection.DUPLICATE) {
      c.duplicates++;
      const own = sel.ownTuple();
      const orig = sel.originalResult;
      const a = this.a.duplicateRow(rec, orig?.a ?? null, sel.originalN, own);
      const b = this.b ? this.b.duplicateRow(rec, orig?.b ?? null, sel.originalN, own) : null;
      c.outcomesA.DUPLICATE = (c.outcomesA.DUPLICATE ?? 0) + 1;
      if (b) c.outcomesB.DUPLICATE = (c.outcomesB.DUPLICATE ?? 0) + 1;
      return { rec, kind: 'duplicate', a, b, differs: false };
    }
    c.tracked++;
    const pre = { link: sel.link, linkError: sel.linkError, data: sel.data };
    // (sel.link may be the selector's reused object: Replayer.push reads it at once.)
    const a = this.a.push(rec, pre);
    a.captured = sel.captured;
    c.outcomesA[a.outcome] = (c.outcomesA[a.outcome] ?? 0) + 1;
    if (a.checksum !== null) c.checksums[a.checksum] = (c.checksums[a.checksum] ?? 0) + 1;
    let b: ReplayRow | null = null;
    let differs = false;
    if (this.b) {
      b = this.b.push(rec, pre);
      b.captured = sel.captured;
      c.outcomesB[b.outcome] = (c.outcomesB[b.outcome] ?? 0) + 1;
      if (verdictKey(a) !== verdictKey(b)) {
        differs = true;
        c.differ++;
        c.firstDiffer ??= a.n;
      }
    }
    const step: ReplayStep = { rec, kind: 'track', a, b, differs };
    sel.remember(step, a.n);
    return step;
  }
}

/** Replays records through a session: one step per record (skipped ones included). */
export function* replaySession(records: Iterable<CaptureRecord>, opts: SessionOptions): Generator<ReplayStep> {
  const s = new ReplaySession(opts);
  for (const rec of records) yield s.push(rec);
}
