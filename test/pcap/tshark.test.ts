// Our files as Wireshark sees them: tshark 4.0 must open them without a malformed frame or a
// bad checksum, and show the interfaces, comments, directions and ns timestamps we wrote.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, PcapWriter, PcapngWriter } from '../../src/pcap/index.js';
import type { PacketDirection } from '../../src/pcap/index.js';
import { LinkType } from '../../src/wire/link-type.js';
import { tsharkFields, tsharkInterfaces, tsharkJson, tsharkProblems } from '../support/tshark.js';
import { DATA, SYN, SYN_ACK, ethernet } from './fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-pcap-tshark-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** tshark's frame.time_epoch rendering: seconds, a dot, 9 fraction digits. */
function epoch(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

interface Sent {
  iface: 'lo' | 'eth0';
  timestampNs: bigint;
  data: Uint8Array;
  comment?: string;
  direction?: PacketDirection;
}

const SENT: Sent[] = [
  { iface: 'lo', timestampNs: 1_700_000_000_000_000_001n, data: SYN, comment: 'client SYN', direction: 'outbound' },
  { iface: 'lo', timestampNs: 1_700_000_000_123_456_789n, data: SYN_ACK, comment: 'server SYN-ACK', direction: 'inbound' },
  { iface: 'eth0', timestampNs: 1_700_000_000_999_999_999n, data: ethernet(DATA), direction: 'outbound' },
  { iface: 'eth0', timestampNs: 1_700_000_001_000_000_000n, data: ethernet(SYN), comment: 'UTF-8 é ✓ ok', direction: 'inbound' },
  { iface: 'lo', timestampNs: 1_700_000_002_500_000_000n, data: DATA },
];

const IFACES = {
  lo: { linkType: LinkType.RAW, name: 'pod/lo', description: 'loopback inside the pod' },
  eth0: { linkType: LinkType.ETHERNET, name: 'pod/eth0', description: 'veth peer of the pod' },
} as const;

describe('pcapng in tshark', () => {
  const file = path.join(tmp, 'two-interfaces.pcapng');

  beforeAll(() => {
    const writer = new PcapngWriter(new FileSink(file), { application: 'ctsim tshark test' });
    const ids = { lo: writer.addInterface(IFACES.lo), eth0: writer.addInterface(IFACES.eth0) };
    for (const p of SENT) writer.writePacket({ ...p, interfaceId: ids[p.iface] });
    writer.close();
  });

  it('opens with no malformed frames, bad checksums or expert errors', () => {
    expect(tsharkProblems(file)).toEqual({
      frames: SENT.length,
      malformed: 0,
      badIpChecksum: 0,
      badTcpChecksum: 0,
      expertErrors: 0,
      errorMessages: [],
    });
  });

  it('shows our timestamps (to the ns), interfaces, comments and directions', () => {
    const rows = tsharkFields(file, [
      'frame.time_epoch',
      'frame.interface_name',
      'frame.interface_description',
      'frame.comment',
      'frame.packet_flags_direction',
      'frame.p2p_dir',
      'frame.len',
      'ip.src',
      'tcp.srcport',
    ]);
    expect(rows).toEqual(
      SENT.map((p) => [
        epoch(p.timestampNs),
        IFACES[p.iface].name,
        IFACES[p.iface].description,
        p.comment ?? '',
        // epb_flags bits 0-1 as tshark 4.0 prints them, and the derived P2P direction (0 = sent).
        { inbound: '0x00000001', outbound: '0x00000002', none: '' }[p.direction ?? 'none'],
        { inbound: '1', outbound: '0', none: '' }[p.direction ?? 'none'],
        String(p.data.length),
        p.data === SYN_ACK ? '10.0.0.2' : '10.0.0.1',
        p.data === SYN_ACK ? '80' : '40000',
      ]),
    );
  });

  it('lists both interfaces with their names and descriptions', () => {
    expect(tsharkInterfaces(file)).toEqual([
      { ...pick(IFACES.lo), encapsulation: 'Raw IP (7 - rawip)', snaplen: 262144, packets: 3 },
      { ...pick(IFACES.eth0), encapsulation: 'Ethernet (1 - ether)', snaplen: 262144, packets: 2 },
    ]);
  });

  it('puts frame.comment under the pkt_comment layer in -T json', () => {
    const packets = tsharkJson(file, { filter: 'frame.comment' });
    expect(packets.map((p) => p._source.layers.pkt_comment['frame.comment'])).toEqual(
      SENT.filter((p) => p.comment !== undefined).map((p) => p.comment),
    );
  });
});

function pick(iface: { name: string; description: string }): { name: string; description: string } {
  return { name: iface.name, description: iface.description };
}

describe('classic pcap in tshark', () => {
  it.each([
    { linkType: LinkType.RAW, nanosecond: true, packets: [SYN, SYN_ACK, DATA], encapsulation: 'Raw IP' },
    { linkType: LinkType.RAW, nanosecond: false, packets: [SYN, SYN_ACK, DATA], encapsulation: 'Raw IP' },
    { linkType: LinkType.ETHERNET, nanosecond: true, packets: [SYN, SYN_ACK, DATA, SYN].map(ethernet), encapsulation: 'Ethernet' },
  ])('$encapsulation, nanosecond=$nanosecond', ({ linkType, nanosecond, packets, encapsulation }) => {
    const file = path.join(tmp, `classic-${linkType}-${nanosecond}.pcap`);
    const writer = new PcapWriter(new FileSink(file), { linkType, nanosecond });
    const times = packets.map((_, i) => 1_700_000_000_123_456_789n + BigInt(i) * 1_000_000_001n);
    packets.forEach((p, i) => writer.writePacket(times[i], p));
    writer.close();

    const rows = tsharkFields(file, ['frame.number', 'frame.time_epoch', 'frame.protocols']);
    expect(rows).toHaveLength(packets.length);
    expect(rows.map((r) => r[1])).toEqual(times.map((t) => epoch(nanosecond ? t : t - (t % 1000n))));
    expect(rows.every((r) => r[2].endsWith('ip:tcp') || r[2].endsWith('ip:tcp:data'))).toBe(true);
    expect(tsharkProblems(file)).toMatchObject({ frames: packets.length, malformed: 0, badIpChecksum: 0, badTcpChecksum: 0, expertErrors: 0 });
    expect(tsharkInterfaces(file)).toMatchObject([{ encapsulation: expect.stringContaining(encapsulation), packets: packets.length }]);
  });
});

describe('tsharkProblems', () => {
  it('does count bad checksums and malformed frames (the zero results above mean something)', () => {
    const file = path.join(tmp, 'broken.pcap');
    const badChecksums = DATA.slice();
    badChecksums[10] ^= 0x01; // IPv4 header checksum
    badChecksums[37] ^= 0x01; // TCP checksum
    const truncated = DATA.slice(0, 30); // IPv4 total length says 46
    const writer = new PcapWriter(new FileSink(file), { linkType: LinkType.RAW });
    writer.writePacket(1n, SYN);
    writer.writePacket(2n, badChecksums);
    writer.writePacket(3n, truncated);
    writer.close();
    const problems = tsharkProblems(file);
    expect(problems).toMatchObject({ frames: 3, malformed: 1, badIpChecksum: 1, badTcpChecksum: 1 });
    expect(problems.expertErrors).toBeGreaterThanOrEqual(3);
    expect(problems.errorMessages.join('\n')).toMatch(/frame 2: Bad checksum/);
  });
});
