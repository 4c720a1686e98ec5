// Every variant of the seed incidents that can run for real, as overrides of the shipped files
// scenarios/half-close-leak.yaml and port-collision.yaml (seed-knobs.ts): the file's real.set
// (conntrack's CLOSE_WAIT timeout 2 s instead of 60, the app's close at 3 s, the reconnect at
// 8 s, a short idle timeout) and then the variant's own knobs. `kernel-diff --scenario ID` runs
// one; the real run and ctsim's run are of the same spec (scenario-compare.ts).
import { loadScenarioFile } from '../scenarios/file/load.js';
import { scenarioPath } from '../scenarios/file/shipped.js';
import type { ScenarioSpec } from '../scenarios/file/spec.js';
import type { LoadOverrides } from '../scenarios/file/overrides.js';
import { seedOverrides, type SeedKnobs, type SeedName } from '../scenarios/seed-knobs.js';

export interface ScenarioVariant {
  /** Names the variant on the command line (`kernel-diff --scenario ID`). */
  id: string;
  name: SeedName;
  /** What it shows, for the report. */
  description: string;
  /** Knobs on top of the file's real.set. */
  knobs: SeedKnobs;
  /** Part of the root test run (`npm test`); the others run with `--scenario all`. */
  inTests: boolean;
}

/** While the old socket owns the 4-tuple: 10 tries 0.5 s apart from 8 s, compared over 14 s. */
const RETRYING: SeedKnobs = { durationSec: 14 };

const variant = (v: Omit<ScenarioVariant, 'knobs' | 'inTests'> & Partial<ScenarioVariant>): ScenarioVariant => ({ knobs: {}, inTests: false, ...v });

export const SCENARIO_VARIANTS: readonly ScenarioVariant[] = Object.freeze([
  variant({ id: 'half-close-leak', name: 'half-close-leak', inTests: true,
    description: "the REDIRECT entry expires in CLOSE_WAIT, the app's late FIN escapes to the upstream, the sidecar leaks until its idle timeout" }),
  variant({ id: 'port-collision', name: 'port-collision', inTests: true,
    description: 'the reconnect 8 s after the first connect (ISN after the old sequence space) meets the leaked FIN_WAIT2 socket: challenge ACK, RST, SYN resend' }),
  variant({ id: 'port-collision-isn-before', name: 'port-collision', knobs: { reconnectAtSec: 150, idleTimeoutSec: 160, durationSec: 153 },
    description: 'the reconnect 150 s after the first connect: the ISN clock (64 ns steps) puts the new ISN before the old sequence space, so the RST lies after the new SYN' }),
  variant({ id: 'close-wait-60', name: 'port-collision', knobs: { sysctls: ['net.netfilter.nf_conntrack_tcp_timeout_close_wait=60'] },
    description: "conntrack's default CLOSE_WAIT timeout: the app's FIN reaches the sidecar (TIME_WAIT), the reconnect's SYN reuses it (one SYN)" }),
  variant({ id: 'idle-timeout-5', name: 'port-collision', knobs: { idleTimeoutSec: 5 },
    description: 'a sidecar idle timeout before the reconnect: the leaked sockets are gone, the reconnect is a plain connection' }),
  variant({ id: 'be-liberal', name: 'port-collision', knobs: { sysctls: ['net.netfilter.nf_conntrack_tcp_be_liberal=1'] },
    description: 'nf_conntrack_tcp_be_liberal=1' }),
  variant({ id: 'ignore-invalid-rst', name: 'port-collision', knobs: { sysctls: ['net.netfilter.nf_conntrack_tcp_ignore_invalid_rst=1'] },
    description: 'nf_conntrack_tcp_ignore_invalid_rst=1' }),
  variant({ id: 'invalid-drop-mangle-prerouting', name: 'port-collision', knobs: { ...RETRYING, invalidDrop: 'mangle-prerouting' }, inTests: true,
    description: "Istio's INVALID_DROP: the upstream's RST to the late FIN is dropped, the app's socket stays in LAST_ACK owning the 4-tuple: EADDRNOTAVAIL" }),
  variant({ id: 'invalid-drop-filter-output', name: 'port-collision', knobs: { ...RETRYING, invalidDrop: 'filter-output' },
    description: 'the late FIN itself is dropped before it leaves: the socket keeps it queued (zero-window probes), EADDRNOTAVAIL' }),
  variant({ id: 'invalid-drop-filter-input', name: 'port-collision', knobs: { ...RETRYING, invalidDrop: 'filter-input' },
    description: "the upstream's RST to the late FIN is dropped in INPUT: LAST_ACK, EADDRNOTAVAIL" }),
  variant({ id: 'invalid-drop-raw-prerouting', name: 'port-collision', knobs: { durationSec: 16, invalidDrop: 'raw-prerouting' },
    description: 'raw PREROUTING runs before conntrack: every packet from eth0 is INVALID there and dropped; the sidecar never reaches the upstream' }),
  variant({ id: 'invalid-drop-orphan-retries-1', name: 'port-collision',
    knobs: { durationSec: 8, snapshotsSec: [1, 4], reconnectAtSec: 3.25, reconnectIntervalSec: 0.25, reconnectAttempts: 12, invalidDrop: 'mangle-prerouting', sysctls: ['net.ipv4.tcp_orphan_retries=1'] },
    description: 'with tcp_orphan_retries=1 the LAST_ACK socket gives up within a second: EADDRNOTAVAIL for a while, then the reconnect goes out' }),
]);

export function findVariant(id: string): ScenarioVariant | undefined {
  return SCENARIO_VARIANTS.find((v) => v.id === id);
}

/** The variant's spec for a real run: its file, the file's real.set, the variant's knobs, then `extra` (the command line's). */
export function variantSpec(v: ScenarioVariant, extra: LoadOverrides = {}): ScenarioSpec {
  const file = scenarioPath(v.name);
  const realSet = loadScenarioFile(file).realSet.map((x) => `${x.path}=${String(x.value)}`);
  const k = seedOverrides(v.name, v.knobs);
  return loadScenarioFile(file, {
    kernel: extra.kernel ?? k.kernel,
    sysctls: extra.sysctls,
    set: [...realSet, ...(k.set ?? []), ...(extra.set ?? [])],
  });
}
