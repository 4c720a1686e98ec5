// Files the tool writes: atomically (temporary file + fsync + rename), never over an input.
export { AtomicFile, ensureDirectory, refuseInputAsOutput, writeFileAtomic } from './atomic-file.js';
export type { AtomicFileOptions } from './atomic-file.js';
export { OutputError, systemReason } from './output-error.js';
export type { OutputErrorKind } from './output-error.js';
