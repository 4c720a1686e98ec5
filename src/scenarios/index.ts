// Public face of scenarios (`ctsim/scenario`): load and run a scenario file through the one
// scenario engine (what `ctsim run FILE` does), run a seed incident with its knobs (what
// `ctsim scenario NAME` does), the outcome matrix, the files a run leaves (pcapng, ladder, timeline).
import { executeScenario, type ExecutedScenario } from './engine/execute.js';
import type { RunOptions } from './engine/run.js';
import { loadScenarioFile } from './file/load.js';
import type { LoadOverrides } from './file/overrides.js';

/** Loads FILE (with --kernel/--sysctl/--set style overrides), runs it, returns the run, its outcome and the file's expectations. */
export function runScenarioFile(file: string, overrides: LoadOverrides = {}, o: RunOptions = {}): ExecutedScenario {
  return executeScenario(loadScenarioFile(file, overrides), o);
}

export { executeScenario, ExpectationFailed } from './engine/execute.js';
export type { ExecutedScenario } from './engine/execute.js';
export { runScenario } from './engine/run.js';
export type { HostCounters, RunOptions, ScenarioRun } from './engine/run.js';
export type { ExpectationResult, ScenarioOutcome as RunOutcome } from './engine/outcome.js';
export type { ProgramEvent, ProgramFact } from './engine/program-events.js';
export { runLadder, runLadderDiagram } from './engine/ladder.js';
export { outcomeLines, runJson, runStem, timelineText, writeRunFiles } from './engine/report.js';
export type { RunFiles } from './engine/report.js';
export { runSeed, seedStem } from './seed-run.js';
export type { SeedRun } from './seed-run.js';
export { SEED_NAMES, seedOverrides } from './seed-knobs.js';
export type { SeedKnobs, SeedName } from './seed-knobs.js';
export type { LadderPacket, ScenarioOutcome, Snapshot } from './scenario-types.js';
export { VERDICT_COLOUR, ladderSvg } from './ladder-svg.js';
export type { LadderArrow, LadderBar, LadderDiagram, LadderMarker, LadderVerdict, Lane } from './ladder-svg.js';
export { MATRIX_KERNELS, MITIGATIONS, matrixFindings, matrixMarkdown, matrixSummary, matrixText, runMatrix } from './matrix.js';
export type { MatrixFinding, MatrixRow, Mitigation } from './matrix.js';
export { formatSnapshot, formatTimeline } from './timeline-text.js';
export { loadScenarioFile, loadScenarioText } from './file/load.js';
export type { LoadOverrides } from './file/overrides.js';
export { scenarioPath, shippedScenarioNames } from './file/shipped.js';
export { ScenarioFileError } from './file/errors.js';
export type { ScenarioFileErrorKind } from './file/errors.js';
export type { ScenarioSpec } from './file/spec.js';
