// The net.ipv4 TCP sysctls the endpoint emulation uses, with Linux defaults
// (Documentation/networking/ip-sysctl.rst) and the per-release differences that matter here.
import type { KernelProfile } from '../../conntrack/kernel-profile.js';
import { ConfigError } from '../../conntrack/errors.js';

export interface TcpSysctls {
  /** SYN retransmissions before connect() fails (default 6: 127 s). */
  tcp_syn_retries: number;
  /** v6.5+: the first N SYN retransmission timeouts stay at the initial RTO (default 4). 0 before 6.5. */
  tcp_syn_linear_timeouts: number;
  tcp_synack_retries: number;
  /** Seconds an orphaned FIN_WAIT2 socket lives. */
  tcp_fin_timeout: number;
  /** ms between out-of-window / challenge ACKs of one socket (tcp_oow_rate_limited). */
  tcp_invalid_ratelimit: number;
  /** RFC 5961 challenge ACKs per second (host-wide before 6.0, per netns and INT_MAX = unlimited after). */
  tcp_challenge_ack_limit: number;
  tcp_retries2: number;
  tcp_orphan_retries: number;
  ip_local_port_range: [number, number];
  tcp_timestamps: number;
  tcp_sack: number;
  tcp_window_scaling: number;
  /** TIME_WAIT reuse for new outgoing connections on ephemeral ports: 0 off, 1 on, 2 loopback only (the default since 4.x's "tcp: Add tcp_tw_reuse option for loopback only"). */
  tcp_tw_reuse: number;
  /** ms a TIME_WAIT's last timestamp must be old before tcp_tw_reuse takes it (v6.13+, default 1000). */
  tcp_tw_reuse_delay: number;
  /** A retransmission takes the small segments queued after it into the same segment, up to the MSS (tcp_retrans_try_collapse; default 1). */
  tcp_retrans_collapse: number;
  /** Kernel timer frequency: TCP_TIMEOUT_MIN is 2 jiffies (CONFIG_HZ=250 in Debian, Ubuntu and SUSE configs). */
  hz: number;
}

export function defaultTcpSysctls(p: KernelProfile): TcpSysctls {
  return {
    tcp_syn_retries: 6,
    tcp_syn_linear_timeouts: p.synLinearTimeouts ? 4 : 0,
    tcp_synack_retries: 5,
    tcp_fin_timeout: 60,
    tcp_invalid_ratelimit: 500,
    tcp_challenge_ack_limit: p.challengeAckLimit,
    tcp_retries2: 15,
    tcp_orphan_retries: 0,
    ip_local_port_range: [32768, 60999],
    tcp_timestamps: 1,
    tcp_sack: 1,
    tcp_window_scaling: 1,
    tcp_tw_reuse: 2,
    tcp_tw_reuse_delay: 1000,
    tcp_retrans_collapse: 1,
    hz: 250,
  };
}

/** Applies `net.ipv4.NAME=VALUE` settings (the other sysctls are conntrack's). */
export function applyTcpSysctls(base: TcpSysctls, settings: readonly string[], p: KernelProfile): TcpSysctls {
  const out = { ...base, ip_local_port_range: [...base.ip_local_port_range] as [number, number] };
  for (const s of settings) {
    const m = /^\s*(?:net[./]ipv4[./])?([a-z0-9_]+)\s*=\s*(.+)$/.exec(s);
    if (!m) throw new ConfigError(`net.ipv4 setting needs name=value, got ${JSON.stringify(s)}`);
    const [, name, raw] = m;
    if (name === 'ip_local_port_range') {
      const r = /^(\d+)[\s,:-]+(\d+)$/.exec(raw.trim());
      if (!r || +r[1] < 1 || +r[2] > 65535 || +r[1] > +r[2]) throw new ConfigError(`net.ipv4.ip_local_port_range=${raw}: need "low high" within 1..65535`);
      out.ip_local_port_range = [+r[1], +r[2]];
      continue;
    }
    if (!(name in out) || name === 'hz') throw new ConfigError(`unknown or unmodelled sysctl net.ipv4.${name}`);
    if (name === 'tcp_syn_linear_timeouts' && !p.synLinearTimeouts) throw new ConfigError(`net.ipv4.tcp_syn_linear_timeouts does not exist on ${p.name}: it was added in v6.5`);
    if (name === 'tcp_tw_reuse_delay' && !p.twReuseDelay) throw new ConfigError(`net.ipv4.tcp_tw_reuse_delay does not exist on ${p.name}: it was added in v6.13`);
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`net.ipv4.${name}=${raw}: not a non-negative integer`);
    (out as unknown as Record<string, number>)[name] = Number(raw.trim());
  }
  return out;
}

/** Splits `--sysctl` settings into conntrack's (net.netfilter.*) and the stack's (net.ipv4.*). */
export function splitSysctls(settings: readonly string[]): { netfilter: string[]; ipv4: string[] } {
  const netfilter: string[] = [];
  const ipv4: string[] = [];
  for (const s of settings) (/^\s*net[./]ipv4[./]/.test(s) || /^\s*(tcp_|ip_local)/.test(s) ? ipv4 : netfilter).push(s);
  return { netfilter, ipv4 };
}
