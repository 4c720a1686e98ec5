// Another conntrack implementation that ctsim can drive itself (the first is Open vSwitch's
// userspace conntrack): it runs cases and answers with verdict lines, which also makes it the
// oracle the minimiser needs to shrink a disagreement.
import type { SuiteCase } from './suite-case.js';
import type { VerdictLine } from './verdict-line.js';

export interface PeerProgress {
  cases: number;
  total: number;
  packets: number;
}

export interface Peer {
  /** e.g. "Open vSwitch 3.1.0 userspace conntrack". */
  readonly name: string;
  /** Verdict lines for every packet of every case (cases[i] -> result[i], one line per packet). */
  run(cases: readonly SuiteCase[], onProgress?: (p: PeerProgress) => void): Promise<VerdictLine[][]>;
  /** Stops whatever the peer started (idempotent). */
  close(): Promise<void>;
}
