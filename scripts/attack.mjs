#!/usr/bin/env node
// The hostile-user attack of issue 18, repeatable: corrupt captures (truncations, bit flips,
// overwritten bytes, bad and huge block lengths, spliced blocks), captures of malformed packets
// (the fuzzer's corruptions and blind byte mutations) and bad argument sets, each run through the
// built CLI (`ctsim replay FILE --out OUT` in text, --json or --compare mode), and every outcome
// classified:
//   crash        killed by a signal, timed out (a hang), exit 70, or a stack trace on stderr
//   clean error  exit 1 or 2 with one `ctsim: ...` line
//   ok           exit 0
// and checked: rows printed before a capture error (= the packets the reader returns before it),
// a cut-off last packet (a warning row, exit 0), the --out copy (reads back the same packets,
// timestamps and lengths) and that a failed run leaves no --out file, not even a temporary one.
//
//   npm run build && node scripts/attack.mjs [--captures 3000] [--malformed 600] [--jobs 2] [--seed 1] [--json out.json]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { MemorySink, PcapWriter, PcapngWriter, CaptureError, readCaptureBytes } = await dist('src/pcap/index.js');
const { CaseGenerator } = await dist('src/fuzz/generator.js');
const { LinkType } = await dist('src/wire/index.js');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const CAPTURES = Number(opt('--captures', '3000'));
const MALFORMED = Number(opt('--malformed', '600'));
const JOBS = Number(opt('--jobs', '2'));
const SEED = Number(opt('--seed', '1'));
const CLI = path.resolve(opt('--cli', path.join(ROOT, 'dist/src/cli/main.js')));
const JSON_OUT = opt('--json', '');
const TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------- deterministic randomness

let state = SEED >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000;
};
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (xs) => xs[int(0, xs.length - 1)];

// ---------------------------------------------------------------- seed captures

const seedFiles = fs.readdirSync(path.join(ROOT, 'pcaps')).filter((f) => f.endsWith('.pcapng')).map((f) => path.join(ROOT, 'pcaps', f));
const seedRecords = seedFiles.map((f) => [...readCaptureBytes(fs.readFileSync(f))]);

function asPcap(records, nanosecond) {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: records[0]?.iface.linkType ?? LinkType.RAW, nanosecond });
  for (const r of records) w.writePacket(r.timestampNs, r.data, r.originalLength);
  w.close();
  return sink.bytes();
}

/** A big-endian pcapng (our writer only writes little-endian): SHB, one IDB, EPBs. */
function asBigEndianPcapng(records) {
  const parts = [];
  const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
  const block = (type, body) => {
    const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
    const total = 12 + body.length + pad.length;
    parts.push(u32(type), u32(total), body, pad, u32(total));
  };
  block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]));
  block(1, Buffer.concat([u16(records[0]?.iface.linkType ?? 101), u16(0), u32(0), u16(9), u16(1), Buffer.from([9, 0, 0, 0]), u32(0)]));
  for (const r of records) {
    const d = Buffer.from(r.data);
    block(6, Buffer.concat([u32(0), u32(Number(r.timestampNs >> 32n)), u32(Number(r.timestampNs & 0xffffffffn)), u32(d.length), u32(r.originalLength), d, Buffer.alloc((4 - (d.length % 4)) % 4)]));
  }
  return Uint8Array.from(Buffer.concat(parts));
}

const bases = [];
seedFiles.forEach((f, i) => {
  bases.push({ name: path.basename(f), bytes: Uint8Array.from(fs.readFileSync(f)) });
  bases.push({ name: `${path.basename(f, '.pcapng')}.us.pcap`, bytes: asPcap(seedRecords[i], false) });
  bases.push({ name: `${path.basename(f, '.pcapng')}.ns.pcap`, bytes: asPcap(seedRecords[i], true) });
  bases.push({ name: `${path.basename(f, '.pcapng')}.be.pcapng`, bytes: asBigEndianPcapng(seedRecords[i]) });
});

// ---------------------------------------------------------------- record/block boundaries

function boundaries(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  if (bytes.length < 24) return out;
  const magic = v.getUint32(0, true);
  if (magic === 0x0a0d0d0a) {
    const le = v.getUint32(8, true) === 0x1a2b3c4d;
    for (let at = 0; at + 8 <= bytes.length;) {
      const total = v.getUint32(at + 4, le);
      out.push({ at, lengthAt: at + 4, le, kind: 'block' });
      if (total < 12 || at + total > bytes.length) break;
      at += total;
    }
  } else {
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    for (let at = 24; at + 16 <= bytes.length;) {
      const cap = v.getUint32(at + 8, le);
      out.push({ at, lengthAt: at + 8, le, kind: 'record' });
      at += 16 + cap;
    }
  }
  return out;
}

const setU32 = (bytes, at, value, le) => new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value >>> 0, le);

// ---------------------------------------------------------------- mutations

const MUTATIONS = {
  'truncate-anywhere': (b) => b.slice(0, int(0, b.length - 1)),
  'truncate-last-packet': (b) => {
    const bs = boundaries(b);
    const last = bs.at(-1);
    return last ? b.slice(0, int(last.at + 1, b.length - 1)) : b.slice(0, b.length - 1);
  },
  'bit-flips': (b) => {
    const c = b.slice();
    for (let i = int(1, 8); i > 0; i--) c[int(0, c.length - 1)] ^= 1 << int(0, 7);
    return c;
  },
  'byte-overwrite': (b) => {
    const c = b.slice();
    const at = int(0, c.length - 1);
    for (let i = 0; i < int(1, 16) && at + i < c.length; i++) c[at + i] = int(0, 255);
    return c;
  },
  'bad-length': (b) => {
    const c = b.slice();
    const bs = boundaries(c);
    const x = pick(bs);
    if (!x) return c;
    const v = new DataView(c.buffer).getUint32(x.lengthAt, x.le);
    setU32(c, x.lengthAt, pick([v + 1, v + 2, v - 4, v + 4, 0, 4, 8, 11, int(0, 0xffff), int(0, 0xffffffff)]), x.le);
    return c;
  },
  'huge-length': (b) => {
    const c = b.slice();
    const x = pick(boundaries(c));
    if (!x) return c;
    setU32(c, x.lengthAt, pick([256 * 1024 * 1024, 1 << 30, 0x7ffffffc, 0xfffffffc, 262_148, 400_000]), x.le);
    return c;
  },
  'huge-unknown-block': (b) => {
    // An uninterpreted pcapng block declaring 64-256 MiB, then the rest of the file (pcap: garbage).
    const bs = boundaries(b);
    const x = pick(bs.slice(1)) ?? bs[0];
    const le = x?.le ?? true;
    const head = new Uint8Array(8);
    setU32(head, 0, 0x00000bad, le);
    setU32(head, 4, pick([64, 128, 256]) * 1024 * 1024, le);
    const at = x ? x.at : b.length;
    return Uint8Array.from(Buffer.concat([b.subarray(0, at), head, b.subarray(at)]));
  },
  'splice': (b) => {
    const bs = boundaries(b);
    if (bs.length < 3) return b.slice(0, -1);
    const i = int(1, bs.length - 2);
    const j = int(i + 1, bs.length - 1);
    return rand() < 0.5
      ? Uint8Array.from(Buffer.concat([b.subarray(0, bs[i].at), b.subarray(bs[j].at)])) // drop blocks (maybe the IDB)
      : Uint8Array.from(Buffer.concat([b.subarray(0, bs[j].at), b.subarray(bs[i].at)])); // repeat blocks (maybe an SHB)
  },
  'trailer-mismatch': (b) => {
    const c = b.slice();
    const x = pick(boundaries(c).filter((y) => y.kind === 'block'));
    if (!x) return MUTATIONS['bit-flips'](b);
    const total = new DataView(c.buffer).getUint32(x.lengthAt, x.le);
    if (x.at + total <= c.length) setU32(c, x.at + total - 4, total + 4, x.le);
    return c;
  },
  'interface-id': (b) => {
    const c = b.slice();
    const x = pick(boundaries(c).filter((y) => y.kind === 'block' && new DataView(c.buffer).getUint32(y.at, y.le) === 6));
    if (!x) return MUTATIONS['byte-overwrite'](b);
    setU32(c, x.at + 8, int(1, 0xffffffff), x.le);
    return c;
  },
};

// ---------------------------------------------------------------- malformed packets

function malformedCaptures(n) {
  const out = [];
  const modes = ['blind', 'structured'];
  for (let i = 0; out.length < n; i++) {
    const mode = modes[i % 2];
    const g = new CaseGenerator({ kernel: '6.18', sysctls: [], seed: SEED * 7919 + i, mode, maxPackets: 24 });
    const c = g.generate(i);
    const sink = new MemorySink();
    const w = rand() < 0.5 ? new PcapWriter(sink, { linkType: LinkType.RAW }) : null;
    const ng = w ? null : new PcapngWriter(sink);
    const id = ng?.addInterface({ linkType: LinkType.RAW, snaplen: 0 });
    c.packets.forEach((p, k) => (w ? w.writePacket(BigInt(k) * 1000n, p.bytes) : ng.writePacket({ interfaceId: id, timestampNs: BigInt(k) * 1000n, data: p.bytes })));
    (w ?? ng).close();
    out.push({ name: `malformed-${mode}-${i}`, bytes: sink.bytes(), packets: c.packets.length });
  }
  return out;
}

// ---------------------------------------------------------------- bad arguments

function badArgumentSets(dir, sample) {
  const input = path.join(dir, 'sample.pcapng');
  fs.writeFileSync(input, sample);
  fs.linkSync(input, path.join(dir, 'hardlink.pcapng'));
  fs.mkdirSync(path.join(dir, 'a-folder'));
  const sets = [
    [], ['nope'], ['--nope'], ['replay'], ['replay', input, 'extra'], ['replay', path.join(dir, 'missing.pcap')], ['replay', path.join(dir, 'a-folder')],
    ['replay', input, '--kernel'], ['replay', input, '--kernel', '9.99'], ['replay', input, '--kernel', 'linux'], ['replay', input, '--kernel', '6.1', '--kernel', '6.18'],
    ['replay', input, '--compare', '6.1', '--compare', '6.18'], ['replay', input, '--compare', 'x'], ['replay', input, '--sysctl', 'x'], ['replay', input, '--sysctl', 'nf_conntrack_tcp_be_liberal=7'],
    ['replay', input, '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1', '--kernel', '5.4'], ['replay', input, '--sysctl', '=1'], ['replay', input, '--compare-sysctl', 'bogus=1'],
    ['replay', input, '--hook', 'forward'], ['replay', input, '--seed', 'abc'], ['replay', input, '--seed', '1.5'], ['replay', input, '--seed', '1', '--seed', '2'],
    ['replay', input, '--dedup-window', '-1'], ['replay', input, '--dedup-window', 'x'], ['replay', input, '--dedup-window', '1', '--dedup-window', '2'], ['replay', input, '--iface'],
    ['replay', input, '--out'], ['replay', input, '--out', input], ['replay', input, '--out', path.join(dir, 'hardlink.pcapng')], ['replay', input, '--out', path.join(dir, '.', 'sample.pcapng')],
    ['replay', input, '--out', path.join(dir, 'a-folder')], ['replay', input, '--out', '/proc/ctsim-attack/x.pcapng'], ['replay', input, '--out', '/dev/full'], ['replay', input, '--out', '/etc/hostname/x.pcapng'],
    ['replay', input, '--out', 'a.pcapng', '--out', 'b.pcapng'], ['replay', input, '--json', '--json'], ['replay', input, '--explain', 'yes'],
    ['demo', '--out', '/proc/ctsim-attack/demo.pcapng'], ['demo', '--out', path.join(dir, 'a-folder')], ['demo', '--reuse-out', '/proc/x/y'], ['demo', '--out', 'a', '--out', 'b'],
    ['seed', '--out-dir', '/proc/ctsim-attack'], ['seed', '--out-dir', input], ['seed', '--out-dir', 'a', '--out-dir', 'b'],
    ['scenario'], ['scenario', 'nope'], ['scenario', 'port-collision', '--kernel', '1.0'], ['scenario', 'port-collision', '--kernel', '6.1', '--kernel', '6.18'],
    ['scenario', 'port-collision', '--idle-timeout', '0'], ['scenario', 'port-collision', '--idle-timeout', 'x'], ['scenario', 'port-collision', '--seed', '-1'],
    ['scenario', 'port-collision', '--reconnect-at', '10', '--app-close-at', '20'], ['scenario', 'port-collision', '--isn', 'middle'], ['scenario', 'port-collision', '--port-choice', 'random'],
    ['scenario', 'half-close-leak', '--out-dir', '/proc/ctsim-attack'], ['scenario', 'half-close-leak', '--sysctl', 'net.ipv4.bogus=1'], ['scenario', 'half-close-leak', '--sysctl', 'nope'],
    ['matrix', '--kernels', 'x'], ['matrix', '--mitigations', 'x'], ['matrix', '--format', 'xml'], ['matrix', '--out', '/proc/ctsim-attack/m.txt', '--kernels', '6.18'],
    ['fuzz', '--count', '0'], ['fuzz', '--count', 'x'], ['fuzz', '--count', '-5'], ['fuzz', '--seed', '-1'], ['fuzz', '--seed', '1', '--seed', '2'], ['fuzz', '--mode', 'x'],
    ['fuzz', '--max-packets', '0'], ['fuzz', '--max-payload', '100000'], ['fuzz', '--time-budget', '0'], ['fuzz', '--time-budget', 'x'], ['fuzz', '--count', '2', '--corpus', '/proc/ctsim-attack/c'],
    ['fuzz', '--count', '2', '--out', ''], ['fuzz', '--kernel', 'nope'], ['fuzz', '--sysctl', 'nope=1'],
    ['kernel-diff', '--captures', dir], ['kernel-diff', '--scenario', 'nope'], ['kernel-diff', '--scenario', 'both', '--cases', dir], ['kernel-diff', '--fuzz-count', '0'],
    // (`kernel-diff --fuzz-count 100000` alone is a valid hour-long campaign, not a bad argument set.)
    ['kernel-diff', '--fuzz-count', '100000', '--jobs', '0'], ['kernel-diff', '--fuzz-count', '1.5'], ['kernel-diff', '--cases', path.join(dir, 'a-folder')], ['kernel-diff', '--cases', path.join(dir, 'missing')], ['kernel-diff', '--mode', 'x'],
    ['--version', '--version'], ['--help', 'replay'], ['replay', '--help'],
  ];
  return sets;
}

// ---------------------------------------------------------------- running and classifying

function runCli(argv, cwd) {
  return new Promise((resolve) => {
    const child = spawn('nice', ['-n', '10', process.execPath, CLI, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CTSIM_DEBUG: '' } });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const STACK = /^\s+at |node:internal|Uncaught|^\w*Error: /m;
function classify(r) {
  if (r.signal) return r.signal === 'SIGKILL' ? 'crash: hang (killed after 60 s)' : `crash: signal ${r.signal}`;
  if (r.code === 70 || /internal error/.test(r.stderr)) return 'crash: internal error';
  if (STACK.test(r.stderr)) return 'crash: stack trace';
  if (r.code === 0) return 'ok';
  if ((r.code === 1 || r.code === 2) && /^ctsim: /.test(r.stderr)) return `clean error (exit ${r.code})`;
  return `other (exit ${r.code})`;
}

/** What the reader makes of the bytes: packets before the error (or all), the error, a cut-off end. */
function expectation(bytes) {
  const records = [];
  let cut = null;
  try {
    for (const r of readCaptureBytes(bytes, { onTruncatedEnd: (e) => (cut = e) })) records.push(r);
    return { records, error: null, cut };
  } catch (e) {
    if (e instanceof CaptureError) return { records, error: e, cut };
    return { records, error: e, cut, unexpected: true };
  }
}

const essence = (r) => `${Buffer.from(r.data).toString('hex')}|${r.timestampNs}|${r.originalLength}|${r.direction ?? ''}`;

const tally = {};
const count = (key, n = 1) => (tally[key] = (tally[key] ?? 0) + n);
const examples = {};
const example = (key, what) => ((examples[key] ??= []).length < 5 ? examples[key].push(what) : 0);

async function attackCapture(item, work) {
  const dir = fs.mkdtempSync(path.join(work, 'run-'));
  const file = path.join(dir, item.name);
  fs.writeFileSync(file, item.bytes);
  const mode = pick(['text', 'text', 'json', 'compare']);
  const argv = ['replay', file, '--out', path.join(dir, 'out', 'annotated.pcapng'), ...(mode === 'json' ? ['--json'] : mode === 'compare' ? ['--compare', '6.1'] : [])];
  const r = await runCli(argv, dir);
  const cls = classify(r);
  const exp = expectation(item.bytes);
  count(`${item.set}: runs`);
  count(`${item.set}: ${cls}`);
  if (cls.startsWith('crash') || cls.startsWith('other')) example(`${item.set}: ${cls}`, `${item.label} ${mode}: ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
  if (exp.unexpected) { count(`${item.set}: reader threw a non-CaptureError`); example('reader threw a non-CaptureError', `${item.label}: ${exp.error}`); }
  // Rows printed (text and JSON; --compare prints only differing packets).
  if (mode !== 'compare') {
    const rows = mode === 'json'
      ? r.stdout.split('\n').filter((l) => l.startsWith('{"n":') && !l.includes('"warning"')).length
      : r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d{6}\s/.test(l)).length;
    if (exp.error) {
      count(`${item.set}: ended in a capture error`);
      if (exp.records.length > 0) count(`${item.set}: ... with packets before the error`);
      if (rows === exp.records.length) count(`${item.set}: ... every row before the error printed`);
      else { count(`${item.set}: ... ROWS LOST`); example('rows lost', `${item.label} ${mode}: printed ${rows} of ${exp.records.length}`); }
    } else if (exp.cut) {
      count(`${item.set}: cut off in the last packet`);
      if (r.code === 0 && rows === exp.records.length && /WARNING capture cut off|"warning":"truncated-record"/.test(r.stdout)) count(`${item.set}: ... every complete packet replayed, a warning row, exit 0`);
      else { count(`${item.set}: ... NOT REPLAYED (exit ${r.code}, ${rows} of ${exp.records.length} rows)`); example('cut-off capture not replayed', `${item.label} ${mode}: exit ${r.code}, ${rows} of ${exp.records.length} rows`); }
    } else if (rows !== exp.records.length) {
      count(`${item.set}: ROW COUNT WRONG on a readable capture`);
      example('row count wrong', `${item.label} ${mode}: ${rows} vs ${exp.records.length}`);
    }
  }
  // --out: the copy reads back the same; a failure leaves nothing.
  const outDir = path.join(dir, 'out');
  const left = fs.existsSync(outDir) ? fs.readdirSync(outDir) : [];
  if (r.code === 0) {
    count(`${item.set}: --out written`);
    try {
      const back = [...readCaptureBytes(fs.readFileSync(path.join(outDir, 'annotated.pcapng')))].map(essence);
      const want = exp.records.map(essence);
      if (back.length === want.length && back.every((x, i) => x === want[i])) count(`${item.set}: ... copy reads back identical`);
      else { count(`${item.set}: ... COPY DIFFERS`); example('copy differs', item.label); }
    } catch (e) {
      count(`${item.set}: ... COPY UNREADABLE`);
      example('copy unreadable', `${item.label}: ${e.message}`);
    }
    if (left.length !== 1) { count(`${item.set}: ... STRAY FILES`); example('stray files', `${item.label}: ${left.join(', ')}`); }
  } else if (!exp.error && !exp.cut && !exp.unexpected && r.code !== null) {
    count(`${item.set}: REPLAYS BUT --out FAILED`);
    example('replays but --out failed', `${item.label}: ${r.stderr.trim()}`);
  }
  if (r.code !== 0 && left.length) { count(`${item.set}: FAILED RUN LEFT FILES`); example('failed run left files', `${item.label}: ${left.join(', ')}`); }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function attackArguments(argv, work) {
  const dir = fs.mkdtempSync(path.join(work, 'args-'));
  const r = await runCli(argv, dir);
  const cls = classify(r);
  count('arguments: runs');
  count(`arguments: ${cls}`);
  if (!cls.startsWith('ok') && !cls.startsWith('clean')) example(`arguments: ${cls}`, `${JSON.stringify(argv)}: ${r.stderr.split('\n')[0]}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function pool(items, fn) {
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: JOBS }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
      if (++done % 200 === 0) process.stderr.write(`attack: ${done}/${items.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  }));
}

// ---------------------------------------------------------------- main

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-attack-'));
try {
  const names = Object.keys(MUTATIONS);
  const corrupt = Array.from({ length: CAPTURES }, (_, i) => {
    const base = bases[i % bases.length];
    const m = names[Math.floor(i / bases.length) % names.length];
    let bytes = MUTATIONS[m](base.bytes);
    if (rand() < 0.15) bytes = MUTATIONS[pick(names)](bytes); // sometimes two
    const ext = base.name.endsWith('.pcap') ? 'pcap' : 'pcapng';
    return { set: 'corrupt captures', name: `c${i}.${ext}`, label: `${m} of ${base.name}`, bytes };
  });
  const malformed = malformedCaptures(MALFORMED).map((m, i) => ({ set: 'malformed packets', name: `m${i}.pcap`, label: m.name, bytes: m.bytes, packets: m.packets }));
  const argSets = badArgumentSets(work, bases[0].bytes);
  process.stderr.write(`attack: ${corrupt.length} corrupt captures, ${malformed.length} captures of malformed packets (${malformed.reduce((a, m) => a + m.packets, 0)} packets), ${argSets.length} argument sets; ${JOBS} at a time; CLI ${CLI}\n`);
  const t0 = Date.now();
  await pool([...corrupt, ...malformed], (item) => attackCapture(item, work));
  await pool(argSets, (a) => attackArguments(a, work));
  const report = { seed: SEED, cli: CLI, seconds: Math.round((Date.now() - t0) / 1000), counts: Object.fromEntries(Object.entries(tally).sort(([a], [b]) => a.localeCompare(b))), examples };
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(report, null, 2)}\n`);
  for (const [k, v] of Object.entries(report.counts)) process.stdout.write(`${String(v).padStart(7)}  ${k}\n`);
  for (const [k, xs] of Object.entries(examples)) process.stdout.write(`\n${k}:\n${xs.map((x) => `  ${x}`).join('\n')}\n`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
