// The conntrack sysctls of /proc/sys/net/netfilter/ that change TCP tracking, with the kernel's
// defaults (nf_conntrack_proto_tcp.c tcp_timeouts[], nf_conntrack_standalone.c) and ranges.
// Names are accepted as `sysctl -w` takes them, with or without the `net.netfilter.` prefix.
import { ConfigError } from './errors.js';
import { TcpCtState } from './tcp-states.js';
import type { TcpBehaviour } from './tcp-behaviour.js';

export interface SysctlDef {
  name: string;
  /** Default on the modelled machine (x86-64, > 4 GiB RAM). */
  def: number;
  min: number;
  max: number;
  unit: 's' | 'bool' | 'count';
  /** The behaviour switch a kernel must have for the sysctl to exist. */
  requires?: keyof TcpBehaviour;
  help: string;
}

const U32 = 0xffffffff;
const INT_MAX = 0x7fffffff;

export const SYSCTL_DEFS: readonly SysctlDef[] = [
  { name: 'nf_conntrack_tcp_timeout_syn_sent', def: 120, min: 0, max: INT_MAX, unit: 's', help: 'SYN_SENT timeout' },
  { name: 'nf_conntrack_tcp_timeout_syn_recv', def: 60, min: 0, max: INT_MAX, unit: 's', help: 'SYN_RECV timeout' },
  { name: 'nf_conntrack_tcp_timeout_established', def: 432000, min: 0, max: INT_MAX, unit: 's', help: 'ESTABLISHED timeout (5 days)' },
  { name: 'nf_conntrack_tcp_timeout_fin_wait', def: 120, min: 0, max: INT_MAX, unit: 's', help: 'FIN_WAIT timeout' },
  { name: 'nf_conntrack_tcp_timeout_close_wait', def: 60, min: 0, max: INT_MAX, unit: 's', help: 'CLOSE_WAIT timeout' },
  { name: 'nf_conntrack_tcp_timeout_last_ack', def: 30, min: 0, max: INT_MAX, unit: 's', help: 'LAST_ACK timeout' },
  { name: 'nf_conntrack_tcp_timeout_time_wait', def: 120, min: 0, max: INT_MAX, unit: 's', help: 'TIME_WAIT timeout' },
  { name: 'nf_conntrack_tcp_timeout_close', def: 10, min: 0, max: INT_MAX, unit: 's', help: 'CLOSE timeout, also used after any accepted RST' },
  { name: 'nf_conntrack_tcp_timeout_max_retrans', def: 300, min: 0, max: INT_MAX, unit: 's', help: 'timeout once retransmissions reach nf_conntrack_tcp_max_retrans, or the window is 0' },
  { name: 'nf_conntrack_tcp_timeout_unacknowledged', def: 300, min: 0, max: INT_MAX, unit: 's', help: 'timeout while data is unacknowledged' },
  { name: 'nf_conntrack_tcp_loose', def: 1, min: 0, max: 1, unit: 'bool', help: 'pick up connections from a mid-stream ACK' },
  { name: 'nf_conntrack_tcp_be_liberal', def: 0, min: 0, max: 1, unit: 'bool', help: 'accept out-of-window packets (RST checks still apply)' },
  { name: 'nf_conntrack_tcp_max_retrans', def: 3, min: 0, max: 255, unit: 'count', help: 'identical retransmissions before the max_retrans timeout' },
  { name: 'nf_conntrack_tcp_ignore_invalid_rst', def: 0, min: 0, max: 1, unit: 'bool', requires: 'ignoreInvalidRstSysctl', help: 'do not mark RSTs below the peer max ACK INVALID (v5.14+)' },
  { name: 'nf_conntrack_checksum', def: 1, min: 0, max: 1, unit: 'bool', help: 'verify TCP checksums of packets arriving on an interface (PREROUTING)' },
  { name: 'nf_conntrack_max', def: 262144, min: 1, max: U32, unit: 'count', help: 'maximum number of entries (262144 on a >4 GiB x86-64 host in every modelled series)' },
];

const BY_NAME = new Map(SYSCTL_DEFS.map((d) => [d.name, d]));

export type SysctlValues = Record<string, number>;

export function normaliseSysctlName(raw: string): string {
  return raw.trim().replace(/^net[./]netfilter[./]/, '').replace(/\//g, '.');
}

/** Kernel defaults for a kernel with the given behaviour (sysctls it lacks are absent). */
export function defaultSysctls(b: TcpBehaviour): SysctlValues {
  const v: SysctlValues = {};
  for (const d of SYSCTL_DEFS) if (!d.requires || b[d.requires]) v[d.name] = d.def;
  return v;
}

/**
 * Applies `name=value` settings; a sysctl the kernel does not have, an unknown name or a value
 * out of range is a ConfigError naming it (as `sysctl -w` would fail).
 */
export function applySysctls(base: SysctlValues, settings: readonly string[], b: TcpBehaviour, kernelName: string): SysctlValues {
  const out = { ...base };
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq < 0) throw new ConfigError(`--sysctl needs name=value, got ${JSON.stringify(s)}`);
    const name = normaliseSysctlName(s.slice(0, eq));
    const raw = s.slice(eq + 1).trim();
    const def = BY_NAME.get(name);
    if (!def) throw new ConfigError(`unknown sysctl net.netfilter.${name} (known: ${SYSCTL_DEFS.map((d) => d.name).join(', ')})`);
    if (def.requires && !b[def.requires]) {
      throw new ConfigError(`net.netfilter.${name} does not exist on ${kernelName}: it was added in v5.14 (commit 1da4cd82dd18 "netfilter: conntrack: add new sysctl to disable RST check")`);
    }
    if (!/^\d+$/.test(raw)) throw new ConfigError(`net.netfilter.${name}=${raw}: not a non-negative integer`);
    const value = Number(raw);
    if (value < def.min || value > def.max) throw new ConfigError(`net.netfilter.${name}=${raw}: out of range ${def.min}..${def.max}`);
    out[name] = value;
  }
  return out;
}

/** tcp_timeouts[] indexed by TcpCtState (plus RETRANS and UNACK), in nanoseconds. */
export function timeoutTableNs(v: SysctlValues): Float64Array {
  const t = new Float64Array(14);
  const s = (name: string) => (v[name] ?? 0) * 1e9;
  t[TcpCtState.NONE] = s('nf_conntrack_tcp_timeout_syn_sent');
  t[TcpCtState.SYN_SENT] = s('nf_conntrack_tcp_timeout_syn_sent');
  t[TcpCtState.SYN_RECV] = s('nf_conntrack_tcp_timeout_syn_recv');
  t[TcpCtState.ESTABLISHED] = s('nf_conntrack_tcp_timeout_established');
  t[TcpCtState.FIN_WAIT] = s('nf_conntrack_tcp_timeout_fin_wait');
  t[TcpCtState.CLOSE_WAIT] = s('nf_conntrack_tcp_timeout_close_wait');
  t[TcpCtState.LAST_ACK] = s('nf_conntrack_tcp_timeout_last_ack');
  t[TcpCtState.TIME_WAIT] = s('nf_conntrack_tcp_timeout_time_wait');
  t[TcpCtState.CLOSE] = s('nf_conntrack_tcp_timeout_close');
  t[TcpCtState.SYN_SENT2] = 120e9; // no sysctl: only a cttimeout policy can change it
  t[TcpCtState.RETRANS] = s('nf_conntrack_tcp_timeout_max_retrans');
  t[TcpCtState.UNACK] = s('nf_conntrack_tcp_timeout_unacknowledged');
  return t;
}
