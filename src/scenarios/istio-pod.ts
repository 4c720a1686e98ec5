// The seed incidents' topology: a Kubernetes-style pod (application uid 1000 and an Envoy-like
// sidecar uid 1337 in one network namespace, Istio's iptables capture rules) and an upstream host
// on the same link. Every interface is captured.
import { parseIptablesSave } from '../stack/iptables/restore.js';
import { ISTIO_DEFAULTS, loadIstioPreset } from '../stack/presets/istio.js';
import { invalidDropRules, type InvalidDropPlacement } from './invalid-drop.js';
import type { Host } from '../stack/host.js';
import { SEC } from '../stack/scheduler.js';
import { Network } from '../sim/network.js';
import { TcpProxy } from '../proxy/tcp-proxy.js';
import { ip } from '../wire/index.js';
import { ClientApp, ServerApp } from './apps.js';

export const POD_IP = '198.18.1.10';
export const UPSTREAM_IP = '198.18.1.20';
export const UPSTREAM_PORT = 8080;
/** The sidecar's outbound capture port and owner (Istio's defaults). */
export const SIDECAR_PORT = ISTIO_DEFAULTS.outboundCapturePort;
export const SIDECAR_UID = ISTIO_DEFAULTS.proxyUid;

export interface PodOptions {
  kernel: string;
  /** net.netfilter.* / net.ipv4.* settings for the pod's namespace. */
  sysctls: string[];
  /** Where the pod drops --ctstate INVALID (Istio's INVALID_DROP: mangle PREROUTING), or null. */
  invalidDrop: InvalidDropPlacement | null;
  /** CONFIG_HZ of both kernels. */
  hz?: number;
  /** Sidecar tcp_proxy idle_timeout in seconds. */
  idleTimeoutSec: number;
  seed: number;
  /** Upstream kernel (the far side is an ordinary host). */
  upstreamKernel?: string;
}

export interface PodTopology {
  net: Network;
  pod: Host;
  upstream: Host;
  sidecar: TcpProxy;
  server: ServerApp;
  app: ClientApp;
  upstreamAddr: number;
}

export function buildIstioPod(o: PodOptions): PodTopology {
  const net = new Network(o.seed);
  const rules = loadIstioPreset({ invalidDrop: false });
  if (o.invalidDrop) parseIptablesSave(invalidDropRules(o.invalidDrop), { into: rules });
  const pod = net.addHost({ name: 'pod', kernel: o.kernel, sysctls: o.sysctls, rules, hz: o.hz });
  const upstream = net.addHost({ name: 'upstream', kernel: o.upstreamKernel ?? o.kernel, hz: o.hz });
  pod.addInterface('eth0', `${POD_IP}/24`);
  upstream.addInterface('eth0', `${UPSTREAM_IP}/24`);
  net.connect(pod, 'eth0', upstream, 'eth0', { latencyNs: 100_000 });
  const sidecar = new TcpProxy(pod, { listenPort: SIDECAR_PORT, uid: SIDECAR_UID, idleTimeoutNs: o.idleTimeoutSec * SEC });
  const server = new ServerApp(upstream, { port: UPSTREAM_PORT, response: new Uint8Array(200).fill(0x42) });
  return { net, pod, upstream, sidecar, server, app: new ClientApp(pod, 1000), upstreamAddr: ip(UPSTREAM_IP) };
}
