// A 1,000,000-packet capture (100,000 short connections, 1,000 at a time, client ports coming
// back so entries re-open from TIME_WAIT) written by the streaming pcapng writer to a temp file,
// then replayed through the streaming reader: heap growth stays bounded, throughput is reported
// (the requirement is >= 1 M packets/min), in-process and through the CLI (--compare, whose
// memory is capped with --max-old-space-size so growth would crash it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/pcap/index.js';
import { ReplaySession } from '../../src/replay/session.js';
import { writeSyntheticCapture } from './captures.js';

const PACKETS = 1_000_000;
const HEAP_BUDGET = 64 * 1024 * 1024;
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

describe('1,000,000 packets', () => {
  it('replays in constant memory, at >= 1 M packets/min', () => {
    let t = Date.now();
    const { bytes } = writeSyntheticCapture(file, { packets: PACKETS });
    const genMs = Date.now() - t;
    expect(fs.statSync(file).size).toBe(bytes);

    const before = heapAfterGc();
    let peak = 0;
    let gcMs = 0;
    t = Date.now();
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
    expect(perMinute(PACKETS, replayMs)).toBeGreaterThan(1_000_000);
  });

  it('the CLI streams it too: --compare with a 96 MiB old space, timed end to end', () => {
    const t = Date.now();
    const r = spawnSync(process.execPath, ['--max-old-space-size=96', CLI, 'replay', file, '--kernel', '6.18', '--compare', '6.1'], { encoding: 'utf8' });
    const ms = Date.now() - t;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`# ${PACKETS} packets, 0 verdicts differ`);
    console.log(`ctsim replay --compare, 1M packets: ${ms} ms end to end = ${perMinute(PACKETS, ms).toLocaleString('en-US')} packets/min`);
    expect(perMinute(PACKETS, ms)).toBeGreaterThan(1_000_000);
  });
});
