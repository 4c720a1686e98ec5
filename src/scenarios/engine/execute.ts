// One call for a whole run: the spec on the simulator, its outcome and its expectations.
import type { ScenarioSpec } from '../file/spec.js';
import { computeOutcome, evaluateExpectations, type ExpectationResult, type ScenarioOutcome } from './outcome.js';
import { runScenario, type RunOptions, type ScenarioRun } from './run.js';

export interface ExecutedScenario {
  run: ScenarioRun;
  outcome: ScenarioOutcome;
  results: ExpectationResult[];
  /** Every expectation held (those not observable do not count). */
  passed: boolean;
}

/** A scenario's expectation did not hold (the CLI prints the outcome first: exit status 1). */
export class ExpectationFailed extends Error {
  override readonly name = 'ExpectationFailed';
  readonly kind = 'expectation';
}

export function executeScenario(spec: ScenarioSpec, o: RunOptions = {}): ExecutedScenario {
  const run = runScenario(spec, o);
  const outcome = computeOutcome(run);
  const results = evaluateExpectations(run, outcome);
  return { run, outcome, results, passed: results.every((r) => r.pass !== false) };
}
