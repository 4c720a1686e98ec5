// Public face of scenarios (`ctsim/scenario`): run a seed incident (what `ctsim scenario` does),
// load and validate a scenario file, the outcome matrix, the files a run leaves (pcapng, ladder).
export { runIncident } from './incidents.js';
export { DEFAULT_OPTIONS, SCENARIO_NAMES } from './scenario-types.js';
export type { EntryLife, LadderPacket, ScenarioName, ScenarioOptions, ScenarioOutcome, ScenarioResult, Snapshot } from './scenario-types.js';
export { fileStem, ladderDiagram, runTitle, ladderFor, writeArtifacts } from './artifacts.js';
export { VERDICT_COLOUR, ladderSvg } from './ladder-svg.js';
export type { LadderArrow, LadderBar, LadderDiagram, LadderMarker, LadderVerdict, Lane } from './ladder-svg.js';
export { MATRIX_KERNELS, MITIGATIONS, matrixFindings, matrixMarkdown, matrixSummary, matrixText, runMatrix } from './matrix.js';
export type { MatrixFinding, MatrixRow, Mitigation } from './matrix.js';
export { formatSnapshot, formatTimeline } from './timeline-text.js';
export { loadScenarioFile, loadScenarioText } from './file/load.js';
export { ScenarioFileError } from './file/errors.js';
export type { ScenarioFileErrorKind } from './file/errors.js';
export type { ScenarioSpec } from './file/spec.js';
