// Public face of the fuzzer: generate cases, check them, minimise failures, write case files.
export * from './case.js';
export { CaseGenerator, type GeneratorOptions } from './generator.js';
export { runCase, type CaseResult, type HarnessOptions } from './harness.js';
export { INVARIANTS, type InvariantName, type Violation } from './invariants.js';
export { minimise, type MinimiseOptions, type MinimiseResult } from './minimise.js';
export { caseJson, casePcapBytes, formatCaseJson, readCaseFiles, replayPcapJson, writeCaseFiles, type CaseFiles, type CaseJson } from './case-files.js';
export { runFuzz, type Finding, type FuzzOptions, type FuzzProgress, type FuzzSummary } from './fuzzer.js';
export { FAULTS, makeFault, type FaultName } from './faults.js';
export { FuzzViolations } from './errors.js';
export { mergeFuzzSummaries, runFuzzParallel, FuzzMergeError } from './parallel.js';
export { parseShard, shardIndices, subShard, shardsCover, ShardError, type Shard } from './shard.js';
