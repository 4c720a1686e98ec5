// The discrete-event engine: an integer virtual clock in nanoseconds, a queue of timers, a seeded
// PRNG. Idle time costs nothing: the clock jumps straight to the next event, so an hour of idle
// connections is a handful of events.
import type { Scheduler, Timer } from '../stack/scheduler.js';
import { EventQueue, type QueuedEvent } from './event-queue.js';
import { Prng } from './prng.js';

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
  readonly kind = 'simulation';
}

class SimTimer implements Timer {
  constructor(private readonly ev: QueuedEvent) {}
  get at(): number {
    return this.ev.at;
  }
  get active(): boolean {
    return this.ev.active;
  }
  cancel(): void {
    this.ev.active = false;
  }
}

export class Simulator implements Scheduler {
  private clock = 0;
  private readonly queue = new EventQueue();
  private readonly prng: Prng;
  /** Events executed so far (a cost measure: idle time adds none). */
  eventsRun = 0;

  constructor(readonly seed = 1) {
    this.prng = new Prng(seed);
  }

  get now(): number {
    return this.clock;
  }

  at(atNs: number, fn: () => void): Timer {
    if (!Number.isFinite(atNs)) throw new SimulationError(`timer at non-finite time ${atNs}`);
    const t = Math.max(this.clock, Math.round(atNs));
    return new SimTimer(this.queue.push(t, fn));
  }

  after(delayNs: number, fn: () => void): Timer {
    return this.at(this.clock + delayNs, fn);
  }

  randomU32(): number {
    return this.prng.nextU32();
  }

  /** Time of the next pending event, or Infinity. */
  nextEventTime(): number {
    let top = this.queue.peek();
    while (top && !top.active) {
      this.queue.pop();
      top = this.queue.peek();
    }
    return top ? top.at : Infinity;
  }

  /** Runs events up to and including time `untilNs`, then sets the clock to it. */
  runUntil(untilNs: number, maxEvents = 50_000_000): void {
    this.drain(untilNs, maxEvents);
    if (untilNs > this.clock && Number.isFinite(untilNs)) this.clock = untilNs;
  }

  /** Runs until no event is pending, or virtual time would pass `limitNs`; the clock stays at the last event. */
  runUntilIdle(limitNs = 86_400e9, maxEvents = 50_000_000): void {
    this.drain(limitNs, maxEvents);
  }

  private drain(untilNs: number, maxEvents: number): void {
    for (;;) {
      const top = this.queue.peek();
      if (!top || top.at > untilNs) break;
      this.queue.pop();
      if (!top.active) continue;
      this.clock = top.at;
      top.active = false;
      this.eventsRun++;
      if (this.eventsRun > maxEvents) throw new SimulationError(`more than ${maxEvents} events: a timer loop?`);
      top.fn();
    }
  }
}
