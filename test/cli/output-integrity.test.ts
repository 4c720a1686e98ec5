// Nothing lost, nothing left behind (issue 18), end to end on the built CLI:
//   - every row up to a capture error is printed, then the error; a capture cut off in its last
//     packet (a killed `tcpdump -w`) is replayed with a warning row and exits 0;
//   - --out never overwrites the input (any spelling, hard links) and appears under its name only
//     when the run succeeds: a failed, interrupted (SIGINT/SIGTERM) or cut-short (EPIPE) run
//     leaves no file, not even a temporary one;
//   - standard output errors end the run with one line (ENOSPC) or quietly (EPIPE);
//   - a repeated one-value option, or an output path under /proc, is a usage error (exit 2), at once;
//   - whatever replays also writes back with --out (lengths, timestamps), and an oversized block
//     is refused before it is buffered.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySink, PcapWriter, PcapngWriter, readCaptureBytes } from '../../src/pcap/index.js';
import { LinkType } from '../../src/wire/index.js';
import { challengeAckReuseCapture } from '../../src/scenarios/reuse-capture.js';
import { concat, i64, ngEpb, ngIdb, ngShb, u32, u8 } from '../pcap/fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` builds before vitest).`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-integrity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => {
  const d = path.join(tmp, `d${dirs++}`);
  fs.mkdirSync(d);
  return d;
};

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ctsim(args: string[], o: { cwd?: string; input?: Uint8Array; stdin?: number; stdout?: number; timeout?: number } = {}): Run {
  const env = { ...process.env };
  delete env.CTSIM_DEBUG;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: o.cwd ?? freshDir(), env, encoding: 'utf8', input: o.input, timeout: o.timeout ?? 30_000,
    stdio: [o.stdin ?? 'pipe', o.stdout ?? 'pipe', 'pipe'],
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr };
}

const STACK = /^\s+at |node:internal|Uncaught/m;

/** The example capture (20 packets) as pcapng blocks we can cut and corrupt. */
function examplePcapng(): { bytes: Uint8Array; blockStarts: number[] } {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { application: 'integrity test' });
  const id = w.addInterface({ linkType: LinkType.RAW, name: 'app/eth0' });
  const starts: number[] = [];
  for (const p of challengeAckReuseCapture()) {
    starts.push(w.bytesWritten);
    w.writePacket({ interfaceId: id, timestampNs: 1_700_000_000_000_000_000n + BigInt(p.timeNs), data: p.bytes });
  }
  w.close();
  return { bytes: sink.bytes(), blockStarts: starts };
}

function examplePcap(): { bytes: Uint8Array; recordStarts: number[] } {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.RAW });
  const starts: number[] = [];
  for (const p of challengeAckReuseCapture()) {
    starts.push(w.bytesWritten);
    w.writePacket(1_700_000_000_000_000_000n + BigInt(p.timeNs), p.bytes);
  }
  w.close();
  return { bytes: sink.bytes(), recordStarts: starts };
}

const PACKETS = challengeAckReuseCapture().length;
const rowsOf = (stdout: string) => stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d{6}\s/.test(l));

function write(dir: string, name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

describe('rows are never lost', () => {
  it('a corrupt block after 7 packets: the 7 rows, then the error (exit 1); --json likewise', () => {
    const { bytes, blockStarts } = examplePcapng();
    const bad = Uint8Array.from(bytes);
    new DataView(bad.buffer).setUint32(blockStarts[7] + 4, 13, true); // Block Total Length not a multiple of 4
    const dir = freshDir();
    const file = write(dir, 'bad.pcapng', bad);
    const r = ctsim(['replay', file]);
    expect(r.status).toBe(1);
    expect(rowsOf(r.stdout).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.stderr).toMatch(/^ctsim: CaptureError \(bad-block-length\): .*Block Total Length 13/);
    expect(r.stderr).not.toMatch(STACK);
    const j = ctsim(['replay', file, '--json']);
    expect(j.status).toBe(1);
    expect(j.stdout.trim().split('\n').map((l) => JSON.parse(l).n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a pcap whose 12th record claims 1 GiB: 11 rows, then the error', () => {
    const { bytes, recordStarts } = examplePcap();
    const bad = Uint8Array.from(bytes);
    new DataView(bad.buffer).setUint32(recordStarts[11] + 8, 1 << 30, true);
    const r = ctsim(['replay', write(freshDir(), 'bad.pcap', bad)]);
    expect(r.status).toBe(1);
    expect(rowsOf(r.stdout)).toHaveLength(11);
    expect(r.stderr).toMatch(/record-too-large/);
  });

  it.each(['pcapng', 'pcap'])('a %s cut off inside its last packet (a killed tcpdump): every complete packet replayed, a warning row, exit 0', (format) => {
    const { bytes, starts } = format === 'pcapng' ? { bytes: examplePcapng().bytes, starts: examplePcapng().blockStarts } : { bytes: examplePcap().bytes, starts: examplePcap().recordStarts };
    const cut = bytes.subarray(0, starts[PACKETS - 1] + 30);
    const dir = freshDir();
    const file = write(dir, `cut.${format}`, cut);
    const r = ctsim(['replay', file, '--out', path.join(dir, 'annotated.pcapng')]);
    expect(r.status, r.stderr).toBe(0);
    expect(rowsOf(r.stdout)).toHaveLength(PACKETS - 1);
    expect(r.stdout).toMatch(new RegExp(`^\\s+${PACKETS}  WARNING capture cut off: input ends inside a pcap(ng)? (record|block).*truncated-record at byte offset ${starts[PACKETS - 1]}\\); the incomplete last record is not replayed$`, 'm'));
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^# ${PACKETS - 1} packets: .*the capture is cut off in its last record \\(not replayed\\); annotated capture written to`));
    expect([...readCaptureBytes(fs.readFileSync(path.join(dir, 'annotated.pcapng')))]).toHaveLength(PACKETS - 1);
    const j = ctsim(['replay', file, '--json', '--compare', '6.1']);
    expect(j.status).toBe(0);
    const objects = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(objects.find((o) => o.warning)).toMatchObject({ n: PACKETS, warning: 'truncated-record', offset: starts[PACKETS - 1] });
    expect(objects.at(-1).summary).toMatchObject({ packets: PACKETS - 1, cutOff: { offset: starts[PACKETS - 1] } });
  });
});

describe('--out never destroys the input and is never left half-written', () => {
  it('refuses the input as output: same path, another spelling, a hard link (exit 2, input intact)', () => {
    const { bytes } = examplePcapng();
    const dir = freshDir();
    const input = write(dir, 'in.pcapng', bytes);
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.linkSync(input, path.join(dir, 'hard.pcapng'));
    for (const out of [input, path.join(dir, 'sub', '..', 'in.pcapng'), './in.pcapng', path.join(dir, 'hard.pcapng')]) {
      const r = ctsim(['replay', input, '--out', out], { cwd: dir });
      expect(r.status, `${out}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^ctsim: OutputError \(same-as-input\): output .* is the input .*refusing to overwrite the input/);
      expect(r.stdout).toBe('');
      expect(Buffer.compare(fs.readFileSync(input), Buffer.from(bytes))).toBe(0);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['hard.pcapng', 'in.pcapng', 'sub']);
    // ... and standard input redirected from the output file.
    const fd = fs.openSync(input, 'r');
    try {
      const r = ctsim(['replay', '-', '--out', 'in.pcapng'], { cwd: dir, stdin: fd });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/same-as-input\): output in\.pcapng is the input standard input/);
    } finally {
      fs.closeSync(fd);
    }
    expect(Buffer.compare(fs.readFileSync(input), Buffer.from(bytes))).toBe(0);
  });

  it('a failed run (corrupt capture) leaves no --out file, not even a temporary one', () => {
    const { bytes, blockStarts } = examplePcapng();
    const dir = freshDir();
    const r = ctsim(['replay', write(dir, 'bad.pcapng', bytes.subarray(0, blockStarts[3] + 2).slice().fill(0xee, blockStarts[2])), '--out', 'out/annotated.pcapng'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(['bad.pcapng', 'out']);
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual([]);
  });

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s while replaying from a pipe: exit %d, no --out file under any name; rows so far were printed', async (signal, status) => {
    const { bytes, blockStarts } = examplePcapng();
    const dir = freshDir();
    const child = spawn(process.execPath, [CLI, 'replay', '-', '--out', 'annotated.pcapng'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
    child.stdin.write(bytes.subarray(0, blockStarts[10]));
    // Wait until the first rows are out (the replay is under way, the output is being written).
    for (let i = 0; i < 300 && rowsOf(stdout).length < 9; i++) await new Promise((r) => setTimeout(r, 50));
    expect(rowsOf(stdout).length).toBeGreaterThanOrEqual(9);
    const names = fs.readdirSync(dir);
    expect(names).not.toContain('annotated.pcapng');
    expect(names).toEqual([expect.stringMatching(/^\.annotated\.pcapng\.ctsim-\d+-\d+\.tmp$/)]);
    child.kill(signal);
    const [code] = await exited;
    expect(code, stderr).toBe(status);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(stderr).not.toMatch(STACK);
  });

  it('the --out file appears only when the replay has finished', async () => {
    const { bytes, blockStarts } = examplePcapng();
    const dir = freshDir();
    const child = spawn(process.execPath, [CLI, 'replay', '-', '--out', 'annotated.pcapng'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.write(bytes.subarray(0, blockStarts[10]));
    for (let i = 0; i < 300 && rowsOf(stdout).length < 9; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(path.join(dir, 'annotated.pcapng'))).toBe(false);
    child.stdin.end(bytes.subarray(blockStarts[10]));
    expect(await exited).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['annotated.pcapng']);
    expect([...readCaptureBytes(fs.readFileSync(path.join(dir, 'annotated.pcapng')))]).toHaveLength(PACKETS);
  });
});

describe('standard output', () => {
  it('a full disk (/dev/full): one line, exit 1, no stack trace, no --out file', () => {
    const dir = freshDir();
    const input = write(dir, 'in.pcapng', examplePcapng().bytes);
    const fd = fs.openSync('/dev/full', 'w');
    try {
      const r = ctsim(['replay', input, '--out', 'annotated.pcapng'], { cwd: dir, stdout: fd });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^ctsim: cannot write standard output: ENOSPC \(no space left on device\)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(STACK);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readdirSync(dir)).toEqual(['in.pcapng']);
  });

  it('a reader that goes away (| head): quiet exit 0; with --out, exit 1 and no file', async () => {
    const big = path.join(freshDir(), 'big.pcapng');
    // Enough rows that the pipe fills up long before the end.
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const id = w.addInterface({ linkType: LinkType.RAW });
    const pkts = challengeAckReuseCapture();
    for (let i = 0; i < 20_000; i++) w.writePacket({ interfaceId: id, timestampNs: BigInt(i) * 1000n, data: pkts[i % pkts.length].bytes });
    w.close();
    fs.writeFileSync(big, sink.bytes());
    for (const out of [[], ['--out', 'annotated.pcapng']]) {
      const dir = freshDir();
      const child = spawn(process.execPath, [CLI, 'replay', big, ...out], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy(); // like `head` exiting after its first lines
      const code = await exited;
      if (out.length === 0) {
        expect(code, stderr).toBe(0);
        expect(stderr).toBe('');
      } else {
        expect(code).toBe(1);
        expect(stderr).toMatch(/^ctsim: standard output was closed before the run ended; stopped, and what the run had started .* was removed\n$/);
      }
      expect(fs.readdirSync(dir)).toEqual([]);
    }
  });
});

describe('arguments', () => {
  it.each([
    [['replay', 'x.pcap', '--kernel', '6.1', '--kernel', '6.18'], /--kernel was given 2 times \(6\.1, 6\.18\); give it once/],
    [['replay', 'x.pcap', '--compare', '6.1', '--compare', '5.4'], /--compare was given 2 times/],
    [['replay', 'x.pcap', '--out', 'a.pcapng', '--out', 'b.pcapng'], /--out was given 2 times/],
    [['replay', 'x.pcap', '--dedup-window', '1', '--dedup-window', '2'], /--dedup-window was given 2 times/],
    [['fuzz', '--seed', '1', '--seed', '2', '--count', '1'], /--seed was given 2 times/],
    [['scenario', 'port-collision', '--kernel', '6.1', '--kernel', '6.18', '--no-files'], /--kernel was given 2 times/],
  ])('%j is a usage error (exit 2) naming the option', (args, message) => {
    const r = ctsim(args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^ctsim: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error|undefined/);
  });

  it('repeatable options still repeat', () => {
    const dir = freshDir();
    const input = write(dir, 'in.pcapng', examplePcapng().bytes);
    const r = ctsim(['replay', input, '--sysctl', 'nf_conntrack_tcp_be_liberal=1', '--sysctl', 'nf_conntrack_tcp_loose=1']);
    expect(r.status, r.stderr).toBe(0);
  });

  it.each([
    [['demo', '--out', '/proc/ctsim-test/demo.pcapng']],
    [['seed', '--out-dir', '/proc/ctsim-test/pcaps', '--no-matrix']],
    [['fuzz', '--count', '2', '--corpus', '/proc/ctsim-test/corpus']],
    [['matrix', '--kernels', '6.18', '--mitigations', 'none', '--out', '/proc/ctsim-test/m.txt']],
    [['scenario', 'half-close-leak', '--out-dir', '/proc/ctsim-test']],
  ])('an output under /proc (%j) is a clear usage error at once, never a hang', (args) => {
    const r = ctsim(args, { timeout: 20_000 });
    expect(r.signal, 'the command hung').toBeNull();
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^ctsim: OutputError \(bad-path\): cannot create folder \/proc\/ctsim-test: ENOENT/);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('what replays also writes back', () => {
  it('original lengths below the captured length, caplen above snaplen, whole-second and offset timestamps', () => {
    const syn = challengeAckReuseCapture()[0].bytes;
    const file = concat(
      ngShb(true),
      ngIdb(true, LinkType.RAW, 16, [[9, u8(0)]]), // snaplen 16, whole seconds
      ngIdb(true, LinkType.RAW, 0, [[14, i64(-5n, true)], [9, u8(3)]]), // ms, 5 s before the epoch
      ngEpb(true, { interfaceId: 0, units: (1n << 64n) - 1n, data: syn, originalLength: 20 }),
      ngEpb(true, { interfaceId: 1, units: 1n, data: syn, originalLength: syn.length }),
    );
    const dir = freshDir();
    const input = write(dir, 'odd.pcapng', file);
    const r = ctsim(['replay', input, '--out', 'copy.pcapng'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const before = [...readCaptureBytes(file)];
    const after = [...readCaptureBytes(fs.readFileSync(path.join(dir, 'copy.pcapng')))];
    const essence = (x: typeof before[number]) => [Buffer.from(x.data).toString('hex'), x.timestampNs, x.originalLength, x.iface.snaplen, x.iface.tsresol, x.iface.tsoffsetSec];
    expect(after.map(essence)).toEqual(before.map(essence));
    expect(before[1].timestampNs).toBe(-4_999_000_000n);
  });

  it('a block claiming 256 MiB is refused at once, with the rows before it printed', () => {
    const { bytes, blockStarts } = examplePcapng();
    const huge = concat(bytes.subarray(0, blockStarts[5]), u32(6, true), u32(256 * 1024 * 1024, true), new Uint8Array(64));
    const r = ctsim(['replay', write(freshDir(), 'huge.pcapng', huge)]);
    expect(r.status).toBe(1);
    expect(rowsOf(r.stdout)).toHaveLength(5);
    expect(r.stderr).toMatch(/record-too-large.*claims 268435456 bytes; blocks are at most 393248 bytes/);
  });
});
