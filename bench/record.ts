// One benchmark result as written to the JSON file (one record per workload and size).
export interface BenchRecord {
  workload: 'port-reuse' | 'steady' | 'full-path' | 'expiry' | 'sim' | 'memory' | 'wire' | 'vs-ovs';
  variant?: string;
  entries: number;
  opsPerSec: number;
  baselineOpsPerSec: number | null;
  ratio: number | null;
  bytesPerEntry: number | null;
  detail?: Record<string, unknown>;
}
