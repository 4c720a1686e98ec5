// Public face of conntrack (`ctsim/conntrack`): the engine, kernel profiles and their switches,
// sysctls, the typed verdict and its text. Internals (the table's columns, the tracker) stay
// reachable through Conntrack's fields, not as entry points.
export { Conntrack } from './conntrack.js';
export type { ConntrackHook, ConntrackOptions, ConntrackStats } from './conntrack.js';
export { ConfigError } from './errors.js';
export { formatEntryLine, formatEvent } from './events.js';
export type { ConntrackEvent, ConntrackEventType, DestroyReason } from './events.js';
export { KERNEL_CHANGES } from './kernel-changes.js';
export type { KernelChange } from './kernel-changes.js';
export { KNOWN_RELEASES, NEWEST_NAME, OLDEST, VENDOR_PROFILES, parseKernelVersion, releaseHas, resolveKernel } from './kernel-profile.js';
export type { KernelProfile, KernelVersion } from './kernel-profile.js';
export type { TcpBehaviour } from './tcp-behaviour.js';
export { Reason, formatReason } from './reasons.js';
export type { LogWording, ReasonArgs } from './reasons.js';
export { Status, statusNames, visibleStatusNames } from './status.js';
export { SYSCTL_DEFS, applySysctls, defaultSysctls, normaliseSysctlName } from './sysctls.js';
export type { SysctlDef, SysctlValues } from './sysctls.js';
export { Dir, TCP_CLASS_NAMES, TCP_STATE_NAMES, TcpCtState, TcpPacketClass, classifyTcp, tcpStateName } from './tcp-states.js';
export { nextTcpState } from './tcp-state-table.js';
export { formatTuple } from './tuple.js';
export type { Tuple } from './tuple.js';
export { describeVerdict, formatVerdict } from './verdict-text.js';
export type { VerdictFields } from './verdict-text.js';
export { CtInfo, OUTCOME_NAMES, Outcome, RstBranch, RstExplain, Verdict, WindowExplain, ctinfoName, outcomeName, verdictCtState } from './verdict.js';
export type { CtInfoName, CtState, OutcomeName } from './verdict.js';
