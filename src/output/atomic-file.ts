// Every file ctsim writes goes through here, so that output is never lost, never half-written
// under its final name, and never overwrites an input:
//   - the bytes go to a temporary file in the same folder (".<name>.ctsim-<pid>-<n>.tmp": same
//     file system, so the final rename is atomic), fsync'ed, then renamed over the final name;
//   - abort() (a failed run) and the interrupt cleanup (Ctrl-C: src/lifecycle/cleanup.ts) remove
//     the temporary file, so nothing appears under the final name; temporary files of a process
//     that died without cleaning up (SIGKILL) are removed by the next run writing into that folder;
//   - an output that is the same file as an input (same device and inode, whatever the spelling,
//     hard links included) is refused before anything is written;
//   - a final path that exists and is not a regular file (/dev/null, a FIFO, /dev/stdout) is
//     written in place: there is nothing to rename over.
import fs from 'node:fs';
import path from 'node:path';
import { onInterrupt } from '../lifecycle/cleanup.js';
import { leftByDeadProcess } from '../lifecycle/owner-pid.js';
import { OutputError, systemReason } from './output-error.js';

export interface AtomicFileOptions {
  /**
   * The run's inputs (paths, or '-' / '/dev/stdin' for standard input): the output must not be
   * any of them.
   */
  inputs?: readonly string[];
}

const TEMP_NAME = /^\..+\.ctsim-\d+-\d+\.tmp$/;
let tempCounter = 0;
const sweptFolders = new Set<string>();

/** Creates `dir` and its missing parents one level at a time (recursive mkdir loops forever under /proc). */
export function ensureDirectory(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputError('bad-path', dir, `cannot create folder ${dir}: ${systemReason(e)}`, { cause: e });
    }
    if (st) {
      if (!st.isDirectory()) throw new OutputError('bad-path', dir, `cannot create folder ${dir}: ${d} is not a folder`);
      break;
    }
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(m).isDirectory()) continue;
      throw new OutputError('bad-path', dir, `cannot create folder ${m}: ${systemReason(e)}`, { cause: e });
    }
  }
}

/** Device and inode of a path (following links), or null when it does not exist. */
function identity(p: string): { dev: number; ino: number } | null {
  try {
    const st = p === '-' || p === '/dev/stdin' ? fs.fstatSync(0) : fs.statSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** Throws OutputError('same-as-input') when `output` is the same file as one of `inputs`. */
export function refuseInputAsOutput(output: string, inputs: readonly string[]): void {
  const out = identity(output);
  if (!out) return;
  for (const input of inputs) {
    const id = identity(input);
    if (id && id.dev === out.dev && id.ino === out.ino) {
      const spelled = input === '-' || input === '/dev/stdin' ? 'standard input' : input;
      throw new OutputError('same-as-input', output, `output ${output} is the input ${spelled} (the same file): refusing to overwrite the input; choose another output path`);
    }
  }
}

/** Removes temporary files that processes which died mid-write left in `dir` (once per folder). */
function sweepDeadTemps(dir: string): void {
  if (sweptFolders.has(dir)) return;
  sweptFolders.add(dir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const owner = name.slice(name.lastIndexOf('.ctsim-') + 1);
    if (leftByDeadProcess(owner)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

export class AtomicFile {
  /** The final path as given. */
  readonly path: string;
  /** Where the bytes go until commit() (the final path itself for non-regular targets). */
  readonly tempPath: string;
  private readonly target: string;
  private fd: number | null;
  private readonly inPlace: boolean;
  private readonly mode: number | null;
  private readonly release: () => void;
  private bytes = 0;

  constructor(finalPath: string, o: AtomicFileOptions = {}) {
    this.path = finalPath;
    if (o.inputs?.length) refuseInputAsOutput(finalPath, o.inputs);
    // A symbolic link stays a link: the file it points to is replaced.
    let target = finalPath;
    let existing: fs.Stats | null = null;
    try {
      target = fs.realpathSync(finalPath);
      existing = fs.statSync(target);
    } catch {
      // does not exist yet (or a dangling link: written as a new file at the given path)
    }
    this.target = target;
    if (existing?.isDirectory()) throw new OutputError('bad-path', finalPath, `cannot write ${finalPath}: it is a folder`);
    this.inPlace = existing !== null && !existing.isFile();
    this.mode = existing?.isFile() ? existing.mode & 0o7777 : null;
    const dir = path.dirname(target);
    if (!this.inPlace) {
      ensureDirectory(dir);
      sweepDeadTemps(dir);
    }
    this.tempPath = this.inPlace ? target : path.join(dir, `.${path.basename(target)}.ctsim-${process.pid}-${tempCounter++}.tmp`);
    try {
      this.fd = fs.openSync(this.tempPath, this.inPlace ? 'w' : 'wx', 0o666);
    } catch (e) {
      throw new OutputError('bad-path', finalPath, `cannot write ${finalPath}: ${systemReason(e)}`, { cause: e });
    }
    this.release = onInterrupt(() => this.abort());
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  get open(): boolean {
    return this.fd !== null;
  }

  /** Writes all of `bytes` (looping over short writes). */
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new OutputError('io', this.path, `write to ${this.path} after it was closed`);
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (e) {
      throw new OutputError('io', this.path, `cannot write ${this.path}: ${systemReason(e)}`, { cause: e });
    } finally {
      this.bytes += done;
    }
  }

  /** Makes the file durable and gives it its final name. On failure the temporary file is removed. */
  commit(): void {
    if (this.fd === null) throw new OutputError('io', this.path, `commit of ${this.path} after it was closed`);
    const fd = this.fd;
    try {
      if (!this.inPlace) {
        if (this.mode !== null) fs.fchmodSync(fd, this.mode); // replacing a file keeps its permissions
        fs.fsyncSync(fd);
      }
      this.fd = null;
      fs.closeSync(fd);
      if (!this.inPlace) {
        fs.renameSync(this.tempPath, this.target);
        syncFolder(path.dirname(this.target));
      }
    } catch (e) {
      if (this.fd !== null) {
        this.fd = null;
        fs.closeSync(fd);
      }
      this.removeTemp();
      this.release();
      throw new OutputError('io', this.path, `cannot write ${this.path}: ${systemReason(e)}`, { cause: e });
    }
    this.release();
  }

  /** Drops everything written: nothing appears under the final name. Idempotent. */
  abort(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      try {
        fs.closeSync(fd);
      } catch {
        // closing a file we are throwing away: nothing to report
      }
      this.removeTemp();
    }
    this.release();
  }

  private removeTemp(): void {
    if (!this.inPlace) fs.rmSync(this.tempPath, { force: true });
  }
}

/** The rename is durable once the folder's entry is on disk. */
function syncFolder(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse to fsync a folder; the rename itself has happened
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Writes a whole file atomically (see AtomicFile). */
export function writeFileAtomic(finalPath: string, data: string | Uint8Array, o: AtomicFileOptions = {}): void {
  const f = new AtomicFile(finalPath, o);
  try {
    f.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}
