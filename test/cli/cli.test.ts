// The built `ctsim` command line, end to end: a real `node dist/src/cli/main.js` process per
// case, checked on exit status, stdout and stderr, and its captures checked with tshark.
// Exit statuses are src/cli/errors.ts's: 0 ok, 1 bad input (EXIT_INPUT), 2 bad usage or
// configuration (EXIT_USAGE: yargs failures, UsageError, errors of kind 'usage' or 'config').
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, PcapngWriter } from '../../src/pcap/index.js';
import { LinkType, formatIpv4Address, parseIpv4Tcp } from '../../src/wire/index.js';
import { demoHandshake } from '../../src/scenarios/demo-handshake.js';
import { tsharkFields, tsharkInterfaces, tsharkProblems } from '../support/tshark.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
if (!fs.existsSync(CLI)) {
  throw new Error(`${CLI} is missing: the CLI tests run the built command. Run \`npm run build\` first (\`npm test\` builds before vitest).`);
}
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in its own scratch directory (so default output paths never land in the repo). */
function ctsim(args: string[], cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'))): Run {
  const env = { ...process.env };
  delete env.CTSIM_DEBUG; // stack traces are opt-in: the tests check they stay out by default
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A V8 stack frame line ("    at fn (file:line:col)") or Node's uncaught-error banner. */
const STACK = /^\s+at |^node:internal|Error: .*\n\s+at |Uncaught/m;

function expectCleanFailure(r: Run, status: number, message: RegExp): void {
  expect(r.status, `stderr: ${r.stderr}`).toBe(status);
  expect(r.stderr).toMatch(/^ctsim: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).not.toMatch(/internal error/);
}

describe('ctsim --help / --version', () => {
  it('--help lists the commands and exits 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = ctsim([flag]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^ctsim <command> \[options\]/);
      expect(r.stdout).toMatch(/^\s+ctsim demo\s+\S/m);
      expect(r.stdout).toMatch(/^\s+ctsim replay <capture>\s+\S/m);
      expect(r.stdout).toMatch(/--version/);
    }
  });

  it('demo --help and replay --help describe their options', () => {
    const demo = ctsim(['demo', '--help']);
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/--out\b/);
    const replay = ctsim(['replay', '--help']);
    expect(replay.status).toBe(0);
    for (const opt of ['--kernel', '--sysctl', '--json', '--out', '--hook', '--seed']) expect(replay.stdout).toContain(opt);
  });

  it('--version prints the package.json version', () => {
    const r = ctsim(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.stderr).toBe('');
  });
});

describe('ctsim usage errors exit 2 with a message and no stack trace', () => {
  it('unknown command', () => {
    const r = ctsim(['bogus']);
    expectCleanFailure(r, 2, /Unknown argument: bogus/);
    expect(r.stderr).toMatch(/ctsim <command> \[options\]/); // the usage follows the message
    expect(r.stdout).toBe('');
  });

  it('no command', () => {
    const r = ctsim([]);
    expectCleanFailure(r, 2, /Name a command/);
    expect(r.stdout).toBe('');
  });

  it('unknown option', () => {
    const out = path.join(tmp, 'unknown-option', 'demo.pcapng');
    const r = ctsim(['demo', '--bogus', '--out', out]);
    expectCleanFailure(r, 2, /Unknown argument: bogus/);
  });

  // BUG (src/cli/main.ts): the .fail() callback records exit status 2 but does not throw, so with
  // exitProcess(false) yargs still runs the command's handler: `ctsim demo --bogus` prints the
  // usage error *and* writes the captures. Flip to `it` once fixed.
  it('unknown option: the command does not run', () => {
    const out = path.join(tmp, 'unknown-option-2', 'demo.pcapng');
    const r = ctsim(['demo', '--bogus', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(out)).toBe(false);
  });

  // BUG (same cause): `ctsim replay` without its capture reports "Not enough non-option arguments"
  // and "Missing required argument", then runs the handler anyway, which fails to open the file
  // "undefined" and turns the exit status into 1. Flip to `it` once fixed.
  it('missing positional argument: exit 2, usage message only', () => {
    const r = ctsim(['replay']);
    expectCleanFailure(r, 2, /capture/);
    expect(r.stderr).not.toMatch(/undefined/);
  });
});

describe('ctsim demo', () => {
  const dir = path.join(tmp, 'demo', 'nested'); // the command creates missing folders
  const file = path.join(dir, 'demo.pcapng');
  const sent = demoHandshake();
  let run: Run;

  beforeAll(() => {
    run = ctsim(['demo', '--out', file]);
  });

  it('exits 0 and says what it wrote', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`wrote ${sent.length} packets to ${file}\n`);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('writes the same bytes every run (fixed epoch, no randomness)', () => {
    const again = path.join(tmp, 'demo-again.pcapng');
    expect(ctsim(['demo', '--out', again]).status).toBe(0);
    expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  });

  it('opens in tshark with 0 malformed frames, 0 bad checksums and 0 expert errors', () => {
    expect(tsharkProblems(file)).toEqual({ frames: sent.length, malformed: 0, badIpChecksum: 0, badTcpChecksum: 0, expertErrors: 0, errorMessages: [] });
  });

  it('has one raw-IP interface named demo/eth0', () => {
    expect(tsharkInterfaces(file)).toEqual([
      { name: 'demo/eth0', description: 'client side of a demo TCP conversation', encapsulation: 'Raw IP (7 - rawip)', snaplen: 262144, packets: sent.length },
    ]);
  });

  it('carries, frame by frame, the packets, times, directions and comments of src/scenarios/demo-handshake.ts', () => {
    const rows = tsharkFields(file, [
      'frame.interface_name', 'frame.comment', 'frame.time_epoch', 'frame.packet_flags_direction', 'frame.len',
      'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.len',
    ]);
    expect(rows).toEqual(sent.map((p) => {
      const { ip, tcp } = parseIpv4Tcp(p.bytes);
      return [
        'demo/eth0', p.comment, `${p.timeNs / 1_000_000_000n}.${(p.timeNs % 1_000_000_000n).toString().padStart(9, '0')}`,
        { outbound: '0x00000002', inbound: '0x00000001' }[p.direction], String(p.bytes.length),
        formatIpv4Address(ip.src), formatIpv4Address(ip.dst), String(tcp.srcPort), String(tcp.dstPort),
        String(tcp.seq), String(tcp.ack), `0x${tcp.flags.toString(16).padStart(4, '0')}`, String(tcp.payload.length),
      ];
    }));
  });

  it("is a clean, complete TCP stream in Wireshark's analysis", () => {
    // No retransmission, lost segment, dup ACK, window problem, ... on any frame.
    expect(tsharkFields(file, ['frame.number', '_ws.expert.message'], { filter: 'tcp.analysis.flags' })).toEqual([]);
    // One stream whose conversation completeness (4.0: 1 SYN, 2 SYN-ACK, 4 ACK, 8 data, 16 FIN) is 31 at the end.
    const rows = tsharkFields(file, ['tcp.stream', 'tcp.completeness']);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['0']));
    expect(rows.at(-1)?.[1]).toBe('31');
  });

  it('the tcp.analysis.flags filter does catch a broken stream (the 0 above means something)', () => {
    // The same conversation with the client's request (frame 4) missing: the server then ACKs
    // bytes Wireshark never saw.
    const broken = path.join(tmp, 'demo-missing-request.pcapng');
    const w = new PcapngWriter(new FileSink(broken));
    const iface = w.addInterface({ linkType: LinkType.RAW, name: 'demo/eth0' });
    sent.filter((_, i) => i !== 3).forEach((p) => w.writePacket({ interfaceId: iface, timestampNs: p.timeNs, data: p.bytes, comment: p.comment }));
    w.close();
    const flagged = tsharkFields(broken, ['frame.comment'], { filter: 'tcp.analysis.flags' });
    expect(flagged.map((r) => r[0])).toContain('server ACKs request');
  });
});

describe('ctsim replay', () => {
  const demoFile = path.join(tmp, 'replay-input', 'demo.pcapng');
  /** [start, length] of each pcapng block of the demo capture. */
  const blocks: Array<[number, number]> = [];

  beforeAll(() => {
    expect(ctsim(['demo', '--out', demoFile]).status).toBe(0);
    const bytes = fs.readFileSync(demoFile);
    for (let off = 0; off < bytes.length; off += bytes.readUInt32LE(off + 4)) blocks.push([off, bytes.readUInt32LE(off + 4)]);
  });

  it('replays the demo capture (exit 0, one row per packet)', () => {
    const r = ctsim(['replay', demoFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^# ctsim replay: kernel /);
    expect(r.stdout).toMatch(/^# 10 packets\b/m);
  });

  it('a missing file: exit 1, "ctsim:" on stderr naming the file, no stack trace', () => {
    const missing = path.join(tmp, 'no-such-dir', 'missing.pcap');
    const r = ctsim(['replay', missing]);
    expectCleanFailure(r, 1, new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    expect(r.stdout).toBe('');
  });

  it.each([
    ['inside the first interface block', 60],
    ['inside an early packet block', 500],
    ['inside a late packet block', 1100],
  ])('a capture cut off %s (a killed tcpdump -w): the packets before it, a warning row naming the offset of the cut block, exit 0', (_, cut) => {
    const [start, length] = blocks.find(([s, l]) => s < cut && cut < s + l) ?? [-1, -1];
    expect(start).toBeGreaterThan(0);
    const truncated = path.join(tmp, `truncated-${cut}.pcapng`);
    fs.writeFileSync(truncated, fs.readFileSync(demoFile).subarray(0, cut));
    const r = ctsim(['replay', truncated]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const packetsBefore = blocks.filter(([s]) => s >= 28 && s < start).length - 1; // minus the IDB after the SHB
    const warning = r.stdout.split('\n').find((l) => l.includes('WARNING'));
    expect(warning).toMatch(new RegExp(`^\\s+${Math.max(packetsBefore, 0) + 1}  WARNING capture cut off: .*\\(truncated-record at byte offset ${start}\\)`));
    expect(warning).toContain(`${cut - start} bytes of a ${length}-byte block`);
  });

  it('--kernel 3.10: exit 2 (ConfigError is a usage-class error), before touching the capture', () => {
    const r = ctsim(['replay', '--kernel', '3.10', 'x']);
    expectCleanFailure(r, 2, /^ctsim: ConfigError \(config\): kernel 3\.10 /);
    expect(r.stderr).not.toMatch(/cannot open/);
    expect(r.stdout).toBe('');
  });

  it('--sysctl nf_conntrack_tcp_ignore_invalid_rst=1 --kernel 5.4: exit 2, the sysctl does not exist on 5.4', () => {
    const r = ctsim(['replay', '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1', '--kernel', '5.4', demoFile]);
    expectCleanFailure(r, 2, /^ctsim: ConfigError \(config\): .*nf_conntrack_tcp_ignore_invalid_rst does not exist on 5\.4/);
    expect(r.stdout).toBe('');
    // ... while the same sysctl on a kernel that has it (v5.14+) replays normally.
    const ok = ctsim(['replay', '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1', '--kernel', '5.15', demoFile]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^# ctsim replay: kernel 5\.15, nf_conntrack_tcp_ignore_invalid_rst=1$/m);
  });
});

describe('ctsim kernel-diff --scenario: variants by id', () => {
  it('an unknown name in the list: exit 2 naming it and the choices, before any lab is built', () => {
    // Each name of the comma-separated list is a seed variant, a shipped scenario or a file.
    const r = ctsim(['kernel-diff', '--scenario', 'port-collision,no-such-variant']);
    expectCleanFailure(r, 2, /^ctsim: ConfigError \(config\): no shipped scenario "no-such-variant" \(shipped: .*half-close-leak.*port-collision/);
    expect(r.stdout).toBe('');
  });

  it('--cases names a folder that is not there: exit 2 naming it, before any lab is built', () => {
    const r = ctsim(['kernel-diff', '--cases', '/nonexistent-ctsim-cases']);
    expectCleanFailure(r, 2, /^ctsim: --cases \/nonexistent-ctsim-cases: not a readable folder \(ENOENT/);
  });
});

describe('ctsim scenario --json', () => {
  it("port-collision --kernel 6.18.44 --invalid-drop --json: EADDRNOTAVAIL as the outcome, and every socket call, state change, conntrack event and drop as typed fields", () => {
    const r = ctsim(['scenario', 'port-collision', '--kernel', '6.18.44', '--invalid-drop', '--json', '--no-files']);
    // The file's expectation (connected within 1 s) does not hold with the INVALID drop: exit status 1, the document still printed.
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/ExpectationFailed .*app: connect connected <= 1 s \(EADDRNOTAVAIL/);
    const doc = JSON.parse(r.stdout) as {
      outcome: { connect: string; synsSent: number; callErrors: { errno: string; attempts: number } };
      timeline: Array<{ host: string; kind: string; tcp?: Record<string, unknown>; ct?: Record<string, unknown>; drop?: Record<string, unknown> }>;
    };
    expect(doc.outcome).toMatchObject({ connect: 'EADDRNOTAVAIL', synsSent: 0, callErrors: { errno: 'EADDRNOTAVAIL', attempts: 20 } });
    // The refused connect() calls, with the kernel check that refused them and the socket that holds the 4-tuple.
    const refused = doc.timeline.filter((e) => e.tcp?.type === 'call' && (e.tcp.result as { errno: string | null }).errno === 'EADDRNOTAVAIL');
    expect(refused).toHaveLength(20);
    expect(refused[0].tcp).toMatchObject({ call: 'connect', sock: { localPort: 44410 }, addr: '198.18.1.20', port: 8080, result: { failure: { kind: 'tuple-in-use', holderState: 'LAST_ACK' } } });
    // State changes by name, conntrack events with dotted tuples, and the Istio rule that dropped the upstream's RST.
    expect(doc.timeline.some((e) => e.tcp?.type === 'state' && e.tcp.from === 'CLOSE_WAIT' && e.tcp.to === 'LAST_ACK')).toBe(true);
    expect(doc.timeline.find((e) => e.ct?.type === 'NEW')?.ct).toMatchObject({ state: 'SYN_SENT', orig: { src: '198.18.1.10', sport: 44410, dport: 8080 } });
    expect(doc.timeline.some((e) => e.drop?.by === 'rule' && e.drop.table === 'mangle' && e.drop.hook === 'PREROUTING')).toBe(true);
  });
});

describe('ctsim run / matrix / scenario with scenario files', () => {
  const KUBE = path.join(ROOT, 'scenarios/kube-proxy-reset.yaml');

  it('run FILE: writes the pcapng, SVG and timeline, prints the outcome and the expectations, exit 0', () => {
    const out = path.join(tmp, 'run-ok');
    const r = ctsim(['run', KUBE, '--out-dir', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}ok {3}client: error ECONNRESET: ECONNRESET$/m);
    expect(fs.readdirSync(out).sort()).toEqual(['kube-proxy-reset.pcapng', 'kube-proxy-reset.svg', 'kube-proxy-reset.timeline.txt']);
    expect(tsharkProblems(path.join(out, 'kube-proxy-reset.pcapng'))).toMatchObject({ malformed: 0, badIpChecksum: 0, badTcpChecksum: 0 });
  });

  it('run FILE --sysctl: a failing expectation prints FAIL with what happened instead and exits 1', () => {
    const r = ctsim(['run', KUBE, '--sysctl', 'node:nf_conntrack_tcp_be_liberal=1', '--no-files']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ {2}FAIL client: error ECONNRESET: no error$/m);
    expect(r.stderr).toMatch(/^ctsim: ExpectationFailed \(expectation\): /);
  });

  it('run FILE --json: one document with the outcome and each expectation', () => {
    const r = ctsim(['run', KUBE, '--json', '--no-files']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { passed: boolean; expectations: Array<{ expect: string; pass: boolean }>; kernels: Record<string, string> };
    expect(doc.passed).toBe(true);
    expect(doc.expectations.map((e) => e.expect)).toContain('node: conntrack invalid >= 2');
    expect(doc.kernels.node).toBe('6.18');
  });

  it('a bad file exits 2 with file:line and writes nothing', () => {
    const dir = path.join(tmp, 'bad-file');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, fs.readFileSync(KUBE, 'utf8').replace('    respond: 3000\n', '    respond: 3000\n    colour: blue\n'));
    const out = path.join(dir, 'out');
    const r = ctsim(['run', file, '--out-dir', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: processes\.apiserver(\.colour)?: .*colour/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('matrix FILE --vary: one row per combination, the expectations judged per row', () => {
    const r = ctsim(['matrix', KUBE, '--vary', 'sysctl=node:nf_conntrack_tcp_be_liberal=1,none', '--vary', 'kernel=5.4,6.18', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ vary: Record<string, string>; passed: boolean; errors: string }>;
    expect(rows.map((x) => `${x.vary.sysctl} ${x.vary.kernel} ${x.passed}`)).toEqual([
      'node:nf_conntrack_tcp_be_liberal=1 5.4 false', 'node:nf_conntrack_tcp_be_liberal=1 6.18 false', 'none 5.4 true', 'none 6.18 true',
    ]);
  });

  it('scenario NAME runs a shipped file; a seed knob on another file, or an unknown name, is a usage error', () => {
    expect(ctsim(['scenario', 'time-wait-reuse-nat', '--no-files']).status).toBe(0);
    const knob = ctsim(['scenario', 'kube-proxy-reset', '--reconnect-at', '5', '--no-files']);
    expect(knob.status).toBe(2);
    expect(knob.stderr).toMatch(/--reconnect-at: a knob of the seed incidents only/);
    const unknown = ctsim(['scenario', 'no-such-scenario']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no shipped scenario "no-such-scenario"/);
  });
});
