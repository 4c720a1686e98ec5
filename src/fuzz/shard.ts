// Deterministic splitting of a seeded campaign (fuzz or kernel-diff): case n of seed s is the same
// case everywhere, so shard I of N is simply the cases n with n % N == I - 1. Shards run on many
// machines (a Kubernetes Indexed Job, GNU parallel) or as parallel jobs here, and their reports
// add up exactly.

export class ShardError extends Error {
  override readonly name = 'ShardError';
  readonly kind = 'usage';
}

/** Shard I of N (1-based) holds the cases i with i % N == I - 1. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || shard.count < 1 || shard.index < 1 || shard.index > shard.count || shard.count > 1_000_000) {
    throw new ShardError(`--shard must be I/N with 1 <= I <= N (e.g. 3/8), got ${JSON.stringify(text)}`);
  }
  return shard;
}

/** The global case indices of a shard. */
export function shardIndices(total: number, s: Shard): number[] {
  const out: number[] = [];
  for (let i = s.index - 1; i < total; i += s.count) out.push(i);
  return out;
}

/** Job j (0-based) of `jobs` inside shard s, as a shard of the whole campaign. */
export function subShard(s: Shard, j: number, jobs: number): Shard {
  return { index: s.index + j * s.count, count: s.count * jobs };
}

/** The shard indices a merged set of sub-shards covers (true when they make up `whole` exactly). */
export function shardsCover(parts: readonly Shard[], whole: Shard): boolean {
  const stride = parts.reduce((l, p) => lcm(l, p.count), whole.count);
  const seen = new Set<number>();
  for (const p of parts) {
    for (let r = p.index - 1; r < stride; r += p.count) {
      if (seen.has(r)) return false;
      seen.add(r);
    }
  }
  for (let r = whole.index - 1; r < stride; r += whole.count) if (!seen.delete(r)) return false;
  return seen.size === 0;
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

