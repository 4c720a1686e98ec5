// Golden bytes written out by hand from the specs, checked both ways: our reader parses
// them to the expected values, and our writers turn those values into exactly these bytes.
import { describe, expect, it } from 'vitest';
import { MemorySink, PcapWriter, PcapngWriter, readCaptureBytes, CaptureDecoder } from '../../src/pcap/index.js';
import { DATA, SYN, SYN_ACK, concat, hex, ipv4TcpChecksumsOk, toHex } from './fixtures.js';

const TIMESTAMP_NS = 1_700_000_000_123_456_789n; // 2023-11-14T22:13:20.123456789Z

// draft-ietf-opsawg-pcap §4 File Header + §5 Packet Record, little-endian, ns magic.
const PCAP_GOLDEN = concat(
  hex(`
    4d3cb2a1            // magic 0xa1b23c4d: nanosecond timestamps, written little-endian
    0200 0400           // version 2.4
    00000000 00000000   // reserved1 (thiszone), reserved2 (sigfigs)
    00000400            // snaplen 262144
    65000000            // LinkType 101 (RAW), no FCS info
    00f15365            // ts seconds 1700000000 (0x6553f100)
    15cd5b07            // ts nanoseconds 123456789 (0x075bcd15)
    28000000 28000000   // captured 40, original 40
  `),
  SYN,
);

// draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, §4.3 EPB, little-endian.
const PCAPNG_GOLDEN = concat(
  hex(`
    0a0d0d0a 2c000000   // SHB, total length 44
    4d3c2b1a            // byte-order magic 0x1a2b3c4d
    0100 0000           // version 1.0
    ffffffffffffffff    // section length -1 (unspecified)
    0400 0500 637473696d 000000   // shb_userappl "ctsim", padded to 8
    0000 0000           // opt_endofopt
    2c000000            // total length again

    01000000 34000000   // IDB, total length 52
    6500 0000           // LinkType 101 (RAW), reserved
    00000400            // snaplen 262144
    0200 0600 706f642f6c6f 0000   // if_name "pod/lo"
    0300 0200 6c6f 0000           // if_description "lo"
    0900 0100 09 000000           // if_tsresol 9: nanoseconds
    0000 0000           // opt_endofopt
    34000000

    06000000 5c000000   // EPB, total length 92
    00000000            // interface 0
    fe9c9717 15cd853d   // timestamp 1700000000123456789 ns, high word then low word
    28000000 28000000   // captured 40, original 40
  `),
  SYN,
  hex(`
    0100 0300 53594e 00           // opt_comment "SYN"
    0200 0400 02000000            // epb_flags: direction 10 = outbound
    0000 0000           // opt_endofopt
    5c000000
  `),
);

describe('golden packets', () => {
  it('have correct IPv4 and TCP checksums', () => {
    for (const p of [SYN, SYN_ACK, DATA]) expect(ipv4TcpChecksumsOk(p)).toBe(true);
    const broken = SYN.slice();
    broken[30] ^= 1;
    expect(ipv4TcpChecksumsOk(broken)).toBe(false);
  });
});

describe('pcap golden bytes', () => {
  it('parses the golden file header and record', () => {
    const decoder = new CaptureDecoder();
    decoder.push(PCAP_GOLDEN);
    decoder.end();
    const record = decoder.next();
    expect(decoder.format).toBe('pcap');
    expect(decoder.section).toEqual({ byteOrder: 'little', versionMajor: 2, versionMinor: 4 });
    expect(decoder.interfaces).toEqual([{ linkType: 101, snaplen: 262144, tsresol: 9, tsresolNs: 1 }]);
    expect(record).toEqual({
      index: 0,
      interfaceId: 0,
      iface: decoder.interfaces[0],
      timestampNs: TIMESTAMP_NS,
      data: SYN,
      originalLength: 40,
      fileOffset: 24,
    });
    expect(decoder.next()).toBeNull();
  });

  it('writes exactly the golden bytes', () => {
    const sink = new MemorySink();
    const writer = new PcapWriter(sink, { linkType: 101 });
    writer.writePacket(TIMESTAMP_NS, SYN);
    writer.close();
    expect(toHex(sink.bytes())).toBe(toHex(PCAP_GOLDEN));
  });
});

describe('pcapng golden bytes', () => {
  it('parses the golden SHB, IDB and EPB', () => {
    const decoder = new CaptureDecoder();
    decoder.push(PCAPNG_GOLDEN);
    decoder.end();
    const record = decoder.next();
    expect(decoder.format).toBe('pcapng');
    expect(decoder.section).toEqual({ byteOrder: 'little', versionMajor: 1, versionMinor: 0, application: 'ctsim' });
    expect(decoder.interfaces).toEqual([{ linkType: 101, name: 'pod/lo', description: 'lo', snaplen: 262144, tsresol: 9, tsresolNs: 1 }]);
    expect(record).toEqual({
      index: 0,
      interfaceId: 0,
      iface: decoder.interfaces[0],
      timestampNs: TIMESTAMP_NS,
      data: SYN,
      originalLength: 40,
      comment: 'SYN',
      direction: 'outbound',
      fileOffset: 44 + 52,
    });
    expect(decoder.next()).toBeNull();
  });

  it('writes exactly the golden bytes', () => {
    const sink = new MemorySink();
    const writer = new PcapngWriter(sink, { application: 'ctsim' });
    const id = writer.addInterface({ linkType: 101, name: 'pod/lo', description: 'lo' });
    writer.writePacket({ interfaceId: id, timestampNs: TIMESTAMP_NS, data: SYN, comment: 'SYN', direction: 'outbound' });
    writer.close();
    expect(toHex(sink.bytes())).toBe(toHex(PCAPNG_GOLDEN));
  });

  it('readCaptureBytes yields the same record as the decoder', () => {
    expect([...readCaptureBytes(PCAPNG_GOLDEN)].map((r) => r.comment)).toEqual(['SYN']);
  });
});
