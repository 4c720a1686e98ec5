// `ctsim replay --compare` and `--explain`: the challenge-ACK connection reuse capture under 6.1.0
// and 6.18 (exactly the differing packets), the explanation of each of the four tcp_in_window
// checks and of state-table outcomes, in text, JSON and pcapng comments; stdin input.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureFile } from '../../src/pcap/index.js';
import { replaySession } from '../../src/replay/session.js';
import { formatProgress } from '../../src/replay/progress.js';
import { tsharkFields } from '../support/tshark.js';
import { windowChecksCapture, writeRawPcapng } from './captures.js';
import { testTempDir } from '../support/temp-dir.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const REUSE = join(process.cwd(), 'pcaps/challenge-ack-reuse.pcapng');
/** The RSTs answering the challenge ACKs and the SYN retransmissions after them. */
const DIFFERING = [11, 12, 14, 15, 17, 18, 20];
let dir: string;
let windowPath: string;

function cli(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Text output: packet number -> the lines printed for it (row and explanation lines). */
function blocks(out: string): Map<number, string[]> {
  const m = new Map<number, string[]>();
  let cur: string[] | null = null;
  for (const line of out.split('\n')) {
    const row = /^\s{0,5}(\d+) /.exec(line);
    if (row) {
      cur = [line];
      m.set(Number(row[1]), cur);
    } else if (cur && line.startsWith('   ')) {
      cur.push(line);
    } else {
      cur = null;
    }
  }
  return m;
}

beforeAll(() => {
  dir = testTempDir('ctsim-compare-');
  windowPath = join(dir, 'window-checks.pcapng');
  writeRawPcapng(windowPath, windowChecksCapture());
});

describe('ctsim replay --compare', () => {
  it('6.1.0 vs 6.18 on the challenge-ACK reuse capture: exactly the differing packets, one-line summary', () => {
    const r = cli(['replay', REUSE, '--kernel', '6.1.0', '--compare', '6.18']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('# 20 packets, 7 verdicts differ, first at #11');
    expect([...blocks(r.out).keys()]).toEqual(DIFFERING);
    const b = blocks(r.out);
    // packet line, then one verdict line per profile
    expect(b.get(11)![0]).toMatch(/^\s+11\s+70\.000100\s+198\.18\.0\.10:44410 > 198\.19\.0\.20:8080\s+R\s+seq=268435456\s+len=0$/);
    expect(b.get(11)![1]).toMatch(/^\s+6\.1 {3}INVALID {2}\[SEQ is over upper bound 805306471 \(over the window of the receiver\)\]$/);
    expect(b.get(11)![2]).toMatch(/^\s+6\.18 {2}ESTABLISHED original SYN_SENT->CLOSE$/);
    expect(b.get(12)![1]).toMatch(/6\.1 {3}ESTABLISHED original SYN_SENT->SYN_SENT$/);
    expect(b.get(12)![2]).toMatch(/6\.18 {2}NEW original NONE->SYN_SENT \(re-open: old entry destroyed\)$/);
  });

  it('the same through the library: the differing packets and the counts', () => {
    const steps = [...replaySession(readCaptureFile(REUSE), { a: { kernel: '6.1.0' }, b: { kernel: '6.18' } })];
    expect(steps.filter((s) => s.differs).map((s) => s.a!.n)).toEqual(DIFFERING);
    expect(steps.filter((s) => s.differs && s.a!.flags === 'R').every((s) => s.a!.ctinfo === 'INVALID' && s.b!.state === 'CLOSE')).toBe(true);
  });

  it('--json: one object per differing packet with both verdicts, then a summary object', () => {
    const r = cli(['replay', REUSE, '--kernel', '6.1', '--compare', '6.18', '--json']);
    expect(r.code, r.err).toBe(0);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, never>);
    const summary = objs.pop() as unknown as { summary: Record<string, unknown> };
    expect(objs.map((o) => o.n)).toEqual(DIFFERING);
    const first = objs[0] as unknown as { flags: string; a: Record<string, unknown>; b: Record<string, unknown> };
    expect(first.flags).toBe('R');
    expect(first.a).toMatchObject({ profile: '6.1', ctinfo: 'INVALID', outcome: 'INVALID', state: null });
    expect(first.b).toMatchObject({ profile: '6.18', ctinfo: 'ESTABLISHED', outcome: 'ACCEPT', state: 'CLOSE', dir: 'original' });
    expect(summary.summary).toMatchObject({ packets: 20, differ: 7, first: 11, a: { kernel: '6.1' }, b: { kernel: '6.18' } });
  });

  it('--out: a pcapng whose comments show both verdicts where they differ (and the explanation with --explain)', () => {
    const out = join(dir, 'compare.pcapng');
    const r = cli(['replay', REUSE, '--kernel', '6.1', '--compare', '6.18', '--explain', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const comments = tsharkFields(out, ['frame.comment']).map((row) => row[0]);
    expect(comments).toHaveLength(20);
    DIFFERING.forEach((n) => expect(comments[n - 1]).toMatch(/^ctsim DIFFERS: 6\.1: .* \| 6\.18: /));
    expect(comments.filter((c) => c.startsWith('ctsim DIFFERS'))).toHaveLength(7);
    expect(comments[0]).toBe('ctsim 6.1 = 6.18: NEW original NONE->SYN_SENT');
    // tshark prints a comment's newlines as "\n"
    const c11 = comments[10].split('\\n');
    expect(c11[0]).toBe('ctsim DIFFERS: 6.1: INVALID [SEQ is over upper bound 805306471 (over the window of the receiver)] | 6.18: ESTABLISHED original SYN_SENT->CLOSE');
    expect(c11).toContain('  why: tcp_in_window: check I failed (seq <= sender.td_maxend): seq is 268435455 after sender.td_maxend (data beyond what the receiver\'s window allows) -> INVALID');
    expect(c11.some((l) => /sender {3}\(ORIGINAL\): td_end=805306470 td_maxend=805306470 td_maxwin=64240 td_scale=7/.test(l))).toBe(true);
    expect(c11.some((l) => l.includes('seq 1073741925 == last_ack 1073741925, c410cb974f2b'))).toBe(true);
  });

  it('--compare-sysctl alone compares the --kernel with and without a sysctl; identical profiles differ nowhere', () => {
    const r = cli(['replay', REUSE, '--kernel', 'sles-15-sp4', '--compare-sysctl', 'net.netfilter.nf_conntrack_tcp_be_liberal=1']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^# ctsim replay: A = sles-15-sp4, B = sles-15-sp4 nf_conntrack_tcp_be_liberal=1:/);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('# 20 packets, 7 verdicts differ, first at #11');
    const same = cli(['replay', REUSE, '--kernel', '6.1.9', '--compare', '6.18']);
    expect(same.out.trimEnd().split('\n').at(-1)).toBe('# 20 packets, 0 verdicts differ');
    expect(cli(['replay', REUSE, '--compare', '9.9']).code).toBe(2);
    expect(cli(['replay', REUSE, '--compare', '5.4', '--compare-sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1']).err).toMatch(/does not exist on 5\.4/);
  });

  it('reads the capture from stdin (-), compare and explain included', () => {
    const r = cli(['replay', '-', '--kernel', '6.1', '--compare', '6.18', '--explain'], readFileSync(REUSE));
    expect(r.code, r.err).toBe(0);
    expect([...blocks(r.out).keys()]).toEqual(DIFFERING);
    expect(r.out).toContain('why: tcp_in_window: check I failed');
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('# 20 packets, 7 verdicts differ, first at #11');
  });
});

describe('ctsim replay --explain', () => {
  const text = () => {
    const r = cli(['replay', windowPath, '--kernel', '6.18', '--explain']);
    expect(r.code, r.err).toBe(0);
    return blocks(r.out);
  };
  const SENDER = 'sender   (ORIGINAL): td_end=1001 td_maxend=3001 td_maxwin=1000 td_scale=0';
  const RECEIVER = 'receiver (REPLY   ): td_end=5001 td_maxend=6001 td_maxwin=2000 td_scale=0';

  it('check I: seq beyond sender.td_maxend (INVALID), with every number compared', () => {
    const b = text().get(4)!;
    expect(b[0]).toMatch(/INVALID {2}\[SEQ is over upper bound 3002 \(over the window of the receiver\)\]$/);
    expect(b[1].trim()).toBe('why: tcp_in_window: check I failed (seq <= sender.td_maxend): seq is 6999 after sender.td_maxend (data beyond what the receiver\'s window allows) -> INVALID');
    expect(b.map((l) => l.trim())).toEqual(expect.arrayContaining([
      expect.stringMatching(/^I {3}seq <= sender\.td_maxend\s+10000 <= 3001\s+FAILED <- decides$/),
      expect.stringMatching(/^II {2}end >= sender\.td_end - receiver\.td_maxwin\s+10010 >= 1001 - 2000 = 4294966297\s+ok$/),
      expect.stringMatching(/^III sack <= receiver\.td_end\s+5001 <= 5001\s+ok$/),
      'seq=10000 end=10010 ack=5001 sack=5001 win=1000',
      SENDER, RECEIVER,
    ]));
  });

  it('check III: an ACK for data the receiver never sent (INVALID)', () => {
    const b = text().get(5)!;
    expect(b[0]).toMatch(/INVALID {2}\[ACK is over upper bound 5002/);
    expect(b[1]).toContain('why: tcp_in_window: check III failed (sack <= receiver.td_end): sack is 3999 after receiver.td_end');
    expect(b.some((l) => /III sack <= receiver\.td_end\s+9000 <= 5001\s+FAILED <- decides/.test(l))).toBe(true);
    expect(b.map((l) => l.trim())).toEqual(expect.arrayContaining([SENDER, RECEIVER]));
  });

  it('check II: old data below td_end - receiver td_maxwin (IGNORE on 6.1+)', () => {
    const b = text().get(6)!;
    expect(b[0]).toMatch(/ESTABLISHED original ESTABLISHED->ESTABLISHED \(ignored\) {2}\[SEQ is under lower bound 4294966296/);
    expect(b[1]).toContain('why: tcp_in_window: check II failed (end >= sender.td_end - receiver.td_maxwin): end is 7990 before the lower bound');
    expect(b[1]).toMatch(/-> IGNORE$/);
    expect(b.some((l) => /II {2}end >= .*4294958307 >= 1001 - 2000 = 4294966297\s+FAILED <- decides/.test(l))).toBe(true);
  });

  it('check IV: an overly delayed ACK (IGNORE on 6.1+)', () => {
    const b = text().get(7)!;
    expect(b[1]).toContain('why: tcp_in_window: check IV failed (sack >= receiver.td_end - MAXACKWINDOW(sender)): sack is 34000 before the lower bound');
    expect(b.some((l) => /IV {2}sack >= receiver\.td_end - MAXACKWINDOW\(sender\)\s+4294872297 >= 5001 - 66000 = 4294906297\s+FAILED <- decides/.test(l))).toBe(true);
  });

  it('the boolean generation (5.4): II and IV are INVALID too, checked in order I, II, III, IV', () => {
    const r = cli(['replay', windowPath, '--kernel', '5.4', '--explain']);
    const b = blocks(r.out);
    for (const [n, check] of [[4, 'I'], [5, 'III'], [6, 'II'], [7, 'IV']] as const) {
      expect(b.get(n)![0]).toMatch(/INVALID {2}\[/);
      expect(b.get(n)![1]).toContain(`check ${check} failed`);
      expect(b.get(n)![1]).toMatch(/-> INVALID$/);
      expect(b.get(n)!.join('\n')).toContain('checks in order I, II, III, IV; any failure is INVALID (before 6.1)');
    }
  });

  it('state table: direction, packet class, old state and the table cell (INVALID, IGNORE, tcp_new)', () => {
    const b = text();
    expect(b.get(8)![1].trim()).toBe('why: state table: tcp_conntracks[ORIGINAL][TCP_SYNACK_SET][sES] = sIV: a SYNACK in dir 0 (ORIGINAL) is not valid in ESTABLISHED -> INVALID');
    expect(b.get(8)![2].trim()).toBe('direction ORIGINAL, packet class SYNACK (index 1), old state ESTABLISHED, table cell sIV');
    expect(b.get(9)![1].trim()).toBe('why: tcp_new: no entry, and tcp_conntracks[ORIGINAL][TCP_FIN_SET][sNO] = sIV: a FIN cannot create one -> INVALID');
    const reuse = blocks(cli(['replay', REUSE, '--kernel', '6.1', '--explain']).out);
    expect(reuse.get(10)![1].trim()).toBe('why: state table: tcp_conntracks[REPLY][TCP_ACK_SET][sSS] = sIG: let through with the entry attached, nothing learnt -> IGNORE');
    expect(reuse.get(10)!.join('\n')).toContain('this kernel lacks c410cb974f2b (v6.2)');
    // accepted packets need no explanation
    expect(reuse.get(1)).toHaveLength(1);
  });

  it('RST below the peer\'s td_maxack: "invalid rst" with both numbers', () => {
    const r = cli(['replay', windowPath, '--kernel', '6.18', '--explain', '--json']);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { n: number; explain: Record<string, unknown> | null });
    const rst = rows.find((x) => x.n === 10)!;
    expect(rst.explain).toMatchObject({ kind: 'rst', rst: { branch: 'below-maxack', seq: 900, peerMaxack: 1001 } });
    expect(rst.explain!.summary).toBe('RST check: seq 900 is 101 before the peer\'s td_maxack 1001 (the highest ACK the REPLY side sent) -> INVALID "invalid rst"');
  });

  it('--json --explain: the numbers as fields; rows without a story carry explain: null', () => {
    const r = cli(['replay', windowPath, '--kernel', '6.18', '--explain', '--json']);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { n: number; outcome: string; explain: Record<string, unknown> | null });
    expect(rows[0].explain).toBeNull();
    expect(rows.slice(3, 7).map((x) => [x.outcome, x.explain?.check])).toEqual([['INVALID', 'I'], ['INVALID', 'III'], ['IGNORE', 'II'], ['IGNORE', 'IV']]);
    expect(rows[3].explain).toMatchObject({
      kind: 'window', checks: { I: 'failed', II: 'ok', III: 'ok', IV: 'ok' },
      packet: { seq: 10000, end: 10010, ack: 5001, sack: 5001, win: 1000 },
      sender: { dir: 'ORIGINAL', td_end: 1001, td_maxend: 3001, td_maxwin: 1000, td_scale: 0 },
      receiver: { dir: 'REPLY', td_end: 5001, td_maxend: 6001, td_maxwin: 2000, td_scale: 0 },
      table: { dir: 'ORIGINAL', class: 'ACK', oldState: 'ESTABLISHED', cell: 'sES' },
    });
    expect(rows[7].explain).toMatchObject({ kind: 'table', table: { dir: 'ORIGINAL', class: 'SYNACK', oldState: 'ESTABLISHED', cell: 'sIV', cellMeaning: 'invalid' } });
  });

  it('--out --explain: the same text goes into the packet comment', () => {
    const out = join(dir, 'explained.pcapng');
    expect(cli(['replay', windowPath, '--kernel', '6.18', '--explain', '--out', out]).code).toBe(0);
    const comments = tsharkFields(out, ['frame.comment']).map((row) => row[0].split('\\n'));
    expect(comments[3][0]).toBe('ctsim 6.18: INVALID [SEQ is over upper bound 3002 (over the window of the receiver)]');
    expect(comments[3][1]).toBe('why: tcp_in_window: check I failed (seq <= sender.td_maxend): seq is 6999 after sender.td_maxend (data beyond what the receiver\'s window allows) -> INVALID');
    expect(comments[3]).toContain(`  ${SENDER}`);
    expect(comments[7][1]).toContain('tcp_conntracks[ORIGINAL][TCP_SYNACK_SET][sES] = sIV');
    expect(comments[0]).toEqual(['ctsim 6.18: NEW original NONE->SYN_SENT']);
  });
});

describe('progress line', () => {
  it('formats a bar for files and a rate for pipes; --progress forces it onto stderr only', () => {
    expect(formatProgress({ packets: 500_000, bytes: 50, totalBytes: 100, elapsedMs: 2000 }, 10)).toBe('replay [#####.....]  50.0%  500,000 packets  250,000 pkt/s  ETA 2 s');
    expect(formatProgress({ packets: 1234, bytes: 0, totalBytes: null, elapsedMs: 1000, differ: 3 })).toBe('replay 1,234 packets  1,234 pkt/s  3 differ');
    const r = cli(['replay', REUSE, '--progress', '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^\r\x1b\[2Kreplay \[.*\] .*packets/);
    expect(r.out).not.toContain('replay [');
    expect(cli(['replay', REUSE, '--json']).err).toBe('');
  });
});
