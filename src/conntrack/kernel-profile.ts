// A kernel profile: which behaviour switches a given Linux release (mainline or stable point
// release, or a named vendor kernel) has, derived from KERNEL_CHANGES. A series number alone is
// not enough: fixes were backported to stable point releases, so "5.10.166" differs from "5.10".
import { recogniseDistroRelease } from './distro-kernels.js';
import { ConfigError } from './errors.js';
import { KERNEL_CHANGES, logWordingFor, type KernelChange } from './kernel-changes.js';
import type { LogWording } from './reasons.js';
import { BASELINE_BEHAVIOUR, type TcpBehaviour } from './tcp-behaviour.js';

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface KernelProfile {
  /** As given on the command line (normalised), e.g. "6.1.9" or "sles-15-sp4". */
  name: string;
  /** The upstream release whose behaviour is modelled. */
  version: KernelVersion;
  behaviour: TcpBehaviour;
  /** Changes present, by id. */
  changes: string[];
  wording: LogWording;
  /** SYN retransmission model of the endpoint stack: tcp_syn_linear_timeouts exists (v6.5+). */
  synLinearTimeouts: boolean;
  /** net.ipv4.tcp_challenge_ack_limit default: 1000/s host-wide before v6.0, unlimited after. */
  challengeAckLimit: number;
  /** Early SYN resend after an unacceptable ACK in SYN_SENT (v5.6+). */
  earlySynResend: boolean;
  /**
   * TCP_PINGPONG_THRESH: interactive exchanges before delayed ACKs replace quick ACKs. 3 from
   * 4a41f453bedf "tcp: change pingpong threshold to 3" (v5.1; only the first data segment sent in
   * answer counts) until 4d8f24eeedc5 "Revert ..." (v5.19); 1 otherwise (sysctl
   * net.ipv4.tcp_pingpong_thresh since 562b1fdf061b, v6.7, default 1). Stable backports of the
   * revert are not determined: mainline releases only.
   */
  pingpongThresh: number;
  /**
   * tp->tsoffset is the second half of the ISN's SipHash of the 4-tuple ("tcp: secure_seq: add
   * back ports to TS offset", 2026, in stable 6.12.y and 6.18.y: Debian's 6.12.117 has it, the
   * real 6.18.44 shows per-tuple offsets); before, secure_tcp_ts_off() hashed the address pair.
   */
  tsOffsetPerTuple: boolean;
  /**
   * tcp_twsk_unique() never hands an orphaned FIN_WAIT2 minisocket to an ephemeral connect()
   * (in Debian's 6.12.117 source; the real 6.18.44 refuses it with EADDRNOTAVAIL). Releases
   * before 6.12 are assumed not to have it: ctsim has not read their code.
   */
  twFinWait2NoReuse: boolean;
  /**
   * net.ipv4.tcp_tw_reuse_delay: tcp_twsk_unique() wants the TIME_WAIT's last timestamp that many
   * ms old (tcp_clock_ms) instead of from an earlier second ("tcp: add sysctl_tcp_tw_reuse_delay";
   * the real 6.18.44 has the sysctl, Debian's 6.12.117 source does not; v6.13 is assumed).
   */
  twReuseDelay: boolean;
  /**
   * tcp_cwnd_test() lets a lone final FIN out whatever the congestion window ("Don't be strict
   * about the congestion window for the final FIN"): so after an RTO, close() still sends its FIN
   * at once. In Debian's 6.1.192 source, and seen in a 6.1.192 UML guest (kernel-diff --scenario
   * notrack-sidecar-bypass); gone from Debian's 6.12.118 source and from the real 6.18.44, which
   * holds the FIN behind the unacknowledged data. The removing commit is not identified and
   * 6.2-6.11 were not read: they are assumed to keep it (releases before 6.12).
   */
  finCwndExempt: boolean;
  note: string;
}

/** The oldest and newest releases ctsim models; outside this range it refuses rather than guess. */
export const OLDEST: KernelVersion = { major: 4, minor: 19, patch: 0 };
export const NEWEST_NAME = '6.18';

const VERSION_RE = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~_].*)?$/;

export function parseKernelVersion(text: string): KernelVersion | null {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]) };
}

function cmp(a: KernelVersion, b: KernelVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function series(v: KernelVersion): string {
  return `${v.major}.${v.minor}`;
}

function seriesOf(text: string): KernelVersion {
  const [major, minor] = text.split('.').map(Number);
  return { major, minor, patch: 0 };
}

/** Is `change` in release v? Mainline from its release on, or a stable backport at or after its point. */
export function releaseHas(change: KernelChange, v: KernelVersion): boolean {
  const main = seriesOf(change.mainline);
  if (v.major > main.major || (v.major === main.major && v.minor >= main.minor)) return true;
  const point = change.stable[series(v)];
  return point !== undefined && v.patch >= point;
}

function build(name: string, v: KernelVersion, changes: KernelChange[], note: string): KernelProfile {
  const behaviour: TcpBehaviour = { ...BASELINE_BEHAVIOUR };
  for (const c of changes) for (const s of c.sets) behaviour[s] = true;
  const atLeast = (major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);
  return {
    name,
    version: v,
    behaviour,
    changes: changes.map((c) => c.id),
    wording: logWordingFor(v.major, v.minor),
    synLinearTimeouts: atLeast(6, 5),
    challengeAckLimit: atLeast(6, 0) ? 0x7fffffff : 1000,
    earlySynResend: atLeast(5, 6),
    pingpongThresh: atLeast(5, 1) && !atLeast(5, 19) ? 3 : 1,
    tsOffsetPerTuple: atLeast(7, 0) || (v.major === 6 && v.minor === 18 && v.patch >= TS_OFF_PORTS_STABLE['6.18']) || (v.major === 6 && v.minor === 12 && v.patch >= TS_OFF_PORTS_STABLE['6.12']),
    twFinWait2NoReuse: atLeast(6, 12),
    twReuseDelay: atLeast(6, 13),
    finCwndExempt: !atLeast(6, 12),
    note,
  };
}

/**
 * The earliest stable point releases known to carry "tcp: secure_seq: add back ports to TS
 * offset": 6.12.117 (Debian's linux-source-6.12) and 6.18.44 (this machine's kernel, where two
 * connections of one address pair show unrelated TSval offsets). Earlier points of those series
 * are assumed not to: ctsim has not read them.
 */
const TS_OFF_PORTS_STABLE = { '6.12': 117, '6.18': 44 } as const;

const byId = (ids: string[]) => KERNEL_CHANGES.filter((c) => ids.includes(c.id));

/** Vendor kernels named in the seed incident report. */
const VENDOR: Record<string, () => KernelProfile> = {
  'sles-15-sp4': () => {
    const v: KernelVersion = { major: 5, minor: 14, patch: 21 };
    const native = KERNEL_CHANGES.filter((c) => releaseHas(c, v));
    return build('sles-15-sp4', v, [...native, ...byId(['synack-reinit', 'reinit-syn-only'])],
      'SUSE Linux Enterprise 15 SP4, 5.14.21-150400: upstream 5.14 plus SUSE\'s backport of "re-init for syn packets only" and NOT "handle tcp challenge acks during connection reuse" (the RST after a challenge ACK is INVALID, as the seed report observed; the sysctl exists).');
  },
  'ubuntu-20.04': () => {
    const v: KernelVersion = { major: 5, minor: 4, patch: 0 };
    // Focal's 5.4.0-NNN kernels take the 5.4.y stable updates ("Upstream stable to v5.4.73" and
    // later): the 4f25434bccc2 keepalive fix (5.4.73) is in every focal kernel since late 2020.
    return build('ubuntu-20.04', v, [...KERNEL_CHANGES.filter((c) => releaseHas(c, v)), ...byId(['keepalive-reply'])],
      'Ubuntu 20.04 focal, 5.4.0-NNN-generic: upstream 5.4 behaviour with the 5.4.y stable fixes up to at least 5.4.73 (so the same switches as 5.4.124), no nf_conntrack_tcp_ignore_invalid_rst, no "re-init for syn packets only" (the RST after a challenge ACK re-seeds the window and passes, as the seed report observed).');
  },
};

export const VENDOR_PROFILES = Object.keys(VENDOR);

/** Example releases chosen to straddle every change (for `matrix` and docs). */
export const KNOWN_RELEASES = [
  '4.19', '4.19.272', '5.4', '5.4.231', 'ubuntu-20.04', '5.10', '5.10.166', '5.14', 'sles-15-sp4', '5.15', '5.15.68',
  '5.17.5', '5.17.6', '5.18', '6.0', '6.1', '6.1.8', '6.1.9', '6.1.77', '6.2', '6.6', '6.6.16', '6.12', '6.18', '7.0.12',
];

/**
 * Resolves `--kernel` text: a vendor profile name, x.y[.z] between 4.19 and 7.1, or a vendor's
 * release string (uname -r of SLES, RHEL, Ubuntu, Debian, Amazon Linux, COS, Azure Linux; Debian's
 * uname -v; Ubuntu's /proc/version_signature: see distro-kernels.ts), which maps to the profile
 * with that vendor's backports or to the upstream stable release it ships, or is refused with the
 * candidates. Any other suffix after x.y.z is refused, never dropped silently, unless
 * `localSuffix` is 'strip' (the running kernel of a kernel-diff lab, an upstream build with a
 * local version such as "-fc-v1098").
 */
export function resolveKernel(text: string | undefined, o: { localSuffix?: 'refuse' | 'strip' } = {}): KernelProfile {
  const raw = (text ?? NEWEST_NAME).trim().toLowerCase().replace(/\s+/g, ' ');
  const vendor = VENDOR[raw];
  if (vendor) return vendor();
  const distro = recogniseDistroRelease(raw);
  if (distro?.kind === 'refused') throw new ConfigError(`kernel ${JSON.stringify(text)}: ${distro.message}`);
  if (distro?.kind === 'vendor') return { ...VENDOR[distro.profile](), name: raw, note: `${distro.note}: ${VENDOR[distro.profile]().note}` };
  const v = parseKernelVersion(distro?.kind === 'upstream' ? distro.version : raw);
  if (!v) throw new ConfigError(`unknown kernel ${JSON.stringify(text)}: give a release like 5.4, 5.15.90, 6.1.9, 6.18, one of ${VENDOR_PROFILES.join(', ')}, or a distribution's uname -r`);
  if (!distro && !PLAIN_RE.test(raw) && o.localSuffix !== 'strip') {
    throw new ConfigError(`kernel ${JSON.stringify(text)}: ctsim does not know whose kernel this is (the part after ${v.major}.${v.minor}${raw.match(/^v?\d+\.\d+(\.\d+)?/)?.[1] ?? ''} is no release string it recognises), and a vendor kernel can carry backports that upstream ${v.major}.${v.minor}.${v.patch} lacks. ` +
      `If it is an upstream build, give --kernel ${v.major}.${v.minor}.${v.patch}; if it is a vendor's, the vendor profiles are ${VENDOR_PROFILES.join(', ')} (ctsim kernels lists what each carries).`);
  }
  if (cmp(v, OLDEST) < 0 || v.major > 7 || (v.major === 7 && v.minor > 1)) {
    throw new ConfigError(`kernel ${raw} is outside the modelled range 4.19 .. 7.1: ctsim has not read that code, so it will not guess its behaviour`);
  }
  const upstream = `${v.major}.${v.minor}${v.patch ? `.${v.patch}` : ''}`;
  const name = distro ? raw : upstream;
  return build(name, v, KERNEL_CHANGES.filter((c) => releaseHas(c, v)), distro ? `${distro.note}; modelled as Linux ${upstream}` : `Linux ${upstream} (upstream)`);
}

/** A plain release: x.y or x.y.z (a leading v allowed). */
const PLAIN_RE = /^v?\d+\.\d+(?:\.\d+)?$/;
