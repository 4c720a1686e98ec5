// Every output goes through AtomicFile: nothing under the final name until commit(), nothing
// left after abort() or an interrupt cleanup, an input never overwritten (any spelling, hard
// links), permissions of a replaced file kept, non-regular targets written in place, dead
// processes' temporary files swept, and folders created without recursive mkdir.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pendingCleanups, runCleanups } from '../../src/lifecycle/cleanup.js';
import { leftByDeadProcess, ownerPid } from '../../src/lifecycle/owner-pid.js';
import { AtomicFile, OutputError, ensureDirectory, writeFileAtomic } from '../../src/output/index.js';

const BUILT = path.resolve('dist/src/output/index.js');
if (!fs.existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first (\`npm test\` builds before vitest)`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-atomic-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = path.join(tmp, `case-${n++}`);
  fs.mkdirSync(d);
  return d;
};

function outputError(fn: () => void): OutputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OutputError);
    return e as OutputError;
  }
  throw new Error('expected an OutputError');
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('AtomicFile', () => {
  it('writes into a temporary file of the same folder and renames it on commit', () => {
    const dir = fresh();
    const final = path.join(dir, 'out.bin');
    const f = new AtomicFile(final);
    f.write(Buffer.from('hello '));
    f.write(Buffer.from('world'));
    expect(fs.existsSync(final)).toBe(false);
    expect(path.dirname(f.tempPath)).toBe(dir);
    expect(fs.readFileSync(f.tempPath, 'utf8')).toBe('hello world');
    f.commit();
    expect(fs.readFileSync(final, 'utf8')).toBe('hello world');
    expect(fs.readdirSync(dir)).toEqual(['out.bin']);
  });

  it('abort() leaves nothing, and an existing file under the final name untouched', () => {
    const dir = fresh();
    const final = path.join(dir, 'out.bin');
    fs.writeFileSync(final, 'previous run');
    const f = new AtomicFile(final);
    f.write(Buffer.from('half of a new one'));
    f.abort();
    f.abort();
    expect(fs.readdirSync(dir)).toEqual(['out.bin']);
    expect(fs.readFileSync(final, 'utf8')).toBe('previous run');
  });

  it('the interrupt cleanup (what the CLI runs on SIGINT/SIGTERM) removes unfinished files', () => {
    const dir = fresh();
    const before = pendingCleanups();
    const a = new AtomicFile(path.join(dir, 'a'));
    const b = new AtomicFile(path.join(dir, 'b'));
    a.write(Buffer.from('x'));
    expect(pendingCleanups()).toBe(before + 2);
    b.commit();
    expect(pendingCleanups()).toBe(before + 1);
    expect(runCleanups()).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['b']);
    expect(pendingCleanups()).toBe(0);
  });

  it('refuses an output that is an input: same path, another spelling, a hard link, a symbolic link, standard input', () => {
    const dir = fresh();
    const input = path.join(dir, 'capture.pcap');
    fs.writeFileSync(input, 'precious');
    fs.linkSync(input, path.join(dir, 'hard.pcap'));
    fs.symlinkSync(input, path.join(dir, 'soft.pcap'));
    const spellings = [input, path.join(dir, '.', 'x', '..', 'capture.pcap'), path.join(dir, 'hard.pcap'), path.join(dir, 'soft.pcap')];
    for (const out of spellings) {
      const e = outputError(() => new AtomicFile(out, { inputs: [input] }));
      expect(e.kind).toBe('same-as-input');
      expect(e.message).toContain('refusing to overwrite the input');
    }
    expect(fs.readFileSync(input, 'utf8')).toBe('precious');
    expect(fs.readdirSync(dir).sort()).toEqual(['capture.pcap', 'hard.pcap', 'soft.pcap']);
    // Another file with the same content is not the input.
    fs.writeFileSync(path.join(dir, 'copy.pcap'), 'precious');
    writeFileAtomic(path.join(dir, 'copy.pcap'), 'new', { inputs: [input] });
    // Standard input redirected from the output file (the built module, in a process of its own).
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { AtomicFile } from ${JSON.stringify(BUILT)};
      try { new AtomicFile(${JSON.stringify(input)}, { inputs: ['-'] }); console.log('accepted'); } catch (e) { console.log(e.kind); }
    `], { stdio: [fs.openSync(input, 'r'), 'pipe', 'pipe'], encoding: 'utf8' });
    expect(r.stdout.trim(), r.stderr).toBe('same-as-input');
  });

  it('keeps the permissions of the file it replaces, and replaces the target of a symbolic link', () => {
    const dir = fresh();
    const real = path.join(dir, 'real.txt');
    fs.writeFileSync(real, 'old');
    fs.chmodSync(real, 0o640);
    fs.symlinkSync(real, path.join(dir, 'link.txt'));
    writeFileAtomic(path.join(dir, 'link.txt'), 'new');
    expect(fs.lstatSync(path.join(dir, 'link.txt')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe('new');
    expect(fs.statSync(real).mode & 0o777).toBe(0o640);
  });

  it('writes a non-regular target (/dev/null) in place and refuses a folder', () => {
    writeFileAtomic('/dev/null', 'discarded');
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    const dir = fresh();
    expect(outputError(() => writeFileAtomic(dir, 'x')).kind).toBe('bad-path');
  });

  it('removes temporary files of processes that died mid-write, and only those', () => {
    const dir = fresh();
    const dead = `.out.bin.ctsim-${deadPid()}-0.tmp`;
    const alive = `.out.bin.ctsim-${process.ppid}-0.tmp`;
    const other = `.out.bin.other-123-0.tmp`;
    for (const f of [dead, alive, other]) fs.writeFileSync(path.join(dir, f), 'partial');
    writeFileAtomic(path.join(dir, 'out.bin'), 'complete');
    expect(fs.readdirSync(dir).sort()).toEqual([alive, other, 'out.bin'].sort());
  });

  it('reports write failures (ENOSPC) as OutputError io and leaves no file', () => {
    const f = new AtomicFile('/dev/full');
    const e = outputError(() => f.write(Buffer.alloc(10)));
    expect(e).toMatchObject({ kind: 'io', code: 'ENOSPC' });
    f.abort();
  });
});

describe('ensureDirectory', () => {
  it('creates missing folders one level at a time', () => {
    const dir = path.join(fresh(), 'a', 'b', 'c');
    ensureDirectory(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    ensureDirectory(dir);
  });

  it('fails at once, with the folder it could not create, under /proc and under a file (recursive mkdir loops forever there)', () => {
    // In a process of its own with a time limit: the failure mode being tested is a hang.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { ensureDirectory } from ${JSON.stringify(BUILT)};
      for (const d of ['/proc/ctsim-no-such/a/b', '/etc/hostname/a']) { try { ensureDirectory(d); console.log('created'); } catch (e) { console.log(e.kind + ': ' + e.message); } }
    `], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^bad-path: cannot create folder \/proc\/ctsim-no-such: ENOENT/),
      expect.stringMatching(/^bad-path: cannot create folder \/etc\/hostname\/a: ENOTDIR/),
    ]);
  });
});

describe('names of leftovers', () => {
  it('parse ctsim-<pid>- names and tell dead owners from live ones', () => {
    expect(ownerPid('ctsim-123-kd-r')).toBe(123);
    expect(ownerPid('ctsim-kd-abc')).toBeNull();
    expect(ownerPid('ctsim-replay-large-x')).toBeNull();
    expect(ownerPid('other-123-x')).toBeNull();
    expect(leftByDeadProcess(`ctsim-${deadPid()}-kd-r`)).toBe(true);
    expect(leftByDeadProcess(`ctsim-${process.ppid}-kd-r`)).toBe(false);
    expect(leftByDeadProcess(`ctsim-${process.pid}-kd-r`)).toBe(false);
    expect(leftByDeadProcess('ctsim-kd-r')).toBe(false);
  });
});
