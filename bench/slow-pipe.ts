// `npm run bench:slow-pipe [-- --packets N] [-- --rate MBPS] [-- --cli path/to/main.js]`:
// `ctsim replay` of an N-packet synthetic capture (default 10,000,000) whose standard output goes
// into a pipe read at a limited rate (default 8 MB/s, slower than ctsim writes rows). The child's
// memory is sampled from /proc every 100 ms; the report gives its peak RSS (VmHWM), how much it
// printed and the wall time. The requirement (issue 18): the peak stays under 300 MB.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCapture } from './synthetic-capture.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const packets = Number(opt('--packets', '10000000'));
const rateBytesPerSec = Number(opt('--rate', '8')) * 1e6;
const cli = opt('--cli', join(process.cwd(), 'dist/src/cli/main.js'));
const capture = opt('--capture', '');

function kib(field: string, pid: number): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-slow-pipe-'));
  try {
    const file = capture || join(dir, 'synthetic.pcapng');
    if (!capture || !existsSync(file)) {
      process.stderr.write(`writing a ${packets.toLocaleString('en-US')}-packet capture to ${file}...\n`);
      writeSyntheticCapture(file, { packets });
    }
    process.stderr.write(`capture: ${(statSync(file).size / 1e6).toFixed(0)} MB; ctsim replay into a pipe read at ${(rateBytesPerSec / 1e6).toFixed(1)} MB/s\n`);
    const t0 = Date.now();
    const child = spawn(process.execPath, [cli, 'replay', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = child.pid!;
    let peakRss = 0;
    let hwm = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, kib('VmRSS', pid));
      hwm = Math.max(hwm, kib('VmHWM', pid));
    }, 100);
    let received = 0;
    let lines = 0;
    let last = '';
    // The slow reader: after each chunk, pause for as long as the rate allows.
    child.stdout!.on('data', (chunk: Buffer) => {
      received += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      last = chunk.toString('utf8').trimEnd().split('\n').at(-1) ?? last;
      const due = t0 + (received / rateBytesPerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) {
        child.stdout!.pause();
        setTimeout(() => child.stdout!.resume(), wait);
      }
    });
    // 'close', not 'exit': the pipe may still hold rows when the child has exited.
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    clearInterval(sampler);
    const secs = (Date.now() - t0) / 1000;
    const report = {
      packets, status, printedBytes: received, lines, lastLine: last, wallSeconds: Number(secs.toFixed(1)),
      readRateMBps: Number((received / secs / 1e6).toFixed(2)), peakRssMB: Number((Math.max(peakRss, hwm) / 1048576).toFixed(1)),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (status !== 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`slow-pipe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
