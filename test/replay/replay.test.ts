// `ctsim replay` on captures written with the wire layer: per-packet verdicts per kernel profile,
// the JSON schema, annotated output read back by tshark, non-TCP and broken packets reported.
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, MemorySink, PcapWriter, PcapngWriter, readCaptureBytes } from '../../src/pcap/index.js';
import { challengeAckReuseCapture } from '../../src/scenarios/reuse-capture.js';
import { replayRecords, type ReplayRow } from '../../src/replay/replay.js';
import { LinkType, emitSll, encodeSegment, ip, TcpFlag } from '../../src/wire/index.js';
import { tsharkFields } from '../support/tshark.js';
import { testTempDir } from '../support/temp-dir.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
let dir: string;
let reusePath: string;

function writeReuse(path: string): void {
  const w = new PcapngWriter(new FileSink(path));
  const i = w.addInterface({ linkType: LinkType.RAW, name: 'app/eth0' });
  for (const p of challengeAckReuseCapture()) w.writePacket({ interfaceId: i, timestampNs: p.timeNs, data: p.bytes, direction: p.direction, comment: p.comment });
  w.close();
}

function cli(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The documented per-packet JSON object. */
function checkSchema(o: Record<string, unknown>): void {
  expect(typeof o.n).toBe('number');
  expect(typeof o.time).toBe('number');
  expect(o.dir === null || o.dir === 'original' || o.dir === 'reply').toBe(true);
  expect(['NEW', 'ESTABLISHED', 'RELATED', 'ESTABLISHED_REPLY', 'RELATED_REPLY', 'INVALID', 'UNTRACKED']).toContain(o.ctinfo);
  expect(o.state === null || ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'].includes(o.state as string)).toBe(true);
  expect(Array.isArray(o.status) && (o.status as unknown[]).every((s) => typeof s === 'string')).toBe(true);
  expect(o.timeout === null || Number.isInteger(o.timeout)).toBe(true);
  expect(o.reason === null || typeof o.reason === 'string').toBe(true);
}

beforeAll(() => {
  dir = testTempDir('ctsim-replay-');
  reusePath = join(dir, 'reuse.pcapng');
  writeReuse(reusePath);
});

describe('ctsim replay', () => {
  it('JSON lines follow the schema and show the per-kernel verdict of the RST after a challenge ACK', () => {
    const byKernel: Record<string, string[]> = {};
    for (const [k, extra] of [['ubuntu-20.04', []], ['sles-15-sp4', []], ['sles-15-sp4', ['--sysctl', 'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1']], ['6.18', []]] as const) {
      const r = cli(['replay', reusePath, '--kernel', k, '--json', ...extra]);
      expect(r.code, r.err).toBe(0);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // Every packet's row, then one summary object with conntrack -S counters.
      const rows = lines.slice(0, -1);
      expect(rows).toHaveLength(20);
      expect(Object.keys(lines.at(-1)!)).toEqual(['summary']);
      rows.forEach(checkSchema);
      byKernel[`${k}${extra.length ? '+ignore_invalid_rst' : ''}`] = rows.filter((x) => x.flags === 'R').map((x) => `${x.ctinfo}/${x.state}`);
    }
    expect(byKernel['ubuntu-20.04']).toEqual(Array(4).fill('ESTABLISHED/CLOSE'));
    expect(byKernel['sles-15-sp4']).toEqual(Array(4).fill('INVALID/null'));
    expect(byKernel['sles-15-sp4+ignore_invalid_rst']).toEqual(Array(4).fill('INVALID/null'));
    expect(byKernel['6.18']).toEqual(Array(4).fill('ESTABLISHED/CLOSE'));
  });

  it('text output ends with a summary; --out writes the verdicts as pcapng comments tshark shows', () => {
    const out = join(dir, 'annotated.pcapng');
    const r = cli(['replay', reusePath, '--kernel', 'sles-15-sp4', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n').at(-1)).toBe(`# 20 packets: 12 accept, 4 ignore, 4 invalid; annotated capture written to ${out}`);
    const comments = tsharkFields(out, ['frame.comment']).map((row) => row[0]);
    expect(comments).toHaveLength(20);
    expect(comments[10]).toBe('ctsim sles-15-sp4: INVALID [SEQ is over the upper bound (over the window of the receiver)]');
    expect(comments[0]).toBe('ctsim sles-15-sp4: NEW original NONE->SYN_SENT');
  });

  it('reads the capture from stdin', () => {
    const r = cli(['replay', '-', '--kernel', '6.1.8', '--json'], readFileSync(reusePath));
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(21); // 20 rows and the summary
  });

  it('non-TCP, fragments and broken packets get their own row, not a failure (classic pcap, SLL2)', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.LINUX_SLL2 });
    const sll = (payload: Uint8Array) => {
      const f = new Uint8Array(20 + payload.length);
      emitSll({ version: 2, protocol: 0x0800, ifindex: 2, arphrdType: 1, packetType: 0, addressLength: 6, address: new Uint8Array(8) }, f);
      f.set(payload, 20);
      return f;
    };
    const syn = encodeSegment({ src: ip('198.18.0.1'), dst: ip('198.18.0.2'), srcPort: 1, dstPort: 2, seq: 1, flags: TcpFlag.SYN });
    const udp = syn.slice();
    udp[9] = 17;
    const frag = syn.slice();
    frag[6] = 0x20;
    w.writePacket(1n, sll(syn));
    w.writePacket(2n, sll(udp));
    w.writePacket(3n, sll(frag));
    w.writePacket(4n, sll(syn.subarray(0, 10)));
    w.writePacket(5n, sll(new Uint8Array([0x45, 0, 0, 0])));
    w.close();
    const rows: ReplayRow[] = [...replayRecords(readCaptureBytes(sink.bytes()))];
    expect(rows.map((r) => [r.ctinfo, r.reason.split(':')[0]])).toEqual([
      ['NEW', ''], ['UNTRACKED', 'not TCP'], ['UNTRACKED', 'IPv4 fragment'], ['UNTRACKED', 'unparsable'], ['UNTRACKED', 'unparsable'],
    ]);
    const path = join(dir, 'odd.pcap');
    writeFileSync(path, sink.bytes());
    expect(cli(['replay', path]).code).toBe(0);
  });

  it('bad input: missing file, corrupt capture, unknown kernel, impossible sysctl, wrong sysctl syntax', () => {
    expect(cli(['replay', join(dir, 'nope.pcap')])).toMatchObject({ code: 1 });
    const corrupt = join(dir, 'corrupt.pcap');
    writeFileSync(corrupt, Buffer.from('not a capture at all'));
    const c = cli(['replay', corrupt]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/^ctsim: CaptureError \(bad-magic\)/);
    expect(c.err).not.toMatch(/\n\s+at /);
    expect(cli(['replay', reusePath, '--kernel', '9.9']).code).toBe(2);
    const s = cli(['replay', reusePath, '--kernel', '5.4', '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1']);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/does not exist on 5\.4/);
    expect(cli(['replay', reusePath, '--sysctl', 'nf_conntrack_tcp_loose']).err).toMatch(/name=value/);
    expect(cli(['replay', reusePath, '--sysctl', 'nf_conntrack_tcp_loose=7']).err).toMatch(/out of range/);
  });
});
