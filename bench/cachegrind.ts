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
