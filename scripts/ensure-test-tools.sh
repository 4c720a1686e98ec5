#!/usr/bin/env bash
# Installs the programs `npm test` uses, when they are missing and this machine can (root + apt):
#   tshark                       the real Wireshark dissector that checks every capture we write
#   tcpdump, tcpreplay, conntrack, iptables, iproute2, python3, util-linux (setpriv), procps (sysctl)
#                                kernel-diff: cases and the seed incidents run through the running
#                                kernel's conntrack in network namespaces the tests create
# It never fails: when it cannot install something (not root, no apt-get, no network), it says so
# and the tests that need that program skip themselves with the reason in the test summary.
set -uo pipefail

# program -> Debian package
declare -A PACKAGE=(
  [tshark]=tshark [capinfos]=tshark
  [tcpdump]=tcpdump [tcpreplay]=tcpreplay [tcpreplay-edit]=tcpreplay [tcpprep]=tcpreplay
  [conntrack]=conntrack [iptables]=iptables [iptables-restore]=iptables
  [ip]=iproute2 [ss]=iproute2 [python3]=python3 [setpriv]=util-linux [sysctl]=procps
)

missing_programs() {
  local p
  for p in "${!PACKAGE[@]}"; do command -v "$p" >/dev/null 2>&1 || echo "$p"; done | sort
}

missing=$(missing_programs)
[ -z "$missing" ] && exit 0

packages=$(for p in $missing; do echo "${PACKAGE[$p]}"; done | sort -u | tr '\n' ' ')
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: installing what the tests need with apt-get: ${packages}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Answer the wireshark-common debconf question (non-root capture) without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages} >/dev/null; then
    missing=$(missing_programs)
    [ -z "$missing" ] && exit 0
  fi
fi

echo "ctsim: not installed: $(echo "$missing" | tr '\n' ' ')(Debian packages: ${packages})." >&2
if [ "$(id -u)" != "0" ]; then
  echo "       npm test installs them when run as root on Debian; the tests that need them are skipped (reasons in the summary)." >&2
else
  echo "       apt-get could not install them here; the tests that need them are skipped (reasons in the summary)." >&2
fi
exit 0
