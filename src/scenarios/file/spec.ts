// The typed result of loading a scenario file: what the engine (stage 2: `ctsim run`, matrix,
// kernel-diff --scenario, replay --host) builds hosts, links, processes and checks from. Plain
// data: times in ns, addresses as unsigned 32-bit numbers, rules as iptables-save text with the
// place it came from (so a later error can still name the file and line).
import type { Expectation } from './expectations.js';
import type { StepInput } from './schema.js';

export interface RulesText {
  /** Where the text came from: a rules file path, a preset file, or "<scenario file> (inline at line N)". */
  origin: string;
  text: string;
  /** Scenario-file line of the rules field (for messages about the rules as a whole). */
  line: number;
  /** Maps a line of `text` to the line users should look at in `origin`. */
  lineOffset: number;
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
    }
  | { kind: 'app'; name: string; host: string; uid: number; gid: number; timeline: Step[] };

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
}
