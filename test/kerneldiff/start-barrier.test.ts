// The scenario lab's start barrier (src/kerneldiff/real/common.py start_clock): a timed program
// started with `--t0 stdin` says it is ready and waits; time 0 comes on its standard input once
// every program is ready, so a program slow to start shifts the run instead of running late.
// Needs python3 only (skipped with the reason otherwise).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { realScriptsDirectory } from '../../src/kerneldiff/scenario-lab.js';
import { missingPrograms, skipTest } from '../support/prerequisites.js';

const unavailable = missingPrograms(['python3']);

/** A program that starts its clock as app.py and inject.py do, then reports the scenario time it reads. */
function startProgram(t0Arg: string) {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(realScriptsDirectory())}); from common import log, start_clock; c = start_clock(${JSON.stringify(t0Arg)}); log("now", now=c.now())`;
  const child = spawn('python3', ['-B', '-c', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Array<{ ev: string; now?: number; t0?: number }> = [];
  let stderr = '';
  let buf = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as { ev: string });
      buf = buf.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const until = async (ev: string) => {
    while (!lines.some((l) => l.ev === ev)) await new Promise<void>((r) => waiters.push(r));
  };
  return { child, lines, exited, until, stderr: () => stderr };
}

describe('the lab programs\' start barrier', () => {
  it('says ready, waits for time 0 on its standard input, and counts from it', async () => {
    if (unavailable) skipTest(unavailable);
    const p = startProgram('stdin');
    await p.until('ready');
    // Ready, and nothing more until time 0 arrives: its timeline has not begun.
    expect(p.lines.map((l) => l.ev)).toEqual(['ready']);
    const t0 = Date.now() / 1000 - 1000; // time 0 long past: the clock must read about 1000 s
    p.child.stdin.write(`${t0}\n`);
    expect(await p.exited).toBe(0);
    expect(p.lines.map((l) => l.ev)).toEqual(['ready', 'go', 'now']);
    expect(p.lines[1].t0).toBe(t0);
    expect(p.lines[2].now).toBeGreaterThanOrEqual(1000);
    expect(p.lines[2].now).toBeLessThan(1100);
  });

  it('takes time 0 from the command line as before', async () => {
    if (unavailable) skipTest(unavailable);
    const p = startProgram(String(Date.now() / 1000 - 500));
    expect(await p.exited).toBe(0);
    expect(p.lines.map((l) => l.ev)).toEqual(['ready', 'now']);
    expect(p.lines[1].now).toBeGreaterThanOrEqual(500);
  });

  it('fails with a message when its standard input closes without a time 0', async () => {
    if (unavailable) skipTest(unavailable);
    const p = startProgram('stdin');
    await p.until('ready');
    p.child.stdin.end();
    expect(await p.exited).not.toBe(0);
    expect(p.stderr()).toContain('no time 0 on standard input');
  });
});
