// What the emulated kernel needs from time: a clock, timers and a seeded source of randomness.
// The stack only sees this interface; src/sim provides the discrete-event implementation (the
// imports point stack <- sim, never back).

export interface Timer {
  /** Absolute virtual time (ns) the timer fires at. */
  readonly at: number;
  readonly active: boolean;
  cancel(): void;
}

export interface Scheduler {
  /** Current virtual time in nanoseconds (an integer). */
  readonly now: number;
  /** Runs fn at absolute time `atNs` (>= now); ties run in scheduling order. */
  at(atNs: number, fn: () => void): Timer;
  after(delayNs: number, fn: () => void): Timer;
  /** Seeded uniform 32-bit unsigned integers (deterministic per run seed). */
  randomU32(): number;
}

export const MS = 1_000_000;
export const SEC = 1_000_000_000;
