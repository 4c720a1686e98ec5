// A request/response through the Istio pod topology: REDIRECT sends the app's connection to the
// sidecar, which finds the original destination with SO_ORIGINAL_DST and proxies to the upstream.
// Its capture is clean in Wireshark: no malformed packet, no checksum error, no TCP analysis flag.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MemorySink } from '../../src/pcap/index.js';
import { buildIstioPod, UPSTREAM_PORT } from '../../src/scenarios/istio-pod.js';
import { tsharkProblems } from '../support/tshark.js';
import { testTempDir } from '../support/temp-dir.js';

const SEC = 1e9;

function cleanRun() {
  const topo = buildIstioPod({ kernel: '6.18', sysctls: [], invalidDrop: 'mangle-prerouting', idleTimeoutSec: 3600, seed: 3 });
  const sink = new MemorySink();
  topo.net.capture(sink);
  const { socket, result } = topo.app.connect(topo.upstreamAddr, UPSTREAM_PORT, { request: new Uint8Array(500).fill(1) });
  // The app closes as soon as it has the response and the upstream's half-close.
  socket.onEof = () => socket.close();
  topo.server.o.closeAfterNs = 5_000_000;
  topo.net.runUntil(200 * SEC);
  topo.net.close();
  return { ...topo, sink, result };
}

describe('Istio pod end to end', () => {
  const r = cleanRun();

  it('REDIRECT reaches the sidecar with the right original destination; the response comes back', () => {
    expect(r.result.connectedAt).toBeDefined();
    expect(r.result.received).toBe(200);
    const accept = r.net.timeline.find((e) => /^envoy C1: accepted/.test(e.text))!;
    expect(accept.text).toMatch(/original destination 198\.18\.1\.20:8080$/);
    expect(r.net.timeline.some((e) => e.host === 'upstream' && /got 500 bytes from 198\.18\.1\.10:\d+/.test(e.text))).toBe(true);
    expect(r.sidecar.connections[0].closeReason).toBe('both directions closed');
    // the sidecar's own upstream connection (uid 1337) was not captured by the rules
    expect(r.pod.conntrack.stats.invalid).toBe(0);
  });

  it('the Istio rules counted what they did (iptables -L -v)', () => {
    const nat = (r.pod.rules as unknown as { dump(t: string): string }).dump('nat');
    expect(nat).toMatch(/ISTIO_REDIRECT/);
    expect(nat).toMatch(/\n\s*1\s+1\s+\d+\s+REDIRECT/); // ISTIO_REDIRECT rule 1 matched one packet (the first SYN)
  });

  it('the capture is clean: 0 malformed, 0 checksum errors, no TCP analysis flags per capture point', () => {
    const dir = testTempDir('ctsim-e2e-');
    const f = join(dir, 'pod.pcapng');
    writeFileSync(f, r.sink.bytes());
    const p = tsharkProblems(f);
    expect(p.frames).toBeGreaterThan(20);
    expect([p.malformed, p.badIpChecksum, p.badTcpChecksum, p.expertErrors]).toEqual([0, 0, 0, 0]);
    // One capture point at a time (the same segment seen on two interfaces would look like a
    // retransmission to Wireshark's per-stream analysis).
    for (const iface of ['pod/lo', 'pod/eth0', 'upstream/eth0']) {
      const sub = join(dir, `${iface.replace('/', '-')}.pcapng`);
      const x = spawnSync('tshark', ['-r', f, '-Y', `frame.interface_name == "${iface}"`, '-w', sub], { encoding: 'utf8' });
      expect(x.status, x.stderr).toBe(0);
      const out = spawnSync('tshark', ['-r', sub, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.analysis.flags', '-Y', 'tcp.analysis.flags'], { encoding: 'utf8' });
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout.trim(), `${iface} analysis flags`).toBe('');
      const all = spawnSync('tshark', ['-r', sub, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      expect(all.stdout.trim().split('\n').length, iface).toBeGreaterThan(5);
    }
  });
});
