// Files ctsim writes go through here so that output is never half-written under its final name:
// the bytes go to a temporary file in the same folder (same file system, so the rename is
// atomic), are fsync'ed, then renamed over the final name; on any error the temporary file is
// removed. (A minimal version of the atomic-output module branch i18 adds; that one supersedes it.)
import fs from 'node:fs';
import path from 'node:path';

let counter = 0;

/** Writes a whole file atomically. */
export function writeFileAtomic(finalPath: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(finalPath));
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(finalPath)}.ctsim-${process.pid}-${counter++}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(temp, 'wx', 0o666);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temp, finalPath);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
}
