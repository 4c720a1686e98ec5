// Public face of replay (`ctsim/replay`): a capture's packets through one conntrack (Replayer,
// replayRecords), or two side by side with the packet selector in front (ReplaySession), and the
// rows' text and JSON forms (what `ctsim replay` prints).
export { Replayer, explainLines, formatPacketText, formatRowText, formatVerdictText, replayRecords, rowJson, rowJsonExplained, verdictText } from './replay.js';
export type { Predecoded, ReplayNat, ReplayOptions, ReplayRow } from './replay.js';
export { ReplaySession, replaySession, verdictKey } from './session.js';
export type { ReplayStep, SessionCounts, SessionOptions } from './session.js';
export { DEFAULT_DEDUP_WINDOW_NS } from './select.js';
export type { SelectOptions } from './select.js';
export { explainVerdict, explanationJson, explanationLines } from './explain.js';
export type { ExplainContext, Explanation } from './explain.js';
