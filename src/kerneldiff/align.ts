// Aligning ctsim's sequence of rows (packets of one flow, events of one entry) with the kernel's:
// a longest common subsequence in order, gaps as nulls. Two packets of one flow that cross in
// flight (one each way) may reach the capture in either order on a loaded machine, and an
// alignment in order keeps only one of them; pairCrossed() pairs such a packet again.

/** Longest common subsequence alignment, in order, with gaps as nulls (greedy beyond 4M cells). */
export function align<A, B>(a: A[], b: B[], eq: (x: A, y: B) => boolean): Array<[A | null, B | null]> {
  const n = a.length;
  const m = b.length;
  const out: Array<[A | null, B | null]> = [];
  if (n * m > 4_000_000) {
    // Too long for a table: walk both in order, pairing equal heads and skipping the other side's.
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (eq(a[i], b[j])) out.push([a[i++], b[j++]]);
      else if (j + 1 < m && eq(a[i], b[j + 1])) out.push([null, b[j++]]);
      else out.push([a[i++], null]);
    }
    while (i < n) out.push([a[i++], null]);
    while (j < m) out.push([null, b[j++]]);
    return out;
  }
  const L: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = eq(a[i], b[j]) ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (eq(a[i], b[j])) out.push([a[i++], b[j++]]);
    else if (L[i + 1][j] >= L[i][j + 1]) out.push([a[i++], null]);
    else out.push([null, b[j++]]);
  }
  while (i < n) out.push([a[i++], null]);
  while (j < m) out.push([null, b[j++]]);
  return out;
}

/** A row of an alignment; `crossed`: the pair was made by pairCrossed (the two sides' orders differ). */
export interface Aligned<A, B> {
  a: A | null;
  b: B | null;
  crossed: boolean;
}

/** How pairCrossed reads a row: its time and its direction (only rows going the other way can be crossed). */
export interface CrossingKeys<A, B> {
  timeA: (x: A) => number;
  timeB: (y: B) => number;
  dirA: (x: A) => string;
  dirB: (y: B) => string;
  /** Rows this close in time count as sent at one instant: their order is a race, whatever their direction (default 0). */
  instantNs?: number;
}

/**
 * An alignment with each row left alone on one side paired with an equal row left alone on the
 * other (the nearest in time within `maxNs`, each used once), at the first side's place, when
 * every row between the two places goes the other way: the same packet, captured before or after
 * packets it crossed in flight. A row of the same direction in between is an order the two sides
 * really differ in, unless it was sent within `instantNs` of the packet (one instant: a race);
 * rows without a partner stay gaps.
 */
export function pairCrossed<A, B>(rows: Array<[A | null, B | null]>, eq: (x: A, y: B) => boolean, k: CrossingKeys<A, B>, maxNs: number): Array<Aligned<A, B>> {
  const { timeA, timeB } = k;
  const dirOf = ([a, b]: [A | null, B | null]) => (a !== null ? k.dirA(a) : k.dirB(b!));
  const timeOf = ([a, b]: [A | null, B | null]) => (a !== null ? timeA(a) : timeB(b!));
  const onlyCrossings = (i: number, j: number, dir: string, t: number) => {
    for (let r = Math.min(i, j) + 1; r < Math.max(i, j); r++) if (dirOf(rows[r]) === dir && Math.abs(timeOf(rows[r]) - t) > (k.instantNs ?? 0)) return false;
    return true;
  };
  const lonelyB = rows.flatMap(([a, b], i) => (a === null && b !== null ? [i] : []));
  const taken = new Set<number>();
  const partner = new Map<number, number>();
  rows.forEach(([a, b], i) => {
    if (a === null || b !== null) return;
    let best = -1;
    for (const j of lonelyB) {
      if (taken.has(j) || !eq(a, rows[j][1]!) || !onlyCrossings(i, j, k.dirA(a), timeA(a))) continue;
      const d = Math.abs(timeB(rows[j][1]!) - timeA(a));
      if (d <= maxNs && (best < 0 || d < Math.abs(timeB(rows[best][1]!) - timeA(a)))) best = j;
    }
    if (best >= 0) {
      taken.add(best);
      partner.set(i, best);
    }
  });
  const out: Array<Aligned<A, B>> = [];
  rows.forEach(([a, b], i) => {
    if (taken.has(i)) return;
    const j = partner.get(i);
    out.push(j === undefined ? { a, b, crossed: false } : { a, b: rows[j][1], crossed: true });
  });
  return out;
}
