// replay --host against the real kernel. The fixtures in fixtures/host/ were recorded by
// `ctsim kernel-diff --scenario NAME --captures DIR` on the real 6.18.44 kernel (the -invalid-drop
// ones with Istio's INVALID drop in mangle PREROUTING, main's invalid-drop-mangle-prerouting variant):
// NAME-pod.pcap is `tcpdump -i any` in the pod namespace, NAME-invalid.pcap the kernel's own list
// of the packets conntrack marked INVALID (an NFLOG rule first in mangle PREROUTING and OUTPUT),
// NAME-conntrack.txt the pod's `conntrack -L` at the end of the run. Replaying the pod capture
// through the pod's rules (Istio's REDIRECT, and INVALID drop) must give the kernel's INVALID
// packets, one for one, and its final table.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureBytes, type CaptureRecord } from '../../src/pcap/index.js';
import { HostReplayer, type HostRow } from '../../src/replay/host-replay.js';
import { replayRecords } from '../../src/replay/replay.js';
import { parseIptablesSave } from '../../src/stack/iptables/restore.js';
import { loadIstioPreset } from '../../src/stack/presets/istio.js';
import { LinkType, PacketView, formatIpv4Address, ip, tcpFlagsShort } from '../../src/wire/index.js';

const FIX = join(process.cwd(), 'test/replay/fixtures/host');
const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const RULES = join(process.cwd(), 'src/stack/presets/istio-sidecar.rules');
const SYSCTLS = ['nf_conntrack_tcp_timeout_close_wait=2'];

function records(file: string): CaptureRecord[] {
  return [...readCaptureBytes(readFileSync(join(FIX, file)))];
}

/** A packet's identity: tuple, flags, absolute seq/ack and IP ID. */
function key(rec: CaptureRecord): string {
  const v = new PacketView().decodeFrame(rec.iface.linkType, rec.data);
  expect(v.linkError).toBeNull();
  expect(v.hasTcpHeader).toBe(true);
  return `${formatIpv4Address(v.ip.src)}:${v.tcp.srcPort}>${formatIpv4Address(v.ip.dst)}:${v.tcp.dstPort} ${tcpFlagsShort(v.tcp.flags)} ${v.tcp.seq} ${v.tcp.ack} id=${v.ip.identification}`;
}

function kernelEnd(name: string): { atNs: number; entries: string[]; invalid: number } {
  const [head, ...lines] = readFileSync(join(FIX, `${name}-conntrack.txt`), 'utf8').split('\n');
  const at = /at=([\d.]+) s/.exec(head);
  const inv = /invalid=(\d+)/.exec(head);
  expect(at && inv, head).toBeTruthy();
  return { atNs: Number(at![1]) * 1e9, entries: lines.filter((l) => l.startsWith('tcp')), invalid: Number(inv![1]) };
}

/** `conntrack -L` lines without the countdown and the kernel-only fields, for comparison. */
const normalise = (l: string) => l.replace(/^tcp\s+6\s+\d+\s+/, '').replace(/\s+(mark|use|secctx|zone)=\S+/g, '').trim();

function replayHost(name: string, invalidDrop: boolean) {
  const recs = records(`${name}-pod.pcap`);
  const h = new HostReplayer(
    { name: 'pod', interfaces: [{ name: 'eth0', addr: ip('198.18.1.10'), prefixLen: 24 }], rules: loadIstioPreset({ invalidDrop }) },
    { kernel: '6.18', sysctls: SYSCTLS },
  );
  const rows = [...h.replay(recs)];
  return { recs, rows, h };
}

const CASES = [
  ['half-close-leak', false],
  ['port-collision', false],
  ['half-close-leak-invalid-drop', true],
  ['port-collision-invalid-drop', true],
] as const;

describe('replay --host: the real kernel\'s INVALID packets and final table (6.18.44, Istio pod)', () => {
  for (const [name, invalidDrop] of CASES) {
    it(`${name}: the same INVALID packets as the kernel's NFLOG, and the same entries at the end`, () => {
      const { recs, rows, h } = replayHost(name, invalidDrop);
      // Every INVALID verdict (a lo packet may be INVALID twice: at OUTPUT, and again when lo delivers it).
      const ours: string[] = [];
      const invalidRow = (r: HostRow) => {
        if (r.outcome === 'INVALID') ours.push(key(recs[r.n - 1]));
        if (r.again?.outcome === 'INVALID') ours.push(key(recs[r.n - 1]));
      };
      rows.forEach(invalidRow);
      const kernel = records(`${name}-invalid.pcap`).map((r) => {
        expect(r.iface.linkType).toBe(LinkType.NFLOG);
        return key(r);
      });
      expect(kernel.length).toBeGreaterThan(0);
      expect(ours.sort()).toEqual(kernel.sort());
      // No checksum case makes a packet INVALID here: lo and veth packets are not verified.
      expect(rows.filter((r) => r.reason.includes('checksum'))).toEqual([]);
      const end = kernelEnd(name);
      expect(h.entries(end.atNs).map(normalise)).toEqual(end.entries.map(normalise));
      // Istio's INVALID drop: every INVALID packet that reaches PREROUTING is dropped there.
      const droppedRows = rows.filter((r) => r.dropped !== null);
      const invalidAtPrerouting = rows.filter((r) => r.hook === 'prerouting' && r.outcome === 'INVALID');
      if (invalidDrop) {
        expect(invalidAtPrerouting.length).toBeGreaterThan(0);
        expect(droppedRows.map((r) => r.n)).toEqual(invalidAtPrerouting.map((r) => r.n));
        for (const r of droppedRows) expect(r.dropped).toMatch(/^mangle PREROUTING ISTIO_DROP#1$/);
      } else {
        expect(droppedRows).toEqual([]);
      }
    });
  }

  it('the redirected flow is one connection: the app side seen only after REDIRECT gets its original destination, and says so', () => {
    const { rows } = replayHost('port-collision', false);
    const first = rows[0];
    expect(first.captured).toBe('198.18.1.10:44410 > 127.0.0.1:15001');
    expect(`${first.src}:${first.sport} > ${first.dst}:${first.dport}`).toBe('198.18.1.10:44410 > 198.18.1.20:8080');
    expect(first.assumed).toMatch(/original destination 198\.18\.1\.20:8080 from packet #2/);
    // The sidecar's SYN-ACK on lo (de-NATed in the capture) is the same entry's reply.
    expect(rows[1]).toMatchObject({ dir: 'reply', ctinfo: 'ESTABLISHED_REPLY', entryId: first.entryId, hook: 'output', iface: 'lo' });
    // Plain replay (one conntrack, no NAT knowledge) tracked the two sides apart: many more INVALID.
    const plain = [...replayRecords(records('port-collision-pod.pcap'), { kernel: '6.18', sysctls: SYSCTLS })].filter((r) => r.outcome === 'INVALID').length;
    const host = rows.filter((r) => r.outcome === 'INVALID').length;
    expect(host).toBe(5);
    expect(plain).toBeGreaterThan(host);
  });

  it('conntrack -S invalid counter equals the kernel\'s in every run', () => {
    for (const [name] of CASES) {
      const { h } = replayHost(name, name.includes('invalid-drop'));
      expect(h.replayer.ct.stats.invalid, name).toBe(kernelEnd(name).invalid);
    }
  });
});

describe('replay --host: which socket sent a packet, and rules that disagree with the capture', () => {
  const NAT = (rule: string) => parseIptablesSave(`*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rule}\nCOMMIT\n`);
  const run = (name: string, rules: ReturnType<typeof NAT> | ReturnType<typeof loadIstioPreset>) =>
    [...new HostReplayer({ name: 'pod', interfaces: [{ name: 'eth0', addr: ip('198.18.1.10'), prefixLen: 24 }], rules }, { kernel: '6.18', sysctls: SYSCTLS }).replay(records(name))];
  const DISAGREE = /would have rewritten it whichever socket sent it/;

  it("Istio's rules: the sidecar's upstream SYN leaves unredirected (uid 1337 is exempt), which is no disagreement", () => {
    for (const [name, invalidDrop] of CASES) {
      const rows = run(`${name}-pod.pcap`, loadIstioPreset({ invalidDrop }));
      expect(rows.filter((r) => r.assumed !== null && DISAGREE.test(r.assumed)), name).toEqual([]);
    }
  });

  it('rules that redirect every socket: the SYN the capture shows leaving as addressed is flagged, other packets not', () => {
    const rows = run('half-close-leak-pod.pcap', NAT('-A OUTPUT -p tcp -j REDIRECT --to-ports 15001'));
    const flagged = rows.filter((r) => r.assumed !== null && DISAGREE.test(r.assumed));
    expect(flagged.length).toBeGreaterThan(0);
    for (const r of flagged) {
      expect({ flags: r.flags, hook: r.hook, iface: r.iface, dst: r.dst }).toEqual({ flags: 'S', hook: 'output', iface: 'eth0', dst: '198.18.1.20' });
      expect(r.assumed).toContain('REDIRECT --to-ports 15001');
    }
    // A mark exemption: the packet's mark is not in the capture, so nothing can be said.
    const marked = run('half-close-leak-pod.pcap', NAT('-A OUTPUT -m mark --mark 0x539 -j RETURN\n-A OUTPUT -p tcp -j REDIRECT --to-ports 15001'));
    expect(marked.filter((r) => r.assumed !== null && DISAGREE.test(r.assumed))).toEqual([]);
  });

  it('a redirect for one uid only: the app\'s SYN seen after REDIRECT still gets its original destination (root is not the only owner tried)', () => {
    const rows = run('port-collision-pod.pcap', NAT('-A OUTPUT -p tcp -m owner --uid-owner 1000 -j REDIRECT --to-ports 15001'));
    expect(rows[0].captured).toBe('198.18.1.10:44410 > 127.0.0.1:15001');
    expect(`${rows[0].dst}:${rows[0].dport}`).toBe('198.18.1.20:8080');
    expect(rows[0].assumed).toMatch(/original destination 198\.18\.1\.20:8080 from packet #2/);
    // The sidecar's upstream SYN: root's socket is not redirected by this rule, so no disagreement.
    expect(rows.filter((r) => r.assumed !== null && DISAGREE.test(r.assumed))).toEqual([]);
  });
});

describe('replay --host: the raw table (6.18.44, CT --notrack)', () => {
  // notrack-client-*: 198.18.0.1 on a veth in a namespace, raw OUTPUT --dport 5555 -j NOTRACK (the
  // client's packets untracked), a client on port 40000 sending "hi" to a server on 5555 that
  // answers and closes; `tcpdump -i any` (every lo packet once), the rules as iptables-save gave
  // them, and conntrack -S / -L after the run.
  it('untracked packets are never tracked; the server\'s packets are, and leave the kernel\'s entry and invalid count', () => {
    const recs = records('notrack-client-pod.pcap');
    const rules = parseIptablesSave(readFileSync(join(FIX, 'notrack-client.rules'), 'utf8'));
    const h = new HostReplayer({ name: 'pod', interfaces: [{ name: 'eth0', addr: ip('198.18.0.1'), prefixLen: 24 }], rules }, { kernel: '6.18' });
    const rows = [...h.replay(recs)];
    const [head, ...lines] = readFileSync(join(FIX, 'notrack-client-conntrack.txt'), 'utf8').split('\n');
    const client = rows.filter((r) => r.sport === 40000);
    expect(client).toHaveLength(5);
    for (const r of client) expect(r).toMatchObject({ outcome: 'UNTRACKED', entryId: null, again: null, reason: 'CT --notrack in raw OUTPUT: conntrack ignores it' });
    // The server's SYN-ACK has no entry: INVALID at OUTPUT, and again when lo delivers it.
    expect(rows[1]).toMatchObject({ sport: 5555, outcome: 'INVALID', again: { outcome: 'INVALID' } });
    expect(h.replayer.ct.stats.invalid).toBe(Number(/invalid=(\d+)/.exec(head)![1]));
    expect(h.entries().map(normalise)).toEqual(lines.filter((l) => l.startsWith('tcp')).map(normalise));
    expect(rules.rule('raw', 'OUTPUT', 1)!.counters.packets).toBe(5);
  });
});

describe('replay --host: interface names', () => {
  it('lo by its device type; another interface by --ifindex, or the host\'s only one, else if<N>', () => {
    const recs = records('half-close-leak-pod.pcap');
    const run = (interfaces: Array<{ name: string; addr: number; prefixLen: number; ifindex?: number }>) =>
      new Set([...new HostReplayer({ name: 'pod', interfaces, rules: loadIstioPreset({ invalidDrop: false }) }, { kernel: '6.18', sysctls: SYSCTLS }).replay(recs)].map((r) => r.iface));
    const eth0 = { name: 'eth0', addr: ip('198.18.1.10'), prefixLen: 24 };
    const eth1 = { name: 'eth1', addr: ip('198.18.2.10'), prefixLen: 24 };
    expect(run([eth0])).toEqual(new Set(['lo', 'eth0']));
    expect(run([eth0, eth1])).toEqual(new Set(['lo', 'if2']));
    expect(run([{ ...eth0, ifindex: 2 }, eth1])).toEqual(new Set(['lo', 'eth0']));
  });
});

describe('ctsim replay --rules / --host (CLI)', () => {
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'replay', ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('--rules with --addr: rows with hooks, a conntrack -S line, the final table and the counts', () => {
    const r = run([join(FIX, 'port-collision-pod.pcap'), '--rules', RULES, '--addr', 'eth0=198.18.1.10/24', '--sysctl', SYSCTLS[0]]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^# ctsim replay --host host: kernel 6\.18/);
    expect(r.out).toMatch(/@OUTPUT lo/);
    expect(r.out).toMatch(/@PREROUTING eth0/);
    expect(r.out).toMatch(/# conntrack -S: found=\d+ invalid=5 /);
    expect(lines.at(-1)).toMatch(/^# 46 packets: .*5 invalid/);
  });

  it('--host takes a scenario file\'s host (rules, address, kernel); --json ends with a summary holding the counters and entries', () => {
    const r = run([join(FIX, 'port-collision-pod.pcap'), '--host', 'scenarios/port-collision.yaml', '--host-name', 'pod', '--sysctl', SYSCTLS[0], '--json']);
    expect(r.code, r.err).toBe(0);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = objs.at(-1)!.summary as { conntrack: { invalid: number }; host: string; outcomes: Record<string, number> };
    expect(summary.host).toBe('pod');
    expect(summary.conntrack.invalid).toBe(5);
    expect(objs.slice(0, -1)).toHaveLength(46);
    expect(objs[0]).toMatchObject({ hook: 'output', iface: 'lo', captured: '198.18.1.10:44410 > 127.0.0.1:15001' });
  });

  it('usage errors: --rules without --addr, a scenario with several hosts and no --host-name', () => {
    const a = run([join(FIX, 'port-collision-pod.pcap'), '--rules', RULES]);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/--addr eth0=/);
    const b = run([join(FIX, 'port-collision-pod.pcap'), '--host', 'scenarios/port-collision.yaml']);
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/--host-name/);
  });
});
