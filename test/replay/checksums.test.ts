// Where the kernel verifies TCP checksums (nf_conntrack_checksum): only at PREROUTING, and only
// for an skb that did not arrive as CHECKSUM_PARTIAL/UNNECESSARY. A capture taken on the sending
// side (lo, outbound with offload, a veth from a namespace on the same machine) holds partial
// checksums (the pseudo-header sum only): replay must not call those INVALID, and must say
// loudly when most verified packets fail.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureBytes } from '../../src/pcap/index.js';
import { replayRecords } from '../../src/replay/replay.js';
import { TcpFlag, TcpSegment, encodeSegment, foldCarries, ip, pseudoHeaderSum, IpProtocol, type SegmentSpec } from '../../src/wire/index.js';
import { T0, sll2Capture } from './captures.js';
import { testTempDir } from '../support/temp-dir.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const { SYN, ACK } = TcpFlag;
const A = ip('198.18.0.1');
const B = ip('198.18.0.2');

/** The segment with its checksum field set as a sender with offload leaves it: the pseudo-header sum. */
function partial(spec: SegmentSpec): Uint8Array {
  const p = encodeSegment(spec);
  const seg = new TcpSegment(p.subarray(20));
  seg.checksum = foldCarries(pseudoHeaderSum(spec.src, spec.dst, IpProtocol.TCP, p.length - 20));
  return p;
}

function wrong(spec: SegmentSpec): Uint8Array {
  const p = encodeSegment(spec);
  const seg = new TcpSegment(p.subarray(20));
  seg.checksum = (seg.checksum + 0x1111) & 0xffff;
  return p;
}

const syn: SegmentSpec = { src: A, dst: B, srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: SYN, window: 1000 };
const synAck: SegmentSpec = { src: B, dst: A, srcPort: 80, dstPort: 40000, seq: 5000, ack: 1001, flags: SYN | ACK, window: 1000 };
const ackSpec: SegmentSpec = { src: A, dst: B, srcPort: 40000, dstPort: 80, seq: 1001, ack: 5001, flags: ACK, window: 1000 };

function capture(frames: Array<{ ifindex: number; outgoing: boolean; pkt: Uint8Array }>): Uint8Array {
  return sll2Capture(frames.map((f, i) => ({ ...f, tNs: T0 + BigInt(i) * 1_000_000n, what: '' })));
}

describe('TCP checksums as the kernel checks them', () => {
  it('a partial checksum is recognised (the pseudo-header sum, as tcp_v4_send_check leaves it)', () => {
    const p = partial(syn);
    const seg = new TcpSegment(p.subarray(20));
    expect(seg.hasPartialChecksum(A, B)).toBe(true);
    expect(seg.verifyChecksum(A, B)).toBe(false);
    const full = new TcpSegment(encodeSegment(syn).subarray(20));
    expect(full.hasPartialChecksum(A, B)).toBe(false);
  });

  it('inbound on eth0: partial -> trusted; right -> verified; wrong -> INVALID [bad checksum]; lo and outbound are never verified', () => {
    const bytes = capture([
      { ifindex: 2, outgoing: true, pkt: partial(syn) }, // sent: OUTPUT
      { ifindex: 2, outgoing: false, pkt: partial(synAck) }, // from a local namespace through a veth
      { ifindex: 2, outgoing: false, pkt: wrong(ackSpec) }, // from the wire, corrupted
      { ifindex: 2, outgoing: false, pkt: encodeSegment(ackSpec) }, // from the wire, right
      { ifindex: 1, outgoing: false, pkt: wrong({ ...syn, srcPort: 41000, src: ip('127.0.0.1'), dst: ip('127.0.0.1') }) }, // received on lo
    ]);
    const rows = [...replayRecords(readCaptureBytes(bytes), { kernel: '6.18' })];
    expect(rows.map((r) => r.checksum)).toEqual(['local', 'partial', 'wrong', 'verified', 'loopback']);
    expect(rows.map((r) => r.outcome)).toEqual(['ACCEPT', 'ACCEPT', 'INVALID', 'ACCEPT', 'ACCEPT']);
    expect(rows[2].reason).toBe('bad checksum');
    // nf_conntrack_checksum=0: nothing is summed.
    const off = [...replayRecords(readCaptureBytes(bytes), { kernel: '6.18', sysctls: ['nf_conntrack_checksum=0'] })];
    expect(off[2]).toMatchObject({ checksum: 'off', outcome: 'ACCEPT' });
  });

  it('a real pod capture (tcpdump -i any, lo and veth) has no checksum INVALID; the summary says what the checksums were', () => {
    const fixture = join(process.cwd(), 'test/replay/fixtures/host/port-collision-pod.pcap');
    const rows = [...replayRecords(readCaptureBytes(readFileSync(fixture)), { kernel: '6.18' })];
    expect(rows.filter((r) => r.checksum === 'wrong')).toEqual([]);
    expect(rows.filter((r) => r.checksum === 'partial').length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [CLI, 'replay', fixture], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# TCP checksums: .* carry a partial checksum \(CHECKSUM_PARTIAL/m);
    expect(r.stdout).not.toMatch(/WARNING/);
  });

  it('when most verified packets fail, the default output warns (not only --explain)', () => {
    const dir = testTempDir('ctsim-csum-');
    const path = join(dir, 'offloaded.pcap');
    writeFileSync(path, capture([
      { ifindex: 2, outgoing: false, pkt: wrong(syn) },
      { ifindex: 2, outgoing: false, pkt: wrong(synAck) },
      { ifindex: 2, outgoing: false, pkt: wrong(ackSpec) },
      { ifindex: 2, outgoing: false, pkt: encodeSegment(ackSpec) },
    ]));
    const r = spawnSync(process.execPath, [CLI, 'replay', path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# WARNING: 3 of 4 packets conntrack would verify at PREROUTING have a wrong TCP checksum/m);
    expect(r.stdout).toMatch(/nf_conntrack_checksum=0/);
    const j = spawnSync(process.execPath, [CLI, 'replay', path, '--json'], { encoding: 'utf8' });
    const summary = (JSON.parse(j.stdout.trim().split('\n').at(-1)!) as { summary: { checksums: Record<string, number>; checksumWarning: string; conntrack: { invalid: number } } }).summary;
    expect(summary.checksums).toEqual({ wrong: 3, verified: 1 });
    expect(summary.checksumWarning).toMatch(/^WARNING: 3 of 4/);
    // The 3 bad checksums; the right ACK starts an entry mid-stream (nf_conntrack_tcp_loose=1).
    expect(summary.conntrack.invalid).toBe(3);
  });
});
