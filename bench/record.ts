// One benchmark result as written to the JSON file: one record per workload, variant and size,
// carrying the definition of what was measured (so that two runs can be compared, and a change
// of definition is seen rather than read as a speed change) and every implementation's timing.

export type Workload = 'lookup' | 'port-reuse' | 'full-path' | 'lifecycle' | 'memory' | 'churn' | 'allocation' | 'expiry' | 'sim' | 'wire' | 'vs-ovs';

export interface WorkloadDefinition {
  /** What one operation is. */
  operation: string;
  /** How keys reach the code under test. */
  keys: string;
  /** Which flows the packets belong to. */
  flows: string;
  /** What is outside the timed loop, or measured and subtracted. */
  harness: string;
}

export interface ImplResult {
  impl: string;
  opsPerSec: number;
  nsPerOp: number;
  p10NsPerOp?: number;
  p90NsPerOp?: number;
  rounds?: number;
}

export interface BenchRecord {
  workload: Workload;
  variant: string;
  /** Live entries (flows) in the table, 0 when not applicable. */
  entries: number;
  /** Unit of opsPerSec, e.g. 'lookups/s', 'cycles/s', 'packets/s'. */
  unit: string;
  definition: WorkloadDefinition;
  /** ctsim's figure: its best implementation for speed records (see results for all). */
  opsPerSec: number;
  /** Every implementation measured, ctsim's first, then the baselines. */
  results: ImplResult[];
  /** Index bytes per live entry, where a table is involved. */
  bytesPerEntry: number | null;
  detail?: Record<string, unknown>;
}

export interface BenchMeta {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  mode: 'quick' | 'full';
  /** 1/5/15-minute load averages when the run started and ended. */
  loadAverageStart: number[];
  loadAverageEnd: number[];
  sizes: number[];
  /** The clock the timings read (thread CPU time where the kernel provides it). */
  clock: string;
}

export interface BenchFile {
  meta: BenchMeta;
  records: BenchRecord[];
}
