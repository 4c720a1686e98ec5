// The typed result of loading a scenario file: what the engine (stage 2: `ctsim run`, matrix,
// kernel-diff --scenario, replay --host) builds hosts, links, processes and checks from. Plain
// data: times in ns, addresses as unsigned 32-bit numbers, rules as iptables-save text with the
// place it came from (so a later error can still name the file and line).
import type { Expectation } from './expectations.js';
import type { InjectInput, StepInput } from './schema.js';

export interface RulesText {
  /**
   * 'restore': iptables-save text, loaded as iptables-restore loads it (each table in it replaces
   * that table); 'commands': one `iptables` argument list per line, applied on top.
   */
  format: 'restore' | 'commands';
  /** Where the text came from: a rules file path, a preset file, or the scenario file (inline). */
  origin: string;
  text: string;
  /** Scenario-file line of the rules field (for messages about the rules as a whole). */
  line: number;
  /** Maps a line of `text` to the line users should look at in `origin`. */
  lineOffset: number;
  /** 'commands': the scenario-file line of each command (text line i+1 is lines[i]). */
  lines?: number[];
}

export interface HostSpec {
  name: string;
  kernel: string;
  /** `name=value` strings as `sysctl -w` and Host take them. */
  sysctls: string[];
  forwarding: boolean;
  interfaces: Array<{ name: string; cidr: string; addr: number; prefixLen: number }>;
  routes: Array<{ to: string; dev: string; via?: number }>;
  rules: RulesText[];
}

export interface LinkSpec {
  a: { host: string; iface: string };
  b: { host: string; iface: string };
  delayNs: number;
  jitterNs: number;
  loss: number;
}

export type Step = StepInput;

export type ProcessSpec =
  | { kind: 'listener'; name: string; host: string; uid: number; gid: number; port: number; respondBytes: number; then?: { action: 'shutdown-wr' | 'close'; afterNs: number } }
  | {
      kind: 'proxy'; name: string; host: string; uid: number; gid: number; listenPort: number;
      upstream: 'original-destination' | { addr: number; port: number }; idleTimeoutNs: number; halfClose: 'shutdown-wr' | 'close';
      /** The upstream cluster's connect_timeout (0 = none). */
      connectTimeoutNs: number;
      /** Local address of the upstream connections (0 = chosen by the route). */
      source: number;
    }
  | { kind: 'app'; name: string; host: string; uid: number; gid: number; timeline: Step[] }
  | { kind: 'inject'; name: string; host: string; uid: number; gid: number; segments: InjectInput[] }
  | {
      kind: 'flood'; name: string; host: string; uid: number; gid: number; to: number; ports: PortRange; fromPorts: PortRange;
      count: number; atNs: number; rate: number | null;
    };

export interface PortRange {
  low: number;
  high: number;
}

export interface ScenarioSpec {
  /** The scenario file (as given). */
  file: string;
  name: string;
  description: string;
  seed: number;
  durationNs: number;
  hosts: HostSpec[];
  links: LinkSpec[];
  processes: ProcessSpec[];
  /** Capture points: host and interface ('*' for every interface of the host). */
  captures: Array<{ host: string; iface: string }>;
  expectations: Expectation[];
  /** Virtual times of the ss / conntrack -L snapshots. */
  snapshotsNs: number[];
  /** The file's `real.set` overrides for kernel-diff (path -> value). */
  realSet: Array<{ path: string; value: string | number | boolean }>;
}
