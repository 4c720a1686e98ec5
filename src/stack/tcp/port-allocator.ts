// Ephemeral port choice for connect() as __inet_hash_connect() does it (net/ipv4/
// inet_hashtables.c, 5.15.41+ / 6.x form): a keyed hash of (saddr, daddr, dport) picks a slot of a
// 2^16-entry perturbation table; the scan starts at (table[slot] + hash_hi) % range, even offsets
// first (ports of the range's low parity), then odd; a port is usable when no bind()-owned socket
// holds it and the 4-tuple is not in use. On success table[slot] advances by i + 2. The boot
// secret comes from the run's seed, so choices are reproducible.
import { hashTuple } from '../../conntrack/tuple-hash.js';

const PERTURB_SIZE = 1 << 16;

export class PortAllocator {
  private readonly perturb = new Uint32Array(PERTURB_SIZE);

  constructor(private readonly secret: number) {}

  /**
   * Picks a local port for (saddr -> daddr:dport) within [low, high], or -1 (EADDRNOTAVAIL).
   * `usable(port)` says whether the port can be used for this 4-tuple.
   */
  choose(saddr: number, daddr: number, dport: number, low: number, high: number, usable: (port: number) => boolean): number {
    const h1 = hashTuple(this.secret, saddr, daddr, dport, 1) >>> 0;
    const h2 = hashTuple(this.secret ^ 0x5bd1e995, saddr, daddr, dport, 2) >>> 0;
    const remaining = ((high + 1 - low) & ~1) || 1;
    const index = h1 & (PERTURB_SIZE - 1);
    let offset = (this.perturb[index] + h2) % remaining;
    offset &= ~1; // start on the range's low parity: connect() prefers even offsets, bind(0) odd ones
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < remaining; i += 2) {
        const port = low + ((offset + i) % remaining);
        if (port > high) continue;
        if (usable(port)) {
          this.perturb[index] = (this.perturb[index] + i + 2) >>> 0;
          return port;
        }
      }
      offset++; // second pass: the other parity
    }
    return -1;
  }
}
