// A 1,000,000-packet capture (100,000 short connections, 1,000 at a time, client ports coming
// back so entries re-open from TIME_WAIT) written by the streaming pcapng writer to a temp file,
// then replayed through the streaming reader: heap growth stays bounded, in-process and through
// the CLI (--compare, whose memory is capped with --max-old-space-size so growth would crash it),
// and the CLI writing into a pipe nobody reads holds only a few pieces of output. Throughput is
// printed for information only; speeds are measured by `npm run bench` (and the slow-pipe memory
// of a 10 M-packet replay by `npm run bench:slow-pipe`), never asserted here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/pcap/index.js';
import { ReplaySession } from '../../src/replay/session.js';
import { writeSyntheticCapture } from './captures.js';

const PACKETS = 1_000_000;
const HEAP_BUDGET = 64 * 1024 * 1024;
/** Only against a hang: a loaded 2-core machine took over 60 s (the default) for a million packets. */
const HANG_GUARD_MS = 600_000;
/** ctsim replay's own RSS is about 160 MiB on this capture; the rows alone would be ~150 MB more. */
const PIPE_RSS_BUDGET = 250 * 1024 * 1024;
const CLI = path.join(process.cwd(), 'dist/src/cli/main.js');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-replay-large-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, 'million.pcapng');

const perMinute = (n: number, ms: number) => Math.round((n / ms) * 60_000);

let genMs = 0;
let bytes = 0;
beforeAll(() => {
  const t = Date.now();
  bytes = writeSyntheticCapture(file, { packets: PACKETS }).bytes;
  genMs = Date.now() - t;
}, HANG_GUARD_MS);

describe('1,000,000 packets', () => {
  it('replays in constant memory, every packet accepted', () => {
    expect(fs.statSync(file).size).toBe(bytes);

    const before = heapAfterGc();
    let peak = 0;
    let gcMs = 0;
    const t = Date.now();
    const session = new ReplaySession({ a: { kernel: '6.18' } });
    for (const rec of readCaptureFile(file)) {
      session.push(rec);
      if (session.counts.packets % 200_000 === 0) {
        const g = Date.now();
        peak = Math.max(peak, heapAfterGc() - before);
        gcMs += Date.now() - g;
      }
    }
    const replayMs = Date.now() - t - gcMs;
    const c = session.counts;
    expect(c.packets).toBe(PACKETS);
    expect(c.outcomesA).toEqual({ ACCEPT: PACKETS });
    expect(c.duplicates).toBe(0);
    // ports cycle: the table holds at most one entry per client port in use
    expect(session.a.ct.count).toBeLessThanOrEqual(20_000);
    console.log(`replay 1M: capture ${(bytes / 1e6).toFixed(0)} MB written in ${genMs} ms; replayed in ${replayMs} ms = ${perMinute(PACKETS, replayMs).toLocaleString('en-US')} packets/min; heap growth ${(peak / 1048576).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(HEAP_BUDGET);
  }, HANG_GUARD_MS);

  it('the CLI streams it too: --compare with a 96 MiB old space', () => {
    const t = Date.now();
    const r = spawnSync(process.execPath, ['--max-old-space-size=96', CLI, 'replay', file, '--kernel', '6.18', '--compare', '6.1'], { encoding: 'utf8' });
    const ms = Date.now() - t;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`# ${PACKETS} packets, 0 verdicts differ`);
    console.log(`ctsim replay --compare, 1M packets: ${ms} ms end to end = ${perMinute(PACKETS, ms).toLocaleString('en-US')} packets/min`);
  }, HANG_GUARD_MS);

  it('the CLI into a pipe nobody reads holds a few pieces of output, not all of it; then every row arrives', async () => {
    // About 150 MB of rows. The reader stops reading at once; once ctsim is idle (its CPU time
    // no longer grows: it is waiting for the pipe), its peak RSS is taken. Without backpressure it
    // would have replayed everything into memory (~600 MB) before going idle.
    const child = spawn(process.execPath, [CLI, 'replay', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid!;
    const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const cpu = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
    let received = 0;
    let lines = 0;
    let tail = '';
    child.stdout.pause();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Idle: the same CPU time over 1 s, five times in a row (a loaded machine may starve it briefly).
    let idle = 0;
    let last = -1;
    while (idle < 5) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cpu();
      idle = now === last ? idle + 1 : 0;
      last = now;
    }
    const peak = status('VmHWM');
    console.log(`ctsim replay into a pipe nobody reads: peak RSS ${(peak / 1048576).toFixed(0)} MiB while blocked`);
    expect(peak).toBeLessThan(PIPE_RSS_BUDGET);
    child.stdout.on('data', (d: Buffer) => {
      received += d.length;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
      tail = (tail + d.toString('latin1')).slice(-200);
    });
    child.stdout.resume();
    expect(await exited).toBe(0);
    expect(lines).toBe(PACKETS + 4); // two header lines, a row per packet, the conntrack -S counters, the summary
    expect(tail.trimEnd().split('\n').at(-1)).toBe(`# ${PACKETS} packets: ${PACKETS} accept`);
    expect(received).toBeGreaterThan(100_000_000);
  }, HANG_GUARD_MS);
});
