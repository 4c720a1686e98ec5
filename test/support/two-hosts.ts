// Two emulated hosts on one link: client 198.18.0.1 and server 198.18.0.2 (both /24, eth0), the
// setting most TCP tests start from.
import { Network } from '../../src/sim/network.js';

export interface TwoHostsOptions {
  seed?: number;
  kernel?: string;
  /** One-way delay of the link (default 100 us). */
  latencyNs?: number;
  clientSysctls?: string[];
  serverSysctls?: string[];
}

export function twoHosts(o: TwoHostsOptions = {}) {
  const kernel = o.kernel ?? '6.18';
  const net = new Network(o.seed ?? 1);
  const a = net.addHost({ name: 'client', kernel, sysctls: o.clientSysctls });
  const b = net.addHost({ name: 'server', kernel, sysctls: o.serverSysctls });
  a.addInterface('eth0', '198.18.0.1/24');
  b.addInterface('eth0', '198.18.0.2/24');
  net.connect(a, 'eth0', b, 'eth0', { latencyNs: o.latencyNs ?? 100_000 });
  return { net, a, b };
}
