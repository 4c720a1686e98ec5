#!/usr/bin/env bash
# kernel-diff --uml runs ctsim inside Debian's user-mode-linux kernel (a real 6.1.y as a program).
# Install it, and the lab tools the guest borrows from this machine, when they are missing and we
# can (root + apt). Never fails: without them the UML tests skip and say why.
set -uo pipefail
need=()
[ -x /usr/bin/linux.uml ] || need+=(user-mode-linux)
for t in iptables-legacy:iptables conntrack:conntrack tcpdump:tcpdump tcpreplay:tcpreplay python3:python3 ip:iproute2 setpriv:util-linux; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: installing ${need[*]} with apt-get (kernel-diff inside user-mode-linux)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "ctsim: apt-get install ${need[*]} failed; the UML tests will skip" >&2
else
  echo "ctsim: ${need[*]} missing and not root with apt: the kernel-diff --uml tests will skip (install with: sudo apt-get install -y ${need[*]})" >&2
fi
exit 0
