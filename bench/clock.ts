// The benchmarks' clock: CPU time of this process (getrusage through process.cpuUsage(), exact to
// the microsecond: the kernel brings the running thread's time up to date on every call), so
// that time spent descheduled while other processes use the cores is not counted as ours. On a
// quiet machine it equals wall-clock time for this single-threaded work; on a loaded machine
// wall-clock time would measure the load. It also counts V8's helper threads (concurrent GC and
// compilation), which are idle once a workload is warm. (/proc/thread-self/schedstat, the
// thread's own time, is only brought up to date at scheduler ticks: too coarse for runs of a few
// milliseconds.) CTSIM_BENCH_CLOCK=wall selects wall-clock time.

const wall = process.env.CTSIM_BENCH_CLOCK === 'wall';

/** Which clock `now()` reads. */
export const CLOCK = wall ? 'wall-clock time (CTSIM_BENCH_CLOCK=wall)' : 'process CPU time (getrusage)';

/** Nanoseconds on the chosen clock (only differences are meaningful). */
export const now: () => number = wall
  ? () => Number(process.hrtime.bigint())
  : () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };

/** What one now() costs on its own clock: subtracted once from every interval. */
export const CLOCK_OVERHEAD_NS = (() => {
  const start = now();
  for (let i = 0; i < 1000; i++) now();
  return (now() - start) / 1001;
})();
