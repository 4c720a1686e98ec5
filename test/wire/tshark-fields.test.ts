// What the wire layer emits, as Wireshark reads it: ~200 varied IPv4/TCP packets (fast-check,
// fixed seed, so the same packets every run) go through emitIpv4Tcp into a pcapng, tshark 4.0
// dissects them with IP and TCP checksum validation on, and every header field and TCP option
// tshark reports is compared, packet by packet, with the representation we emitted.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, PcapngWriter } from '../../src/pcap/index.js';
import {
  IPV4_FIELD, IpProtocol, LinkType, TCP_FIELD, TcpFlag, emitIpv4Tcp, formatIpv4Address, parseIpv4Tcp, tcpFlagsShort,
  tcpHeaderLength, tcpOptionsLength, tcpSegmentLength, type Ipv4TcpRepr, type TcpOption,
} from '../../src/wire/index.js';
import { tsharkFields, tsharkInterfaces, tsharkProblems } from '../support/tshark.js';

const SEED = 20260101;
const PACKETS = 200;
const IFACE_NAME = 'wire/test';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsim-wire-tshark-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- the packets ------------------------------------------------------------------------

const { FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE } = TcpFlag;

/** Combinations every run must contain (the first packets get them); the rest draw all 9 bits at random. */
const NAMED_FLAGS: number[] = [
  SYN, SYN | ACK, FIN | ACK, RST, RST | ACK, PSH | ACK, ACK, FIN | PSH | ACK, URG | ACK, URG | PSH | ACK,
  SYN | ECE | CWR, SYN | ACK | ECE, ACK | ECE, ACK | CWR, PSH | ACK | CWR, ACK | AE, SYN | ECE | CWR | AE, SYN | ACK | AE,
  0, 0x1ff,
];

const u16 = fc.oneof(fc.nat(0xffff), fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff));
/** Sequence-space values: anywhere, near 0, and near 2^32 (wrap-around is where encoders break). */
const seq32 = fc.oneof(
  fc.nat(0xffffffff),
  fc.integer({ min: 0xffffffff - 0xffff, max: 0xffffffff }),
  fc.integer({ min: 0, max: 0xffff }),
  fc.constantFrom(0x7fffffff, 0x80000000),
);
const addr = fc.oneof(
  fc.nat(0xffffffff),
  fc.constantFrom(0, 0x7f000001, 0xc6120001, 0xe0000001, 0xffffffff), // 0.0.0.0, loopback, 198.18/15, multicast, broadcast
);

const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((value) => ({ kind: 'mss', value })),
  // Linux caps the shift at 14 (RFC 7323 §2.3); larger values are legal bytes that tshark flags.
  fc.oneof({ weight: 4, arbitrary: fc.nat(14) }, { weight: 1, arbitrary: fc.integer({ min: 15, max: 255 }) })
    .map<TcpOption>((shift) => ({ kind: 'wscale', shift })),
  fc.constant<TcpOption>({ kind: 'sack-permitted' }),
  fc.array(fc.tuple(seq32, seq32), { minLength: 1, maxLength: 4 }).map<TcpOption>((blocks) => ({ kind: 'sack', blocks })),
  fc.tuple(seq32, seq32).map<TcpOption>(([tsval, tsecr]) => ({ kind: 'timestamp', tsval, tsecr })),
);

/** Up to 40 option bytes, padded to a multiple of 4 with NOPs or with EOL plus zero bytes. */
const optionsArb: fc.Arbitrary<TcpOption[]> = fc
  .tuple(fc.array(optionArb, { maxLength: 6 }), fc.constantFrom<'nop' | 'eol' | 'eol-always'>('nop', 'eol', 'eol-always'))
  .map(([drawn, padding]) => {
    const out: TcpOption[] = [];
    for (const o of drawn) {
      // Leave room for the padding: the encoded length must end at or below 40.
      const len = tcpOptionsLength([...out, o]);
      if (len + ((4 - (len % 4)) % 4) <= 40) out.push(o);
    }
    const len = tcpOptionsLength(out);
    let pad = (4 - (len % 4)) % 4;
    if (pad === 0 && padding === 'eol-always' && len <= 36) pad = 4; // an explicit EOL even when aligned
    if (pad > 0 && padding !== 'nop') out.push({ kind: 'eol', rest: new Uint8Array(pad - 1) });
    else for (let i = 0; i < pad; i++) out.push({ kind: 'nop' });
    return out;
  });

const packetArb: fc.Arbitrary<Ipv4TcpRepr> = fc.record({
  ip: fc.record({
    dscp: fc.nat(63), ecn: fc.nat(3), identification: u16, reservedFlag: fc.constant(false), dontFragment: fc.boolean(),
    moreFragments: fc.constant(false), fragmentOffset: fc.constant(0), ttl: fc.nat(255), protocol: fc.constant<number>(IpProtocol.TCP),
    src: addr, dst: addr, options: fc.constant(new Uint8Array(0)), payloadLength: fc.constant(0), checksum: fc.constant(0),
  }),
  tcp: fc.record({
    srcPort: u16, dstPort: u16, seq: seq32, ack: seq32, flags: fc.nat(0x1ff), reserved: fc.constant(0), window: u16,
    urgentPointer: fc.oneof(fc.constant(0), u16), options: optionsArb,
    payload: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 200, size: 'max' })), checksum: fc.constant(0),
  }),
});

/**
 * TCP ports tshark hands to an application dissector (`tshark -G decodes`, table tcp.port).
 * Random bytes on, say, port 3632 are a "Malformed DISTCC" packet: true, but about distcc, not
 * about our TCP. Segments with a payload are moved off those ports so the payload is plain
 * `data` (asserted below); segments without payload keep any port, 0 and 65535 included.
 */
function applicationPorts(): Set<number> {
  const result = spawnSync('tshark', ['-G', 'decodes'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // Without tshark the tests that dissect skip themselves (test/support/tshark.ts).
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return new Set();
  if (result.error || result.status !== 0) {
    throw new Error(`tshark -G decodes failed: ${result.error?.message ?? result.stderr}`);
  }
  const ports = new Set<number>();
  for (const line of result.stdout.split('\n')) {
    const [table, selector] = line.split('\t');
    if (table === 'tcp.port') ports.add(Number(selector));
  }
  if (ports.size < 100) throw new Error(`tshark -G decodes listed only ${ports.size} tcp.port entries`);
  return ports;
}

function freePort(port: number, taken: Set<number>): number {
  let p = port;
  while (taken.has(p)) p = (p + 1) & 0xffff;
  return p;
}

function makePackets(): Ipv4TcpRepr[] {
  const taken = applicationPorts();
  return fc.sample(packetArb, { seed: SEED, numRuns: PACKETS }).map((repr, i) => {
    const tcp = { ...repr.tcp };
    if (i < NAMED_FLAGS.length) tcp.flags = NAMED_FLAGS[i];
    if (tcp.payload.length > 0) {
      tcp.srcPort = freePort(tcp.srcPort, taken);
      tcp.dstPort = freePort(tcp.dstPort, taken);
    }
    return { ip: repr.ip, tcp };
  });
}

function optionKinds(o: TcpOption): number[] {
  switch (o.kind) {
    case 'eol': return [0, ...o.rest]; // the generator pads with zeros only
    case 'nop': return [1];
    case 'mss': return [2];
    case 'wscale': return [3];
    case 'sack-permitted': return [4];
    case 'sack': return [5];
    case 'timestamp': return [8];
    case 'unknown': return [o.type];
  }
}

const hex4 = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;
const list = (values: number[]) => values.join(',');
const optionsOf = <K extends TcpOption['kind']>(repr: Ipv4TcpRepr, kind: K) =>
  repr.tcp.options.filter((o): o is Extract<TcpOption, { kind: K }> => o.kind === kind);

/** The tshark fields compared, and what each must read for a packet we emitted. */
const EXPECTED: Array<[field: string, expected: (repr: Ipv4TcpRepr, bytes: Uint8Array) => string]> = [
  // A RST's payload is read as a "reset cause" string (RFC 9293 §3.5.3), not handed on as data.
  ['frame.protocols', (r) => (r.tcp.payload.length > 0 && !(r.tcp.flags & RST) ? 'raw:ip:tcp:data' : 'raw:ip:tcp')],
  ['ip.version', () => '4'],
  ['ip.hdr_len', () => '20'],
  ['ip.src', (r) => formatIpv4Address(r.ip.src)],
  ['ip.dst', (r) => formatIpv4Address(r.ip.dst)],
  ['ip.ttl', (r) => String(r.ip.ttl)],
  ['ip.id', (r) => hex4(r.ip.identification)], // BASE_HEX_DEC: fields output shows the hex form
  ['ip.flags.df', (r) => (r.ip.dontFragment ? '1' : '0')],
  ['ip.flags.mf', () => '0'],
  ['ip.frag_offset', () => '0'],
  ['ip.dsfield.dscp', (r) => String(r.ip.dscp)],
  ['ip.dsfield.ecn', (r) => String(r.ip.ecn)],
  ['ip.len', (r) => String(20 + tcpSegmentLength(r.tcp))],
  ['ip.proto', () => '6'],
  ['ip.checksum', (_, b) => hex4((b[IPV4_FIELD.CHECKSUM] << 8) | b[IPV4_FIELD.CHECKSUM + 1])],
  ['tcp.srcport', (r) => String(r.tcp.srcPort)],
  ['tcp.dstport', (r) => String(r.tcp.dstPort)],
  ['tcp.seq_raw', (r) => String(r.tcp.seq)],
  // tshark 4.0 prints the raw acknowledgment number whether or not ACK is set (and adds the Note
  // "acknowledgment number field is nonzero while the ACK flag is not set", checked below).
  ['tcp.ack_raw', (r) => String(r.tcp.ack)],
  ['tcp.flags', (r) => hex4(r.tcp.flags)], // 12 bits: reserved (always 0 here), AE 0x100, then CWR..FIN
  ['tcp.flags.ae', (r) => (r.tcp.flags & AE ? '1' : '0')],
  ['tcp.flags.cwr', (r) => (r.tcp.flags & CWR ? '1' : '0')],
  ['tcp.flags.ece', (r) => (r.tcp.flags & ECE ? '1' : '0')],
  ['tcp.flags.res', () => '0'],
  ['tcp.window_size_value', (r) => String(r.tcp.window)],
  ['tcp.urgent_pointer', (r) => String(r.tcp.urgentPointer)], // printed even without URG
  ['tcp.checksum', (_, b) => hex4((b[20 + TCP_FIELD.CHECKSUM] << 8) | b[20 + TCP_FIELD.CHECKSUM + 1])],
  ['tcp.len', (r) => String(r.tcp.payload.length)],
  ['tcp.hdr_len', (r) => String(tcpHeaderLength(r.tcp))],
  ['tcp.options.mss_val', (r) => list(optionsOf(r, 'mss').map((o) => o.value))],
  ['tcp.options.wscale.shift', (r) => list(optionsOf(r, 'wscale').map((o) => o.shift))],
  // tshark lists each zero byte after an EOL as one more EOL; we keep them as the EOL's `rest`.
  ['tcp.option_kind', (r) => list(r.tcp.options.flatMap(optionKinds))],
  ['tcp.options.timestamp.tsval', (r) => list(optionsOf(r, 'timestamp').map((o) => o.tsval))],
  ['tcp.options.timestamp.tsecr', (r) => list(optionsOf(r, 'timestamp').map((o) => o.tsecr))],
  // Every block's edges, the first one included when tshark also calls it a D-SACK (it then
  // adds tcp.options.sack.dsack_le/re as well); raw values because relative numbers are off.
  ['tcp.options.sack_le', (r) => list(optionsOf(r, 'sack').flatMap((o) => o.blocks.map(([left]) => left)))],
  ['tcp.options.sack_re', (r) => list(optionsOf(r, 'sack').flatMap((o) => o.blocks.map(([, right]) => right)))],
  ['tcp.payload', (r) => (r.tcp.flags & RST ? '' : Buffer.from(r.tcp.payload).toString('hex'))],
];

/**
 * Field comparison runs with relative sequence numbers off (SACK edges are otherwise printed
 * relative to the conversation's first sequence number) and sequence analysis off (its
 * per-conversation state is noise between unrelated random segments).
 */
const RAW_PREFS = ['tcp.relative_sequence_numbers:FALSE', 'tcp.analyze_sequence_numbers:FALSE'];

// Expert info values as tshark 4.0 prints _ws.expert.severity / _ws.expert.group.
const SEVERITY = { chat: '2097152', note: '4194304', warn: '6291456', error: '8388608' } as const;
const GROUP_SEQUENCE = '33554432'; // PI_SEQUENCE 0x02000000: connection/stream analysis
const GROUP_PROTOCOL = '150994944'; // PI_PROTOCOL 0x09000000: a field value the RFCs frown upon
const GROUP_UNDECODED = '83886080'; // PI_UNDECODED 0x05000000

/**
 * Which expert infos a random but well-formed segment may carry, decided per kind:
 *  - Error: never. An error means malformed bytes, a bad checksum or an option tshark cannot parse.
 *  - Sequence group (Chat/Note/Warning): accepted. "Connection reset", "Connection finish", D-SACK,
 *    zero window, ... are what random flags, windows and SACK blocks *mean*; the random segments
 *    are not a conversation. (The demo conversation in test/cli/cli.test.ts must be free of them.)
 *  - Protocol group: only the messages below, each the direct reading of a value drawn on purpose.
 *    Anything else (an undecoded option, a "bogus" length, ...) fails the test.
 *  - "Trailing stray characters" (Undecoded group, Warning) only on a RST with payload: tshark
 *    reads that payload as a NUL-terminated reset-cause string, and random bytes go on past a NUL.
 */
const ACCEPTED_PROTOCOL_EXPERTS: RegExp[] = [
  /^The acknowledgment number field is nonzero while the ACK flag is not set$/,
  /^The urgent pointer field is nonzero while the URG flag is not set$/,
  /^The SYN packet does not contain a MSS option$/,
  /^The non-SYN packet does contain a MSS option$/,
  /^Window scale shift exceeds 14$/,
  /^\d+ NOP in a row - a router may have removed some options$/,
  /^"Time To Live" only \d+$/,
];

describe('IPv4/TCP packets emitted by the wire layer, dissected by tshark', () => {
  const file = path.join(tmp, 'random.pcapng');
  let packets: Ipv4TcpRepr[] = [];
  let bytes: Uint8Array[] = [];

  beforeAll(() => {
    packets = makePackets();
    bytes = packets.map((p) => emitIpv4Tcp(p));
    const writer = new PcapngWriter(new FileSink(file), { application: 'ctsim wire tshark test' });
    const iface = writer.addInterface({ linkType: LinkType.RAW, name: IFACE_NAME, description: 'random IPv4/TCP from emitIpv4Tcp' });
    bytes.forEach((data, i) => writer.writePacket({ interfaceId: iface, timestampNs: 1_767_225_600_000_000_000n + BigInt(i) * 1000n, data }));
    writer.close();
  });

  it('draws the variety it claims (seeded sample)', () => {
    expect(packets).toHaveLength(PACKETS);
    const flagSets = new Set(packets.map((p) => p.tcp.flags));
    for (const f of NAMED_FLAGS) expect(flagSets.has(f), `flags ${tcpFlagsShort(f)}`).toBe(true);
    for (const bit of Object.values(TcpFlag)) {
      expect(packets.some((p) => p.tcp.flags & bit)).toBe(true);
      expect(packets.some((p) => !(p.tcp.flags & bit))).toBe(true);
    }
    expect(packets.filter((p) => p.tcp.seq >= 0xffff0000).length).toBeGreaterThan(5);
    expect(packets.filter((p) => p.tcp.ack >= 0xffff0000).length).toBeGreaterThan(5);
    const kinds = new Set(packets.flatMap((p) => p.tcp.options.map((o) => o.kind)));
    expect([...kinds].sort()).toEqual(['eol', 'mss', 'nop', 'sack', 'sack-permitted', 'timestamp', 'wscale']);
    expect(packets.some((p) => optionsOf(p, 'sack').some((o) => o.blocks.length === 4))).toBe(true);
    expect(packets.some((p) => optionsOf(p, 'sack').some((o) => o.blocks.some(([l, r]) => l >= 0xffff0000 || r >= 0xffff0000)))).toBe(true);
    expect(packets.some((p) => optionsOf(p, 'wscale').some((o) => o.shift > 14))).toBe(true);
    for (const rest of [0, 1, 2, 3]) expect(packets.some((p) => optionsOf(p, 'eol').some((o) => o.rest.length === rest)), `EOL + ${rest} zeros`).toBe(true);
    expect(packets.some((p) => p.tcp.flags & RST && p.tcp.payload.length > 0)).toBe(true);
    expect(packets.some((p) => tcpHeaderLength(p.tcp) === 60)).toBe(true);
    expect(packets.some((p) => p.tcp.payload.length === 0)).toBe(true);
    expect(packets.some((p) => p.tcp.payload.length >= 150)).toBe(true);
    for (const ecn of [0, 1, 2, 3]) expect(packets.some((p) => p.ip.ecn === ecn)).toBe(true);
    expect(packets.some((p) => p.ip.dontFragment) && packets.some((p) => !p.ip.dontFragment)).toBe(true);
    expect(packets.some((p) => p.tcp.urgentPointer !== 0 && !(p.tcp.flags & URG))).toBe(true);
    // and our own parser agrees with what we emitted (the reference tshark is compared against)
    bytes.forEach((b, i) => expect(parseIpv4Tcp(b).tcp.options).toEqual(packets[i].tcp.options));
  });

  it('opens with 0 malformed frames, 0 bad IP/TCP checksums and 0 expert errors', () => {
    // Default analysis preferences on purpose: even the full sequence analysis raises no error.
    expect(tsharkProblems(file)).toEqual({ frames: PACKETS, malformed: 0, badIpChecksum: 0, badTcpChecksum: 0, expertErrors: 0, errorMessages: [] });
    expect(tsharkProblems(file, { prefs: RAW_PREFS })).toMatchObject({ frames: PACKETS, malformed: 0, badIpChecksum: 0, badTcpChecksum: 0, expertErrors: 0 });
    expect(tsharkInterfaces(file)).toEqual([
      { name: IFACE_NAME, description: 'random IPv4/TCP from emitIpv4Tcp', encapsulation: 'Raw IP (7 - rawip)', snaplen: 262144, packets: PACKETS },
    ]);
  });

  it('verifies every checksum as Good (status 1), not merely "unverified"', () => {
    const rows = tsharkFields(file, ['ip.checksum.status', 'tcp.checksum.status'], { prefs: ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] });
    expect(rows).toEqual(packets.map(() => ['1', '1']));
  });

  it('reports, packet by packet, exactly the fields we emitted', () => {
    const rows = tsharkFields(file, EXPECTED.map(([field]) => field), { prefs: RAW_PREFS });
    expect(rows).toHaveLength(PACKETS);
    const mismatches: string[] = [];
    rows.forEach((row, i) => {
      EXPECTED.forEach(([field, expected], j) => {
        const want = expected(packets[i], bytes[i]);
        if (row[j] !== want) mismatches.push(`frame ${i + 1} ${field}: tshark ${JSON.stringify(row[j])}, emitted ${JSON.stringify(want)}`);
      });
    });
    expect(mismatches).toEqual([]);
  });

  it('raises only the expert infos the random values explain', () => {
    const rows = tsharkFields(file, ['_ws.expert.severity', '_ws.expert.group', '_ws.expert.message']);
    expect(rows).toHaveLength(PACKETS);
    const unexpected: string[] = [];
    rows.forEach(([severities = '', groups = '', messagesCell = ''], i) => {
      const sev = severities ? severities.split(',') : [];
      const grp = groups ? groups.split(',') : [];
      const messages = messagesCell ? messagesCell.split(',') : [];
      // None of tshark's messages for these packets contains a comma; if one ever does, say so.
      if (messages.length !== sev.length) throw new Error(`frame ${i + 1}: cannot split expert messages ${JSON.stringify(messagesCell)}`);
      const repr = packets[i];
      sev.forEach((s, k) => {
        const rstText = grp[k] === GROUP_UNDECODED && messages[k] === 'Trailing stray characters' &&
          (repr.tcp.flags & RST) !== 0 && repr.tcp.payload.subarray(0, -1).includes(0);
        const ok = s !== SEVERITY.error && (grp[k] === GROUP_SEQUENCE || rstText ||
          (grp[k] === GROUP_PROTOCOL && ACCEPTED_PROTOCOL_EXPERTS.some((re) => re.test(messages[k]))));
        if (!ok) unexpected.push(`frame ${i + 1} [severity ${s}, group ${grp[k]}]: ${messages[k]}`);
      });
      // The notes about fields used out of place appear exactly when the emitted values call for them.
      const has = (text: string) => messages.includes(text);
      expect(has('The acknowledgment number field is nonzero while the ACK flag is not set'), `frame ${i + 1}`)
        .toBe(!(repr.tcp.flags & ACK) && repr.tcp.ack !== 0);
      expect(has('The urgent pointer field is nonzero while the URG flag is not set'), `frame ${i + 1}`)
        .toBe(!(repr.tcp.flags & URG) && repr.tcp.urgentPointer !== 0);
      expect(has('Window scale shift exceeds 14'), `frame ${i + 1}`).toBe(optionsOf(repr, 'wscale').some((o) => o.shift > 14));
    });
    expect(unexpected).toEqual([]);
  });

  it('notices a flipped checksum byte (so the zero counts above mean something)', () => {
    const badFile = path.join(tmp, 'corrupted.pcapng');
    const withPayload = bytes.findIndex((b, i) => packets[i].tcp.payload.length > 0);
    const ipBad = bytes[0].slice();
    ipBad[IPV4_FIELD.CHECKSUM] ^= 0x01; // IPv4 header checksum
    const tcpBad = bytes[1].slice();
    tcpBad[20 + TCP_FIELD.CHECKSUM + 1] ^= 0x80; // TCP checksum
    const payloadBad = bytes[withPayload].slice();
    payloadBad[payloadBad.length - 1] ^= 0x01; // last payload byte: covered by the TCP checksum
    const frames = [bytes[2], ipBad, tcpBad, payloadBad];
    const writer = new PcapngWriter(new FileSink(badFile));
    const iface = writer.addInterface({ linkType: LinkType.RAW, name: IFACE_NAME });
    frames.forEach((data, i) => writer.writePacket({ interfaceId: iface, timestampNs: BigInt(i + 1) * 1000n, data }));
    writer.close();

    const problems = tsharkProblems(badFile);
    expect(problems).toMatchObject({ frames: 4, malformed: 0, badIpChecksum: 1, badTcpChecksum: 2 });
    expect(problems.expertErrors).toBe(3);
    expect(problems.errorMessages).toEqual([
      expect.stringMatching(/^frame 2: Bad checksum/),
      expect.stringMatching(/^frame 3: Bad checksum/),
      expect.stringMatching(/^frame 4: Bad checksum/),
    ]);
    const status = tsharkFields(badFile, ['ip.checksum.status', 'tcp.checksum.status'], { prefs: ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] });
    expect(status).toEqual([['1', '1'], ['0', '1'], ['1', '0'], ['1', '0']]);
  });
});
