// Reading the counts of a `valgrind --tool=cachegrind --branch-sim=yes` run from its output file
// (the documented "events:" and "summary:" lines, not the human summary on stderr), and turning
// two runs that differ only in their round count into a cost per packet.

export interface CachegrindCounts {
  /** Instructions executed (Ir). */
  instructions: number;
  /** Conditional and indirect branches executed (Bc + Bi). */
  branches: number;
  /** Of those, what cachegrind's simulated predictor mispredicted (Bcm + Bim): a simple model, not the CPU's. */
  mispredicts: number;
}

export class CachegrindOutputError extends Error {}

/** The program totals of a cachegrind output file's text. */
export function parseCachegrindOut(text: string): CachegrindCounts {
  const line = (key: string) => {
    const l = text.split('\n').find((x) => x.startsWith(`${key}: `));
    if (l === undefined) throw new CachegrindOutputError(`cachegrind output has no "${key}:" line`);
    return l.slice(key.length + 2).trim().split(/\s+/);
  };
  const events = line('events');
  const totals = line('summary').map(Number);
  if (totals.length !== events.length || totals.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    throw new CachegrindOutputError(`cachegrind summary (${totals.join(' ')}) does not match its events (${events.join(' ')})`);
  }
  const get = (e: string) => {
    const i = events.indexOf(e);
    if (i < 0) throw new CachegrindOutputError(`cachegrind output lacks event ${e} (run with --branch-sim=yes)`);
    return totals[i];
  };
  return { instructions: get('Ir'), branches: get('Bc') + get('Bi'), mispredicts: get('Bcm') + get('Bim') };
}

/** What the extra packets of the longer run cost, per packet. */
export function perPacket(short: CachegrindCounts, long: CachegrindCounts, extraPackets: number): CachegrindCounts {
  if (!(extraPackets > 0)) throw new RangeError('the longer run must have more packets');
  const d = (k: keyof CachegrindCounts) => (long[k] - short[k]) / extraPackets;
  return { instructions: d('instructions'), branches: d('branches'), mispredicts: d('mispredicts') };
}

/**
 * How far the two windows may differ and still be called steady: JIT warm-up moved trackBatch's
 * count by 14 to 32 %, a garbage collection landing in one window moved track's by 2.7 %.
 */
export const STEADY_TOLERANCE = 0.05;

/** What one packet cost over the earlier and over the later extra rounds of three runs, and whether the two agree. */
export interface SteadyCost {
  /** Runs 1 -> 2. */
  early: CachegrindCounts;
  /** Runs 2 -> 3: the number to report (the latest, most warmed-up window). */
  late: CachegrindCounts;
  /** late / early - 1, of the instructions. */
  drift: number;
  /** |drift| within the tolerance: the rounds measure the steady state, not V8 still compiling. */
  steady: boolean;
}

/**
 * Three runs of R1 < R2 < R3 rounds: the cost of rounds R1..R2 and of R2..R3 per packet. When the
 * JIT is still at work (V8 compiles on the main thread with --single-threaded, and the work lands
 * in whichever rounds it happens in), the early window costs more than the late one: trackBatch
 * counted 5,924 instructions per tracked packet over rounds 20..60 and 4,015 over 60..100 and
 * 100..140. Such a count is flagged, not published as the steady cost.
 */
export function steadyCost(runs: readonly [CachegrindCounts, CachegrindCounts, CachegrindCounts], rounds: readonly [number, number, number], packetsPerRound: number, tolerance = STEADY_TOLERANCE): SteadyCost {
  const [r1, r2, r3] = rounds;
  if (!(r1 < r2 && r2 < r3)) throw new RangeError(`rounds must increase: ${rounds.join(',')}`);
  const early = perPacket(runs[0], runs[1], (r2 - r1) * packetsPerRound);
  const late = perPacket(runs[1], runs[2], (r3 - r2) * packetsPerRound);
  const drift = late.instructions / early.instructions - 1;
  return { early, late, drift, steady: Math.abs(drift) <= tolerance };
}
