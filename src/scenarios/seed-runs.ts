// The seed runs: both incidents on the kernels of the incident report (SLES 15 SP4, Ubuntu
// 20.04), with and without each mitigation, and on the releases either side of c410cb974f2b
// (challenge ACKs during connection reuse, stable 6.1.9), which changes the port-collision outcome. `ctsim seed` writes their pcaps and ladders into pcaps/, and
// the suite regenerates every one of them byte for byte.
import type { ScenarioName, ScenarioOptions } from './scenario-types.js';

export interface SeedRun {
  name: ScenarioName;
  /** What differs from DEFAULT_OPTIONS. */
  o: Partial<ScenarioOptions>;
}

export const SEED_RUNS: readonly SeedRun[] = [
  { name: 'half-close-leak', o: { kernel: 'sles-15-sp4' } },
  { name: 'half-close-leak', o: { kernel: 'sles-15-sp4', sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=3700'] } },
  // Reconnect 120 s after the first connect: the ISN clock puts the new SYN after the old sequence space.
  { name: 'port-collision', o: { kernel: 'sles-15-sp4' } },
  // 200 s after: the other half of the 274.9 s ISN cycle, where the affected kernels time out.
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', reconnectAtSec: 200, sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] } },
  { name: 'port-collision', o: { kernel: 'ubuntu-20.04', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.1.8', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.1.9', reconnectAtSec: 200 } },
  { name: 'port-collision', o: { kernel: '6.18', reconnectAtSec: 200 } },
  // Istio's INVALID drop: the app's old socket stays in LAST_ACK owning the 4-tuple: EADDRNOTAVAIL.
  { name: 'port-collision', o: { kernel: '6.18', invalidDrop: 'mangle-prerouting' } },
  { name: 'port-collision', o: { kernel: '6.18', invalidDrop: 'filter-output' } },
  { name: 'port-collision', o: { kernel: 'sles-15-sp4', invalidDrop: 'mangle-prerouting', reconnectAtSec: 200 } },
];
