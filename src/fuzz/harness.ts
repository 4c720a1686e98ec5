// Runs one case through every check: the main replay with the per-packet invariants, a second
// identical replay (determinism), and the NAT replay. The first violation ends the case.
import { Replayer, type ReplayRow } from '../replay/replay.js';
import type { FuzzCase } from './case.js';
import { CaseChecker, TypedErrorStop, isTypedError } from './case-checker.js';
import type { Fault } from './faults.js';
import { ViolationFound, violation, type Violation } from './invariants.js';
import { checkNat } from './nat-check.js';
import { caseRecords } from './replay-records.js';

export interface HarnessOptions {
  /** Replay the case a second time and compare every verdict (default true). */
  determinism?: boolean;
  /** Run the NAT rewrite check (default true). */
  nat?: boolean;
  fault?: Fault;
}

export interface CaseResult {
  violation: Violation | null;
  /** The main replay's rows (as many as were replayed). */
  rows: ReplayRow[];
  /** A typed error stopped the replay (reported, not a violation). */
  typedError: string | null;
}

const COMPARED: ReadonlyArray<keyof ReplayRow> = [
  'n', 'timeNs', 'src', 'dst', 'sport', 'dport', 'flags', 'seqRel', 'ackRel', 'len', 'dir', 'ctinfo', 'outcome', 'state', 'stateBefore',
  'timeout', 'reason', 'entryId', 'reopened',
];

function sameRow(a: ReplayRow, b: ReplayRow): string | null {
  for (const k of COMPARED) if (a[k] !== b[k]) return `${k}: ${JSON.stringify(a[k])} then ${JSON.stringify(b[k])}`;
  if (a.status.join() !== b.status.join()) return `status: ${a.status.join()} then ${b.status.join()}`;
  return null;
}

function checkDeterminism(c: FuzzCase, rows: readonly ReplayRow[], fault?: Fault): void {
  const r = new Replayer({ kernel: c.kernel, sysctls: c.sysctls });
  const recs = caseRecords(c);
  for (let i = 0; i < rows.length; i++) {
    let row: ReplayRow;
    try {
      row = r.push(recs[i]);
      fault?.afterPush?.(r.ct, row, 'determinism');
    } catch (e) {
      violation('determinism', i + 1, `the second replay threw (${e instanceof Error ? e.message : String(e)}), the first did not`);
    }
    const diff = sameRow(rows[i], row);
    if (diff) violation('determinism', i + 1, `verdicts differ between two replays of the same case: ${diff}`);
  }
}

export function runCase(c: FuzzCase, opts: HarnessOptions = {}): CaseResult {
  const checker = new CaseChecker(c, opts.fault);
  let typedError: string | null = null;
  try {
    try {
      checker.run();
    } catch (e) {
      if (!(e instanceof TypedErrorStop)) throw e;
      typedError = e.message;
    }
    if (opts.determinism ?? true) checkDeterminism(c, checker.rows, opts.fault);
    if ((opts.nat ?? true) && typedError === null) {
      try {
        checkNat(c, opts.fault);
      } catch (e) {
        if (e instanceof ViolationFound) throw e;
        if (isTypedError(e)) {
          typedError = (e as Error).message;
        } else {
          violation('exception', 0, `NAT check: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
    }
  } catch (e) {
    if (e instanceof ViolationFound) return { violation: e.violation, rows: checker.rows, typedError };
    throw e;
  }
  return { violation: null, rows: checker.rows, typedError };
}
