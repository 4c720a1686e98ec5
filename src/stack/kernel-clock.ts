// The clocks of one emulated kernel, derived from the virtual clock: CLOCK_MONOTONIC (ktime_get_ns:
// uptime), CLOCK_REALTIME (ktime_get_real_ns: what secure_tcp_seq() scales ISNs by), jiffies at a
// named HZ, and the timer wheel's rounding (kernel/time/timer.c) that decides when a timer armed
// for N jiffies really fires. Uptime and the wall clock's phase come from the run's seed, so every
// run is reproducible while the phases a real kernel would have stay arbitrary.
import type { Scheduler, Timer } from './scheduler.js';

/** Debian's, Ubuntu's and SUSE's CONFIG_HZ. */
export const DEFAULT_HZ = 250;
export const SUPPORTED_HZ: readonly number[] = [100, 250, 300, 1000];

/** The timer wheel (kernel/time/timer.c, v4.8+): 8 or 9 levels of 64 buckets, each level 8x coarser. */
const LVL_CLK_SHIFT = 3;
const LVL_BITS = 6;
const LVL_SIZE = 1 << LVL_BITS;
const LVL_DEPTH = 9; // HZ > 100; 8 levels at HZ=100 (only the cut-off for huge timeouts differs)
/** LVL_START(n): the smallest delta that lands in level n. */
const lvlStart = (n: number) => (LVL_SIZE - 1) * 2 ** ((n - 1) * LVL_CLK_SHIFT);

/** ktime_get_real_ns() modulo 2^38: secure_tcp_seq() only uses (ns >> 6) mod 2^32. */
const REAL_MOD = 2 ** 38;

export class KernelClock {
  /** TICK_NSEC: nanoseconds per jiffy, (NSEC_PER_SEC + HZ/2) / HZ. */
  readonly tickNs: number;
  /** INITIAL_JIFFIES: -300 * HZ as an unsigned 32-bit number, so jiffies wrap 5 minutes after boot. */
  private readonly initialJiffies: number;

  constructor(
    private readonly sched: Scheduler,
    readonly hz: number,
    /** CLOCK_MONOTONIC when the virtual clock reads 0 (the uptime; at least a second so time stamps are never 0). */
    readonly bootNs: number,
    /** CLOCK_REALTIME modulo 2^38 when the virtual clock reads 0. */
    private readonly realPhaseNs: number,
  ) {
    if (!SUPPORTED_HZ.includes(hz)) throw new RangeError(`HZ=${hz}: Linux offers CONFIG_HZ ${SUPPORTED_HZ.join(', ')}`);
    this.tickNs = Math.floor((1e9 + hz / 2) / hz);
    this.initialJiffies = 2 ** 32 - 300 * hz;
  }

  /** A clock for `sched` with uptime and wall-clock phase drawn from its seeded random source. */
  static seeded(sched: Scheduler, hz = DEFAULT_HZ): KernelClock {
    // Uptime between one hour and about 50 days, in whole microseconds.
    const boot = 3600e9 + (sched.randomU32() % 4_294_967) * 1e6 + (sched.randomU32() % 1000) * 1e3;
    const real = (sched.randomU32() * 64 + (sched.randomU32() & 63)) % REAL_MOD;
    return new KernelClock(sched, hz, boot, real);
  }

  get now(): number {
    return this.sched.now;
  }

  /** ktime_get_ns() */
  monoNs(at = this.sched.now): number {
    return this.bootNs + at;
  }

  /** ktime_get_seconds() */
  seconds(at = this.sched.now): number {
    return Math.floor(this.monoNs(at) / 1e9);
  }

  /** tcp_clock_ms(): the millisecond clock of TCP timestamps. */
  ms(at = this.sched.now): number {
    return Math.floor(this.monoNs(at) / 1e6);
  }

  /** (ktime_get_real_ns() >> 6) mod 2^32: the ISN clock of seq_scale(), one tick per 64 ns. */
  isnClock(at = this.sched.now): number {
    return Math.floor(((this.realPhaseNs + at) % REAL_MOD) / 64) >>> 0;
  }

  /** jiffies (the 64-bit counter; only its low bits matter to the wheel). */
  jiffies(at = this.sched.now): number {
    return this.initialJiffies + Math.floor(this.monoNs(at) / this.tickNs);
  }

  /** Virtual time of the tick that makes jiffies reach `j`. */
  private tickTime(j: number): number {
    return (j - this.initialJiffies) * this.tickNs - this.bootNs;
  }

  /**
   * When a timer armed now for `timeout` jiffies fires: calc_wheel_index() puts it in the bucket
   * of its level (level n holds deltas from LVL_START(n), granularity 8^n jiffies) and rounds the
   * expiry up to the next bucket boundary, so it fires at least one jiffy late and up to one
   * granule late (timers never fire early). Returns the virtual time of that tick.
   */
  timerFireTime(timeout: number, at = this.sched.now): number {
    const clk = this.jiffies(at);
    const t = Math.max(0, Math.floor(timeout));
    let lvl = 0;
    while (lvl < LVL_DEPTH - 1 && t >= lvlStart(lvl + 1)) lvl++;
    const gran = 2 ** (lvl * LVL_CLK_SHIFT);
    // Obscenely large timeouts expire at the wheel's capacity (WHEEL_TIMEOUT_MAX).
    const expires = clk + (t >= lvlStart(LVL_DEPTH) ? lvlStart(LVL_DEPTH) - gran : t);
    const bucketExpiry = (Math.floor(expires / gran) + 1) * gran;
    return Math.max(at, this.tickTime(bucketExpiry));
  }

  /** mod_timer(timer, jiffies + timeout): runs fn when the wheel fires it. */
  armTimer(timeout: number, fn: () => void): Timer {
    return this.sched.at(this.timerFireTime(timeout), fn);
  }

  /** usecs_to_jiffies(): rounds up. */
  usecsToJiffies(us: number): number {
    return Math.ceil((us * this.hz) / 1e6);
  }

  msecsToJiffies(ms: number): number {
    return Math.ceil((ms * this.hz) / 1000);
  }

  jiffiesToUsecs(j: number): number {
    return Math.floor((j * 1e6) / this.hz);
  }

  jiffiesToMsecs(j: number): number {
    return Math.floor((j * 1000) / this.hz);
  }
}

/**
 * What every network namespace of one kernel shares: its clocks and jiffies (so two namespaces'
 * timers armed alike fire on the same tick, as in kernel-diff's lab) and the boot-time secrets of
 * net/core/secure_seq.c (net_secret, ts_secret: global, not per namespace).
 */
export interface KernelBoot {
  readonly clock: KernelClock;
  /** Eight random 32-bit words: net_secret's 128-bit SipHash key, then ts_secret's. */
  readonly secrets: readonly number[];
}

export function bootKernel(sched: Scheduler, hz = DEFAULT_HZ): KernelBoot {
  const clock = KernelClock.seeded(sched, hz);
  return { clock, secrets: Array.from({ length: 8 }, () => sched.randomU32()) };
}
