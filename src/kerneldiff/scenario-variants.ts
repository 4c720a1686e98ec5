// Every variant of the seed incidents that can run for real in the scenario lab, with the
// shortened timings that make a run take seconds: the pod's conntrack CLOSE_WAIT timeout by its
// per-namespace sysctl (2 s instead of 60), the sidecar's idle timeout by its option. Each is run
// by the real kernel (scenario-run.ts) and by ctsim with the same options (scenario-compare.ts).
import type { InvalidDropPlacement } from '../scenarios/invalid-drop.js';
import { DEFAULT_OPTIONS, type ScenarioName, type ScenarioOptions } from '../scenarios/scenario-types.js';

export interface ScenarioTimings {
  /** The pod's nf_conntrack_tcp_timeout_close_wait (s; 60 by default). */
  closeWaitSec: number;
  /** When the application close()s its half-closed socket (s after its first connect()). */
  appCloseAtSec: number;
  /** port-collision: when the application connects again (s after its first connect()). */
  reconnectAtSec: number;
  /** port-collision: tries while bind()/connect() fail at once, and the seconds between them. */
  reconnectAttempts: number;
  reconnectIntervalSec: number;
  /** The sidecar's idle timeout (s; Envoy's default is 3600). */
  idleTimeoutSec: number;
  /** Both runs are compared from the first SYN up to this time (s); the real run ends here. */
  windowSec: number;
}

export interface ScenarioVariant {
  /** Names the variant on the command line (`kernel-diff --scenario ID`). */
  id: string;
  name: ScenarioName;
  /** What it shows, for the report. */
  description: string;
  timings: ScenarioTimings;
  /** Pod sysctls beyond the shortened CLOSE_WAIT timeout (net.netfilter.* / net.ipv4.*). */
  sysctls: string[];
  invalidDrop: InvalidDropPlacement | null;
  /** Part of the root test run (`npm test`); the others run with `--scenario all`. */
  inTests: boolean;
}

const HALF_CLOSE: ScenarioTimings = { closeWaitSec: 2, appCloseAtSec: 3, reconnectAtSec: 8, reconnectAttempts: 1, reconnectIntervalSec: 1, idleTimeoutSec: 6, windowSec: 8 };
/** The leak, then the reconnect at 8 s while the sidecar (idle timeout 15 s) still holds its FIN_WAIT2 socket. */
const COLLISION: ScenarioTimings = { closeWaitSec: 2, appCloseAtSec: 3, reconnectAtSec: 8, reconnectAttempts: 10, reconnectIntervalSec: 0.5, idleTimeoutSec: 15, windowSec: 11 };
/** When the old socket owns the 4-tuple, the tries: 10 x 0.5 s from 8 s. */
const RETRYING: ScenarioTimings = { ...COLLISION, windowSec: 14 };

const variant = (v: Omit<ScenarioVariant, 'sysctls' | 'invalidDrop' | 'inTests'> & Partial<ScenarioVariant>): ScenarioVariant => ({ sysctls: [], invalidDrop: null, inTests: false, ...v });

export const SCENARIO_VARIANTS: readonly ScenarioVariant[] = Object.freeze([
  variant({ id: 'half-close-leak', name: 'half-close-leak', timings: HALF_CLOSE, inTests: true,
    description: "the REDIRECT entry expires in CLOSE_WAIT, the app's late FIN escapes to the upstream, the sidecar leaks until its idle timeout" }),
  variant({ id: 'port-collision', name: 'port-collision', timings: COLLISION, inTests: true,
    description: 'the reconnect 8 s after the first connect (ISN after the old sequence space) meets the leaked FIN_WAIT2 socket: challenge ACK, RST, SYN resend' }),
  variant({ id: 'port-collision-isn-before', name: 'port-collision', timings: { ...COLLISION, reconnectAtSec: 150, idleTimeoutSec: 160, windowSec: 153 },
    description: 'the reconnect 150 s after the first connect: the ISN clock (64 ns steps) puts the new ISN before the old sequence space, so the RST lies after the new SYN' }),
  variant({ id: 'close-wait-60', name: 'port-collision', timings: { ...COLLISION, closeWaitSec: 60 },
    description: "conntrack's default CLOSE_WAIT timeout: the app's FIN reaches the sidecar (TIME_WAIT), the reconnect's SYN reuses it (one SYN)" }),
  variant({ id: 'idle-timeout-5', name: 'port-collision', timings: { ...COLLISION, idleTimeoutSec: 5 },
    description: 'a sidecar idle timeout before the reconnect: the leaked sockets are gone, the reconnect is a plain connection' }),
  variant({ id: 'be-liberal', name: 'port-collision', timings: COLLISION, sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'],
    description: 'nf_conntrack_tcp_be_liberal=1' }),
  variant({ id: 'ignore-invalid-rst', name: 'port-collision', timings: COLLISION, sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'],
    description: 'nf_conntrack_tcp_ignore_invalid_rst=1' }),
  variant({ id: 'invalid-drop-mangle-prerouting', name: 'port-collision', timings: RETRYING, invalidDrop: 'mangle-prerouting', inTests: true,
    description: "Istio's INVALID_DROP: the upstream's RST to the late FIN is dropped, the app's socket stays in LAST_ACK owning the 4-tuple: EADDRNOTAVAIL" }),
  variant({ id: 'invalid-drop-filter-output', name: 'port-collision', timings: RETRYING, invalidDrop: 'filter-output',
    description: 'the late FIN itself is dropped before it leaves: the socket keeps it queued (zero-window probes), EADDRNOTAVAIL' }),
  variant({ id: 'invalid-drop-filter-input', name: 'port-collision', timings: RETRYING, invalidDrop: 'filter-input',
    description: "the upstream's RST to the late FIN is dropped in INPUT: LAST_ACK, EADDRNOTAVAIL" }),
  variant({ id: 'invalid-drop-raw-prerouting', name: 'port-collision', timings: { ...RETRYING, windowSec: 16 }, invalidDrop: 'raw-prerouting',
    description: 'raw PREROUTING runs before conntrack: every packet from eth0 is INVALID there and dropped; the sidecar never reaches the upstream' }),
  variant({ id: 'invalid-drop-orphan-retries-1', name: 'port-collision', timings: { ...RETRYING, reconnectAtSec: 3.25, reconnectIntervalSec: 0.25, reconnectAttempts: 12, windowSec: 8 },
    invalidDrop: 'mangle-prerouting', sysctls: ['net.ipv4.tcp_orphan_retries=1'],
    description: 'with tcp_orphan_retries=1 the LAST_ACK socket gives up within a second: EADDRNOTAVAIL for a while, then the reconnect goes out' }),
]);

export function findVariant(id: string): ScenarioVariant | undefined {
  return SCENARIO_VARIANTS.find((v) => v.id === id);
}

/** The pod's sysctls for a variant (the same list goes to ctsim's pod host and to the real pod). */
export function variantSysctls(v: ScenarioVariant): string[] {
  return [`net.netfilter.nf_conntrack_tcp_timeout_close_wait=${v.timings.closeWaitSec}`, ...v.sysctls];
}

/** ctsim's options for a variant on kernel profile `kernel`. */
export function variantOptions(v: ScenarioVariant, kernel: string): ScenarioOptions {
  const t = v.timings;
  return {
    ...DEFAULT_OPTIONS, kernel, sysctls: variantSysctls(v), invalidDrop: v.invalidDrop, idleTimeoutSec: t.idleTimeoutSec,
    appCloseAtSec: t.appCloseAtSec, reconnectAtSec: t.reconnectAtSec, reconnectAttempts: t.reconnectAttempts, reconnectIntervalSec: t.reconnectIntervalSec,
  };
}
