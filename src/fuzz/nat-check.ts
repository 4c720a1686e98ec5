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
import {
  IPV4_FIELD, IpProtocol, TCP_FIELD, internetChecksum, pseudoHeaderSum, readI32, readU16, writeU16, writeU32, bytesEqual,
} from '../wire/index.js';
import { PROXY_ADDR, PROXY_PORT, isClientAddr, isServerAddr, type FuzzCase } from './case.js';
import type { Fault } from './faults.js';
import { violation } from './invariants.js';
import { PacketFacts } from './packet-facts.js';

function ipChecksumOk(b: Uint8Array): boolean {
  return internetChecksum(b, 0, (b[0] & 0x0f) * 4) === 0;
}

function tcpChecksumOk(b: Uint8Array, hl: number, total: number): boolean {
  const src = readI32(b, IPV4_FIELD.SRC) >>> 0;
  const dst = readI32(b, IPV4_FIELD.DST) >>> 0;
  return internetChecksum(b, hl, total - hl, pseudoHeaderSum(src, dst, IpProtocol.TCP, total - hl)) === 0;
}

/** Rewrites the source to the sidecar with full recomputation, keeping a bad checksum bad. */
function asSentBySidecar(b: Uint8Array, hl: number, total: number): void {
  const ipOk = ipChecksumOk(b);
  const tcpOk = tcpChecksumOk(b, hl, total);
  writeU32(b, IPV4_FIELD.SRC, PROXY_ADDR);
  writeU16(b, hl + TCP_FIELD.SRC_PORT, PROXY_PORT);
  const ipSum = b.subarray(IPV4_FIELD.CHECKSUM, IPV4_FIELD.CHECKSUM + 2);
  ipSum.fill(0);
  writeU16(b, IPV4_FIELD.CHECKSUM, internetChecksum(b, 0, hl) ^ (ipOk ? 0 : 0x5a5a));
  const at = hl + TCP_FIELD.CHECKSUM;
  writeU16(b, at, 0);
  writeU16(b, at, internetChecksum(b, hl, total - hl, pseudoHeaderSum(PROXY_ADDR, readI32(b, IPV4_FIELD.DST) >>> 0, IpProtocol.TCP, total - hl)) ^ (tcpOk ? 0 : 0x5a5a));
}

const profiles = new Map<string, KernelProfile>();

export function checkNat(c: FuzzCase, fault?: Fault): void {
  let profile = profiles.get(c.kernel);
  if (!profile) profiles.set(c.kernel, (profile = resolveKernel(c.kernel)));
  // A small initial table: cases hold a few dozen entries (it grows, up to nf_conntrack_max).
  const ct = new Conntrack({ kernel: profile, sysctls: c.sysctls, initialCapacity: 16 });
  const f = new PacketFacts();
  let last = 0;
  const t0 = c.packets.length ? c.packets[0].timeNs : 0;
  c.packets.forEach((p, i) => {
    const n = i + 1;
    const now = Math.max(last, p.timeNs - t0);
    last = now;
    const buf = p.bytes.slice();
    f.read(buf);
    if (!f.ipv4) return;
    // A full TCP header inside the IPv4 total length: what natManip may touch.
    const tcpWhole = f.hasFlags && f.totalLength - f.headerLength >= TCP_FIELD.CHECKSUM + 2 && ((buf[f.headerLength + TCP_FIELD.OFFSET] >>> 4) * 4) >= 20;
    const fromServer = tcpWhole && isServerAddr(f.src >>> 0) && isClientAddr(f.dst >>> 0);
    if (fromServer) asSentBySidecar(buf, f.headerLength, f.totalLength);
    const v = ct.track(buf, 0, f.totalLength, now, fromServer ? 'output' : 'prerouting');
    const attached = v.entry >= 0 && (v.outcome === Outcome.ACCEPT || v.outcome === Outcome.IGNORE);
    if (attached && v.created) {
      if (v.dir === 0 && !fromServer) ct.bindNat(v.entry, 'dnat', PROXY_ADDR, PROXY_PORT);
      if (!ct.confirm(v.entry, now)) return; // insert clash: two servers redirected to one sidecar tuple
    }
    if (!attached || !tcpWhole) return;
    const hl = f.headerLength;
    const total = f.totalLength;
    const ipBefore = ipChecksumOk(buf);
    const tcpBefore = tcpChecksumOk(buf, hl, total);
    const manip = v.dir === 0 ? 'dst' : 'src';
    const changed = ct.natManip(buf, 0, v.entry, v.dir, manip);
    fault?.afterNat?.(buf, f.flags);
    const ipAfter = ipChecksumOk(buf);
    const tcpAfter = tcpChecksumOk(buf, hl, total);
    if (ipAfter !== ipBefore) violation('nat-checksum', n, `IPv4 header checksum ${ipBefore ? 'valid' : 'invalid'} before the ${manip} rewrite, ${ipAfter ? 'valid' : 'invalid'} after`);
    if (tcpAfter !== tcpBefore) violation('nat-checksum', n, `TCP checksum ${tcpBefore ? 'valid' : 'invalid'} before the ${manip} rewrite, ${tcpAfter ? 'valid' : 'invalid'} after`);
    if (!changed) return;
    if (manip === 'dst') {
      if (readI32(buf, IPV4_FIELD.DST) >>> 0 !== PROXY_ADDR || readU16(buf, hl + TCP_FIELD.DST_PORT) !== PROXY_PORT) {
        violation('nat-checksum', n, 'the REDIRECT rewrite did not set the sidecar address and port');
      }
    } else {
      // Un-NAT: the source becomes the entry's original destination (the server the client asked for).
      const orig = ct.tuple(v.entry, 0);
      const src = readI32(buf, IPV4_FIELD.SRC) >>> 0;
      const sport = readU16(buf, hl + TCP_FIELD.SRC_PORT);
      if (src !== orig.dst || sport !== orig.dport) violation('nat-checksum', n, 'the reverse rewrite did not restore the original destination as source');
      // When that server is the one that sent it (one client port can be redirected for two
      // servers, whose replies then share the sidecar's tuple), the bytes are the captured ones.
      const own = orig.dst === (readI32(p.bytes, IPV4_FIELD.SRC) >>> 0) && orig.dport === readU16(p.bytes, hl + TCP_FIELD.SRC_PORT);
      if (fromServer && own && ipBefore && tcpBefore && !bytesEqual(buf, p.bytes)) {
        violation('nat-checksum', n, 'the un-NATed reply differs from the packet the server sent');
      }
    }
  });
}
