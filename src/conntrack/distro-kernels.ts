// The release strings of the kernels users run (`uname -r`, `uname -v`, /proc/version_signature)
// and what each one means for conntrack. A vendor string is never read as the mainline release it
// starts with: "5.14.21-150400.24.46-default" is SUSE's SLES 15 SP4 kernel, whose backports give
// the opposite verdict to upstream 5.14.21 on the seed incident's RST. Each string is either
//   - a ctsim vendor profile (the backports that vendor is known to ship),
//   - an upstream stable release the vendor ships as it is (the string carries its point release:
//     Amazon Linux, Container-Optimized OS, Azure Linux, Debian 13, `uname -v` of Debian,
//     /proc/version_signature of Ubuntu), said so in the profile's note,
//   - or refused, with the candidates and how to find the right one (RHEL and its rebuilds, SLES
//     service packs ctsim has not modelled, Debian/Ubuntu `uname -r` without the point release).

/** What a release string resolves to. */
export type DistroRelease =
  | { kind: 'vendor'; profile: string; note: string }
  | { kind: 'upstream'; version: string; note: string }
  | { kind: 'refused'; message: string };

const UBUNTU_FLAVOURS = 'generic|lowlatency|aws|azure|gcp|gke|gkeop|kvm|oracle|ibm|nvidia|raspi';

/** SLES 15 service packs by their kernel's 1500N0 release prefix. */
const SLES_SP: Record<string, { sp: number; base: string }> = {
  '150300': { sp: 3, base: '5.3.18' },
  '150400': { sp: 4, base: '5.14.21' },
  '150500': { sp: 5, base: '5.14.21' },
  '150600': { sp: 6, base: '6.4.0' },
};

/** Ubuntu releases by their GA / HWE kernel series (what `uname -r`'s X.Y.0 says). */
const UBUNTU_SERIES: Record<string, string> = {
  '5.4': '20.04 GA', '5.8': '20.04 HWE', '5.11': '20.04 HWE', '5.13': '20.04 HWE', '5.15': '22.04 GA or 20.04 HWE',
  '5.19': '22.04 HWE', '6.2': '22.04 HWE', '6.5': '22.04 HWE', '6.8': '24.04 GA or 22.04 HWE', '6.11': '24.04 HWE', '6.14': '24.04 HWE',
};

/**
 * Recognises a vendor kernel's release string; null when `text` is not one (a plain x.y[.z], a
 * ctsim profile name, or a string nobody's). `text` is lower-case and trimmed.
 */
export function recogniseDistroRelease(text: string): DistroRelease | null {
  let m: RegExpExecArray | null;
  // SUSE Linux Enterprise 15: 5.14.21-150400.24.46-default
  if ((m = /^(\d+\.\d+\.\d+)-(150\d00)\.[\d.]+-(default|azure|rt|64kb|kvmsmall)$/.exec(text))) {
    const sp = SLES_SP[m[2]];
    if (sp?.sp === 4) {
      return { kind: 'vendor', profile: 'sles-15-sp4', note: `SUSE Linux Enterprise 15 SP4 kernel ${text}` };
    }
    const which = sp ? `SLES 15 SP${sp.sp} (${sp.base} base)` : `a SLES 15 kernel (${m[1]}, release ${m[2]})`;
    return {
      kind: 'refused',
      message: `${text} is ${which}: SUSE backports netfilter fixes into it and ctsim has no profile of that service pack (only sles-15-sp4 is modelled). ` +
        `Candidates: --kernel sles-15-sp4 (SP4's known backports: "re-init for syn packets only" yes, "challenge acks during connection reuse" no) or --kernel ${m[1]} (upstream, without SUSE's backports). ` +
        'To choose, check the kernel changelog (rpm -q --changelog kernel-default | grep -i conntrack) for the changes `ctsim kernels` lists, or compare both profiles with replay --compare.',
    };
  }
  // Red Hat Enterprise Linux and its rebuilds (Rocky, Alma, Oracle's RHCK): 5.14.0-362.8.1.el9_3.x86_64
  if ((m = /^(\d+\.\d+)\.(\d+)-[\d.]+\.el(\d+)(?:_\d+)?(?:\.\w+)?$/.exec(text))) {
    const major = m[3];
    return {
      kind: 'refused',
      message: `${text} is a RHEL ${major} kernel (also Rocky/Alma/Oracle RHCK ${major}): Red Hat rebases netfilter from much later upstream releases onto ${m[1]}, and ctsim has no profile of it. ` +
        (Number(m[1].split('.')[0]) < 5 && m[1] === '4.18' ? 'Its base, 4.18, is also older than anything ctsim models (4.19). ' : '') +
        'Candidates: the upstream release whose conntrack your minor release carries (check `rpm -q --changelog kernel | grep -i "nf_conntrack\\|conntrack:"` for the changes `ctsim kernels` lists), ' +
        'or run `ctsim kernel-diff` on that machine to measure it. Compare candidates with replay --compare.',
    };
  }
  // Amazon Linux 2 / 2023 (EKS node images): 5.10.209-198.858.amzn2.x86_64, 6.1.79-99.167.amzn2023.x86_64
  if ((m = /^(\d+\.\d+\.\d+)-[\d.]+\.amzn(2|2023)(?:\.\w+)?$/.exec(text))) {
    return { kind: 'upstream', version: m[1], note: `Amazon Linux ${m[2]} kernel ${text}: upstream stable ${m[1]}, as Amazon ships it (Amazon's own patches are not modelled)` };
  }
  // Container-Optimized OS (GKE): 6.1.85+
  if ((m = /^(\d+\.\d+\.\d+)\+$/.exec(text))) {
    return { kind: 'upstream', version: m[1], note: `Container-Optimized OS kernel ${text}: upstream LTS ${m[1]} (Google's own patches are not modelled)` };
  }
  // Azure Linux / CBL-Mariner (AKS): 5.15.153.1-2.cm2, 6.6.57.1-6.azl3
  if ((m = /^(\d+\.\d+\.\d+)\.\d+-\d+\.(cm2|azl3)(?:\.\w+)?$/.exec(text))) {
    return { kind: 'upstream', version: m[1], note: `Azure Linux (${m[2]}) kernel ${text}: upstream stable ${m[1]} (Microsoft's own patches are not modelled)` };
  }
  // Debian 13 and later: 6.12.38+deb13-amd64
  if ((m = /^(\d+\.\d+\.\d+)\+deb(\d+)(?:u\d+)?-[\w-]+$/.exec(text))) {
    return { kind: 'upstream', version: m[1], note: `Debian ${m[2]} kernel ${text}: upstream stable ${m[1]} as Debian ships it` };
  }
  // `uname -v` on Debian: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
  if ((m = /debian (\d+\.\d+\.\d+)-\d+/.exec(text))) {
    return { kind: 'upstream', version: m[1], note: `Debian kernel (uname -v: ${text}): upstream stable ${m[1]} as Debian ships it` };
  }
  // /proc/version_signature on Ubuntu: "Ubuntu 5.15.0-91.101-generic 5.15.131"
  if ((m = /^ubuntu (\d+\.\d+)\.0-[\d.]+-[\w-]+ (\d+\.\d+\.\d+)$/.exec(text))) {
    return { kind: 'upstream', version: m[2], note: `Ubuntu kernel (${text}): built from upstream stable ${m[2]}` };
  }
  // Debian 10-12 `uname -r`: 6.1.0-18-amd64 (an ABI number, not the point release)
  if ((m = /^(\d+\.\d+)\.0-(\d+)-(amd64|arm64|cloud-amd64|cloud-arm64|rt-amd64|686-pae)$/.exec(text))) {
    const deb = { '4.19': '10', '5.10': '11', '6.1': '12' }[m[1]] ?? '?';
    return {
      kind: 'refused',
      message: `${text} is a Debian ${deb} kernel, ABI ${m[2]}: uname -r does not say which ${m[1]}.y stable release it is, and conntrack fixes arrive in stable point releases. ` +
        `\`uname -v\` says it ("... Debian ${m[1]}.NNN-1 ..."): pass --kernel "$(uname -v)" or --kernel ${m[1]}.NNN.`,
    };
  }
  // Ubuntu `uname -r`: 5.15.0-91-generic, 5.15.0-1057-azure (AKS), 5.15.0-1049-gke, 6.8.0-1015-aws (EKS)
  if ((m = new RegExp(`^(\\d+\\.\\d+)\\.0-(\\d+)-(${UBUNTU_FLAVOURS})$`).exec(text))) {
    const series = m[1];
    if (series === '5.4' && m[3] === 'generic') return { kind: 'vendor', profile: 'ubuntu-20.04', note: `Ubuntu 20.04 GA kernel ${text}` };
    const release = UBUNTU_SERIES[series] ?? 'an Ubuntu';
    return {
      kind: 'refused',
      message: `${text} is Ubuntu ${release} (${m[3]} kernel, ABI ${m[2]}): uname -r does not say which ${series}.y stable release it was built from, and conntrack fixes arrive in stable point releases. ` +
        `/proc/version_signature says it ("Ubuntu ${series}.0-${m[2]}.NN-${m[3]} ${series}.NNN"): pass --kernel "$(cat /proc/version_signature)" or --kernel ${series}.NNN` +
        (series === '5.4' ? ', or --kernel ubuntu-20.04.' : '.'),
    };
  }
  return null;
}
