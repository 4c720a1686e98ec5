// One error type for files the tool writes, so the CLI can tell a refused or impossible output
// path (a usage problem: exit 2) from a failing disk (exit 1).

export type OutputErrorKind =
  /** The output is one of the run's inputs (same device and inode): writing it would destroy it. */
  | 'same-as-input'
  /** The path cannot be an output: its folder cannot be created, it is a folder, ... */
  | 'bad-path'
  /** Writing, syncing or renaming failed (ENOSPC, EIO, ...). */
  | 'io';

export class OutputError extends Error {
  override readonly name = 'OutputError';
  readonly kind: OutputErrorKind;
  /** The output path as the user gave it. */
  readonly path: string;
  /** The system error code (ENOSPC, EACCES, ...) when there is one. */
  readonly code: string | undefined;

  constructor(kind: OutputErrorKind, path: string, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.kind = kind;
    this.path = path;
    const cause = options?.cause as NodeJS.ErrnoException | undefined;
    this.code = typeof cause?.code === 'string' ? cause.code : undefined;
  }
}

/** "ENOSPC: no space left on device" from a Node system error, without the call and path. */
export function systemReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.message !== 'string') return String(e);
  return err.message.replace(/, \w+ '.*'$/, '').replace(/, (write|open|rename|fsync|close|mkdir|stat)$/, '');
}
