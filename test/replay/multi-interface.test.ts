// Captures with several interfaces (`tcpdump -i any` = SLL2; pcapng with several IDBs): packets
// are tracked once per netns-level conntrack, not once per interface. De-duplication (default),
// the NAT binding learnt from a forwarded packet's two copies, --iface, --no-dedup, stdin.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, MemorySink, PcapngWriter, readCaptureBytes } from '../../src/pcap/index.js';
import { replaySession } from '../../src/replay/session.js';
import { LinkType, TcpFlag, encodeSegment, ip } from '../../src/wire/index.js';
import { T0, routerFrames, sll2Capture } from './captures.js';
import { testTempDir } from '../support/temp-dir.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
let dir: string;
let sllPath: string;

function cli(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function jsonRows(args: string[], input?: Buffer): Array<Record<string, unknown>> {
  const r = cli(args, input);
  expect(r.code, r.err).toBe(0);
  // The last line is the run's summary object (counters), not a packet.
  return r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => !('summary' in o));
}

beforeAll(() => {
  dir = testTempDir('ctsim-sll2-');
  sllPath = join(dir, 'router-any.pcap');
  writeFileSync(sllPath, sll2Capture());
});

describe('tcpdump -i any (SLL2), several interfaces', () => {
  it('default: a forwarded packet seen on eth0 and eth1 (and a looped-back one seen twice on lo) is tracked once', () => {
    const rows = jsonRows(['replay', sllPath, '--json']);
    const frames = routerFrames();
    expect(rows).toHaveLength(frames.length);
    const dups = rows.filter((r) => r.outcome === 'DUPLICATE');
    // every forwarded packet's second copy (9 forwarded packets) and both lo packets' second copies
    expect(dups.map((r) => r.n)).toEqual([2, 4, 6, 8, 10, 14, 16, 18, 20, 22, 24]);
    expect(dups.every((r) => r.duplicateOf === (r.n as number) - 1)).toBe(true);
    const tracked = rows.filter((r) => r.outcome !== 'DUPLICATE');
    expect(tracked.every((r) => r.outcome === 'ACCEPT')).toBe(true);
    // one entry per connection: forwarded (DNATed), the router's own, the lo one
    expect(tracked.filter((r) => r.ctinfo === 'NEW').map((r) => r.n)).toEqual([1, 11, 13]);
    expect(tracked.filter((r) => r.src === '10.0.0.2' && r.sport === 40000 || r.dport === 40000).map((r) => `${r.ctinfo} ${r.state}`)).toEqual([
      'NEW SYN_SENT', 'ESTABLISHED_REPLY SYN_RECV', 'ESTABLISHED ESTABLISHED', 'ESTABLISHED ESTABLISHED', 'ESTABLISHED_REPLY ESTABLISHED',
      'ESTABLISHED ESTABLISHED', 'ESTABLISHED FIN_WAIT', 'ESTABLISHED_REPLY LAST_ACK', 'ESTABLISHED TIME_WAIT',
    ]);
    // the duplicate repeats its original's verdict (same skb, same ct) and keeps its own tuple
    expect(rows[1]).toMatchObject({ ctinfo: 'NEW', state: 'SYN_SENT', dst: '10.244.1.5', dport: 8080, duplicateOf: 1 });
  });

  it('the DNAT seen between the two copies of the SYN is learnt: replies from the pod are tracked with it undone', () => {
    const rows = jsonRows(['replay', sllPath, '--json']);
    const replies = rows.filter((r) => r.captured !== undefined);
    expect(replies.map((r) => r.n)).toEqual([3, 9, 21]);
    expect(replies[0]).toMatchObject({ src: '10.96.0.10', sport: 80, captured: '10.244.1.5:8080 > 10.0.0.2:40000', ctinfo: 'ESTABLISHED_REPLY', dir: 'reply' });
    const text = cli(['replay', sllPath]);
    expect(text.out).toContain('(captured as 10.244.1.5:8080 > 10.0.0.2:40000: NAT undone)');
    expect(text.out.trimEnd().split('\n').at(-1)).toBe('# 24 packets: 13 accept, 11 duplicate, 3 tracked with a learnt NAT binding undone');
  });

  it('--no-dedup tracks every copy: the NATed copy opens a second entry, the looped-back SYN/ACK is ignored', () => {
    const rows = jsonRows(['replay', sllPath, '--json', '--no-dedup']);
    expect(rows.some((r) => r.outcome === 'DUPLICATE')).toBe(false);
    expect(rows[1]).toMatchObject({ n: 2, ctinfo: 'NEW', state: 'SYN_SENT', dst: '10.244.1.5' });
    expect(rows[15]).toMatchObject({ n: 16, outcome: 'IGNORE' });
  });

  it('--iface selects one interface by SLL2 ifindex; the other packets are skipped, not printed', () => {
    const eth1 = jsonRows(['replay', sllPath, '--json', '--iface', '3']);
    expect(eth1.map((r) => r.n)).toEqual([2, 3, 6, 8, 9, 18, 20, 21, 24]);
    expect(eth1.every((r) => r.outcome === 'ACCEPT' && (r.dst === '10.244.1.5' || r.src === '10.244.1.5'))).toBe(true);
    expect(eth1.filter((r) => r.ctinfo === 'NEW')).toHaveLength(1);
    const eth0 = cli(['replay', sllPath, '--iface', 'if2']);
    expect(eth0.out.trimEnd().split('\n').at(-1)).toBe('# 24 packets: 11 accept, 13 skipped (not on --iface if2)');
    const none = cli(['replay', sllPath, '--iface', 'eth9']);
    expect(none.code).toBe(0);
    expect(none.err).toBe('ctsim: no packet on interface eth9 (the capture has: ifindex 2, ifindex 3, ifindex 1)\n');
  });

  it('reads SLL2 from stdin', () => {
    const rows = jsonRows(['replay', '-', '--json'], Buffer.from(sll2Capture()));
    expect(rows.filter((r) => r.outcome === 'DUPLICATE')).toHaveLength(11);
  });

  it('the rule: same interface and direction again is a retransmission; outside the window it is a new packet', () => {
    const frames = routerFrames().slice(0, 2);
    const again = [frames[0], { ...frames[0], tNs: frames[0].tNs + 1000n }];
    const late = [frames[0], { ...frames[1], tNs: frames[0].tNs + 50_000_000n }];
    const kinds = (f: typeof frames, window?: number) => [...replaySession(readCaptureBytes(sll2Capture(f)), { a: {}, select: { dedupWindowNs: window } })].map((s) => s.kind);
    expect(kinds(again)).toEqual(['track', 'track']);
    expect(kinds(late)).toEqual(['track', 'track']);
    expect(kinds(late, 100e6)).toEqual(['track', 'duplicate']);
    expect(cli(['replay', sllPath, '--dedup-window', '-1']).code).toBe(2);
  });
});

describe('pcapng with several interfaces', () => {
  it('de-duplicates across interface blocks and selects one by if_name', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const eth0 = w.addInterface({ linkType: LinkType.RAW, name: 'eth0' });
    const eth1 = w.addInterface({ linkType: LinkType.RAW, name: 'eth1' });
    const a = ip('192.0.2.1');
    const b = ip('198.51.100.7');
    const seg = (src: number, dst: number, sp: number, dp: number, seq: number, ack: number, flags: number, id: number, ttl = 64) =>
      encodeSegment({ src, dst, srcPort: sp, dstPort: dp, seq, ack, flags, identification: id, ttl });
    const { SYN, ACK } = TcpFlag;
    let t = T0;
    for (const [pkt, fwd] of [[seg(a, b, 1000, 443, 1, 0, SYN, 7), seg(a, b, 1000, 443, 1, 0, SYN, 7, 63)], [seg(b, a, 443, 1000, 9, 2, SYN | ACK, 8), seg(b, a, 443, 1000, 9, 2, SYN | ACK, 8, 63)]] as const) {
      const fromA = pkt[12] === 192;
      w.writePacket({ interfaceId: fromA ? eth0 : eth1, timestampNs: t, data: pkt, direction: 'inbound' });
      w.writePacket({ interfaceId: fromA ? eth1 : eth0, timestampNs: t + 20_000n, data: fwd, direction: 'outbound' });
      t += 1_000_000n;
    }
    w.close();
    const path = join(dir, 'two-idbs.pcapng');
    const fs = new FileSink(path);
    fs.write(sink.bytes());
    fs.close();
    const rows = jsonRows(['replay', path, '--json']);
    expect(rows.map((r) => `${r.n} ${r.outcome} ${r.ctinfo}`)).toEqual(['1 ACCEPT NEW', '2 DUPLICATE NEW', '3 ACCEPT ESTABLISHED_REPLY', '4 DUPLICATE ESTABLISHED_REPLY']);
    expect(jsonRows(['replay', path, '--json', '--iface', 'eth1']).map((r) => r.n)).toEqual([2, 3]);
  });
});
