// The NAT invariant: replay the case through a second conntrack that binds an Istio-style
// REDIRECT (DNAT to the sidecar, PROXY_ADDR:PROXY_PORT) on every new entry, and rewrite a copy of
// each packet with natManip as the kernel would:
//   - client -> server (ORIGINAL): the destination becomes the sidecar;
//   - server -> client: sent as the sidecar would send it (from PROXY_ADDR:PROXY_PORT, found as
//     the REPLY direction), then un-NATed back to the server's address and port.
// After every rewrite the IPv4 and TCP checksums must still verify exactly when they did before
// (RFC 1624 incremental updates carry an existing error along), the rewritten fields must be the
// binding's, and a reply with valid checksums must come back byte for byte as captured.
import { Conntrack } from '../conntrack/conntrack.js';
import { resolveKernel, type KernelProfile } from '../conntrack/kernel-profile.js';
import { Outcome } from '../conntrack/verdict.js';
import { trackAndConfirm } from '../conntrack/track-and-confirm.js';
import { PacketView, TCP_MIN_HEADER_LEN, bytesEqual } from '../wire/index.js';
import { PROXY_ADDR, PROXY_PORT, isClientAddr, isServerAddr, type FuzzCase } from './case.js';
import type { Fault } from './faults.js';
import { violation } from './invariants.js';
import { PacketFacts } from './packet-facts.js';

/** Header and segment checksums of an IPv4/TCP packet whose TCP header is whole. */
function checksumsOk(v: PacketView): { ip: boolean; tcp: boolean } {
  return { ip: v.ip.verifyChecksum(), tcp: v.tcp.verifyChecksum(v.ip.src, v.ip.dst) };
}

/** Rewrites the source to the sidecar with full recomputation, keeping a bad checksum bad. */
function asSentBySidecar(v: PacketView): void {
  const ok = checksumsOk(v);
  v.ip.src = PROXY_ADDR;
  v.tcp.srcPort = PROXY_PORT;
  v.ip.fillChecksum();
  if (!ok.ip) v.ip.checksum ^= 0x5a5a;
  v.tcp.fillChecksum(PROXY_ADDR, v.ip.dst);
  if (!ok.tcp) v.tcp.checksum ^= 0x5a5a;
}

const profiles = new Map<string, KernelProfile>();

export function checkNat(c: FuzzCase, fault?: Fault): void {
  let profile = profiles.get(c.kernel);
  if (!profile) profiles.set(c.kernel, (profile = resolveKernel(c.kernel)));
  // A small initial table: cases hold a few dozen entries (it grows, up to nf_conntrack_max).
  const ct = new Conntrack({ kernel: profile, sysctls: c.sysctls, initialCapacity: 16 });
  const f = new PacketFacts();
  const captured = new PacketView();
  let last = 0;
  const t0 = c.packets.length ? c.packets[0].timeNs : 0;
  c.packets.forEach((p, i) => {
    const n = i + 1;
    const now = Math.max(last, p.timeNs - t0);
    last = now;
    const buf = p.bytes.slice();
    f.read(buf);
    if (!f.ipv4) return;
    const view = f.view;
    // A full TCP header inside the IPv4 total length: what natManip may touch.
    const tcpWhole = f.hasFlags && view.tcp.headerLength >= TCP_MIN_HEADER_LEN;
    const fromServer = tcpWhole && isServerAddr(f.src >>> 0) && isClientAddr(f.dst >>> 0);
    if (fromServer) asSentBySidecar(view);
    const v = trackAndConfirm(ct, buf, 0, f.totalLength, now, fromServer ? 'output' : 'prerouting', (created) => {
      if (created.dir === 0 && !fromServer) ct.bindNat(created.entry, 'dnat', PROXY_ADDR, PROXY_PORT);
    });
    // (A failed confirmation, two servers redirected to one sidecar tuple, dropped the packet.)
    const attached = v.entry >= 0 && (v.outcome === Outcome.ACCEPT || v.outcome === Outcome.IGNORE);
    if (!attached || !tcpWhole) return;
    const before = checksumsOk(view);
    const manip = v.dir === 0 ? 'dst' : 'src';
    const changed = ct.natManip(buf, 0, v.entry, v.dir, manip);
    fault?.afterNat?.(buf, f.flags);
    const after = checksumsOk(view);
    if (after.ip !== before.ip) violation('nat-checksum', n, `IPv4 header checksum ${before.ip ? 'valid' : 'invalid'} before the ${manip} rewrite, ${after.ip ? 'valid' : 'invalid'} after`);
    if (after.tcp !== before.tcp) violation('nat-checksum', n, `TCP checksum ${before.tcp ? 'valid' : 'invalid'} before the ${manip} rewrite, ${after.tcp ? 'valid' : 'invalid'} after`);
    if (!changed) return;
    if (manip === 'dst') {
      if (view.ip.dst !== PROXY_ADDR || view.tcp.dstPort !== PROXY_PORT) {
        violation('nat-checksum', n, 'the REDIRECT rewrite did not set the sidecar address and port');
      }
    } else {
      // Un-NAT: the source becomes the entry's original destination (the server the client asked for).
      const orig = ct.tuple(v.entry, 0);
      if (view.ip.src !== orig.dst || view.tcp.srcPort !== orig.dport) violation('nat-checksum', n, 'the reverse rewrite did not restore the original destination as source');
      // When that server is the one that sent it (one client port can be redirected for two
      // servers, whose replies then share the sidecar's tuple), the bytes are the captured ones.
      const sent = captured.decodeIpv4(p.bytes);
      const own = orig.dst === sent.ip.src && orig.dport === sent.tcp.srcPort;
      if (fromServer && own && before.ip && before.tcp && !bytesEqual(buf, p.bytes)) {
        violation('nat-checksum', n, 'the un-NATed reply differs from the packet the server sent');
      }
    }
  });
}
