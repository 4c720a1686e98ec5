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
if [ ${#need[@]} -eq 0 ]; then :
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: installing ${need[*]} with apt-get (kernel-diff inside user-mode-linux)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "ctsim: apt-get install ${need[*]} failed; the UML tests will skip" >&2
else
  echo "ctsim: ${need[*]} missing and not root with apt: the kernel-diff --uml tests will skip (install with: sudo apt-get install -y ${need[*]})" >&2
fi

# Debian's packaged kernel (6.1, before UML's FP rework in 6.13) keeps the host's XSAVE registers in
# a fixed 2,696-byte buffer: on a CPU with AMX the host refuses them and every guest program dies.
# There the tests use a 6.1 kernel built once from Debian's linux-source-6.1 by
# scripts/build-uml-kernel.sh (which probes the size), cached where test/kerneldiff/uml.test.ts looks.
[ -x /usr/bin/linux.uml ] && [ "$(id -u)" = "0" ] || exit 0
cache="${CTSIM_UML_CACHE:-/var/cache/ctsim-uml}"
for d in "$cache"/uml-6.1.*/ "$cache"/uml-6.1-*/; do [ -x "$d/linux" ] && exit 0; done
probe="$(mktemp -d "${TMPDIR:-/tmp}/ctsim-$$-uml-probe-XXXXXX")"
trap 'rm -rf "$probe"' EXIT
# (The probe's init exits at once, so the guest always panics: its console says why.)
{ timeout 60 /usr/bin/linux.uml mem=128M rootfstype=hostfs rootflags=/ ro init=/bin/true con=null con0=fd:0,fd:1 "umid=ctsim-$$-probe" "uml_dir=$probe" </dev/null > "$probe/console" 2>&1; } 2>/dev/null
if grep -q 'ptrace set fp regs failed, errno = 14' "$probe/console"; then
  echo "ctsim: Debian's packaged UML kernel cannot run programs on this CPU (AMX XSAVE size): building a 6.1 kernel from linux-source-6.1 into $cache (a few minutes, once)" >&2
  for t in flex:flex bison:bison bc:bc gcc:gcc make:make xz:xz-utils perl:perl; do command -v "${t%%:*}" >/dev/null 2>&1 || apt-get install -y -qq "${t##*:}" >/dev/null 2>&1; done
  [ -f /usr/include/libelf.h ] || apt-get install -y -qq libelf-dev >/dev/null 2>&1
  if ! "$(dirname "$0")/build-uml-kernel.sh" 6.1 --cache "$cache" > "$probe/build.log" 2>&1; then
    tail -5 "$probe/build.log" >&2
    echo "ctsim: building the 6.1 UML kernel failed; the kernel-diff --uml tests will skip" >&2
  fi
fi
exit 0
