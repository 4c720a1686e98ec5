#!/usr/bin/env bash
# Builds a user-mode-linux kernel that `ctsim kernel-diff --uml KERNEL` can boot, from
#   - a Debian kernel source version ("6.12", "6.1": the linux-source-X.Y package, installed with
#     apt-get when missing and we are root), or
#   - a kernel source folder you supply (a stable tree, a distro or vendor tree).
# The source is copied into a build folder (your folder is never written to), known vendor
# deviations in the TCP conntrack code are detected and neutralised (scripts/uml-deviations.tsv
# lists them: what each one changes, how it is detected, how it is undone), the netfilter,
# namespace, veth and hostfs options the labs need are built in, and `make ARCH=um linux` runs.
# The result is CACHE/NAME/linux plus CACHE/NAME/build.json (version, source, config, every
# deviation found and what was done about it, how long the build took), which kernel-diff
# copies into its reports as provenance.
#
# usage: scripts/build-uml-kernel.sh SOURCE [--cache DIR] [--name NAME] [--jobs N] [--keep-build]
#   SOURCE   6.12 | 6.1 | /path/to/linux-source-folder | /path/to/linux-source-X.Y.tar.xz
#   --cache  where kernels go (default $CTSIM_UML_CACHE or /var/cache/ctsim-uml)
#   --name   folder name under the cache (default: uml-<kernelrelease>)
#   --jobs   make -j (default: nproc)
#   --work   build in this folder and keep it (a second run after a failure recompiles only what changed)
# Takes 10-30 minutes on 2 cores (more on a shared machine); needs gcc, make, flex, bison, bc.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="" cache="${CTSIM_UML_CACHE:-/var/cache/ctsim-uml}" name="" jobs="$(nproc)" keep=0 work=""
die() { echo "build-uml-kernel: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --keep-build) keep=1; shift ;;
    --work) work="$2"; keep=1; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$src" ] || die "one SOURCE only (got $src and $1)"; src="$1"; shift ;;
  esac
done
[ -n "$src" ] || die "usage: $0 SOURCE [--cache DIR] [--name NAME] [--jobs N]  (SOURCE: 6.12, 6.1 or a kernel source folder)"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got $jobs"

for tool in gcc make flex bison bc perl tar xz; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool: apt-get install -y build-essential flex bison bc perl xz-utils"
done

t0=$(date +%s)
origin="$src"
if [[ "$src" =~ ^[0-9]+\.[0-9]+$ ]]; then
  tarball="/usr/src/linux-source-$src.tar.xz"
  if [ ! -f "$tarball" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "build-uml-kernel: installing linux-source-$src with apt-get" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "linux-source-$src" >/dev/null || die "apt-get install linux-source-$src failed"
    fi
    [ -f "$tarball" ] || die "$tarball not found: apt-get install -y linux-source-$src"
  fi
  origin="Debian linux-source-$src $(dpkg-query -W -f '${Version}' "linux-source-$src" 2>/dev/null || echo '(version unknown)')"
  src="$tarball"
fi

mkdir -p "$cache"
if [ -n "$work" ]; then mkdir -p "$work"; work="$(cd "$work" && pwd)"; else work="$(mktemp -d "$cache/.build-XXXXXX")"; fi
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "build-uml-kernel: build folder kept: $work" >&2; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

tree="$work/linux"
mkdir -p "$tree"
if [ -d "$src" ]; then
  [ -f "$src/Makefile" ] && [ -d "$src/arch/um" ] || die "$src is not a kernel source folder (no Makefile or arch/um)"
  origin="$(cd "$src" && pwd)"
  # A copy: the neutralisations below must never touch the user's folder.
  tar -C "$src" --exclude=.git -cf - . | tar -C "$tree" -xf -
elif [ -f "$src" ]; then
  tar -C "$tree" --strip-components=1 -xf "$src"
  [[ "$origin" == Debian* ]] || origin="$(cd "$(dirname "$src")" && pwd)/$(basename "$src")"
else
  die "$src: no such folder or file"
fi
[ -f "$tree/net/netfilter/nf_conntrack_proto_tcp.c" ] || die "$src has no net/netfilter/nf_conntrack_proto_tcp.c"

# Vendor deviations (scripts/uml-deviations.tsv): id <TAB> file <TAB> detect (grep -E) <TAB> fix (sed:EXPR, config:SYMBOL or note:WHY) <TAB> what
deviations_json=""
config_off=()
while IFS=$'\t' read -r id file detect fix what; do
  [ -z "$id" ] || [ "${id:0:1}" = "#" ] && continue
  [ -f "$tree/$file" ] || continue
  grep -Eq -- "$detect" "$tree/$file" || continue
  case "$fix" in
    config:*) action="kept out of the build: ${fix#config:} in .config" ; config_off+=("${fix#config:}") ;;
    note:*) action="nothing to undo: ${fix#note:}" ;;
    sed:*)
      sed -Ei -- "${fix#sed:}" "$tree/$file"
      if grep -Eq -- "$detect" "$tree/$file"; then die "deviation $id: the fix did not remove it from $file"; fi
      action="patched in the build copy: ${fix#sed:}" ;;
    *) die "deviation $id: unknown fix kind $fix" ;;
  esac
  echo "build-uml-kernel: vendor deviation $id in $file: $what -> $action" >&2
  esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
  deviations_json+="${deviations_json:+,}{\"id\":\"$(esc "$id")\",\"file\":\"$(esc "$file")\",\"what\":\"$(esc "$what")\",\"neutralised\":\"$(esc "$action")\"}"
done < "$here/uml-deviations.tsv"

# Host compatibility (a build matter, nothing under net/): UML kernels before the upstream rework of
# the FP registers (6.13: "um: ... dynamically sized FP registers", host_fp_size) keep the host's
# XSAVE area in a fixed 2,696-byte buffer (AVX-512's size), but the host's PTRACE_SETREGSET
# NT_X86_XSTATE wants exactly the host's size: on a CPU with AMX (11,008 bytes) every guest program
# dies at its first context switch ("ptrace set fp regs failed, errno = 14", init killed). The build
# copy gets a 16 KiB buffer, the host's size probed at boot and used in both directions (the
# i387 fallback when it does not fit), and 32 KiB kernel stacks (thread_info holds a copy).
host_fixes_json=""
stack_order=()
regs="$tree/arch/x86/um/os-Linux/registers.c" offsets="$tree/arch/x86/um/user-offsets.c"
if grep -q 'DEFINE_LONGS(HOST_FP_SIZE, 2696);' "$offsets" 2>/dev/null && grep -q 'iov.iov_len = FP_SIZE \* sizeof(unsigned long);' "$regs"; then
  sed -i 's/DEFINE_LONGS(HOST_FP_SIZE, 2696);/DEFINE_LONGS(HOST_FP_SIZE, 16384);/' "$offsets"
  perl -0pi -e '
    s/^int have_xstate_support;\n/int have_xstate_support;\n\/* ctsim build: the host XSAVE size (PTRACE_SETREGSET NT_X86_XSTATE wants exactly it) *\/\nstatic unsigned long host_xstate_len;\n/m or die "no have_xstate_support\n";
    (s/\t\tiov\.iov_len = FP_SIZE \* sizeof\(unsigned long\);\n(\t\tif \(ptrace\(PTRACE_(?:GET|SET)REGSET)/\t\tiov.iov_len = host_xstate_len;\n$1/g) == 2 or die "save\/restore not found\n";
    s/if \(ptrace\(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov\) == 0\)\n\t\thave_xstate_support = 1;/if (ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov) == 0 \&\& iov.iov_len < FP_SIZE * sizeof(unsigned long)) {\n\t\thave_xstate_support = 1;\n\t\thost_xstate_len = iov.iov_len;\n\t}/ or die "probe not found\n";
  ' "$regs" || die "host-xstate: could not patch $regs"
  stack_order=(--set-val KERNEL_STACK_ORDER 3)
  echo "build-uml-kernel: host compatibility: the XSAVE area is probed at boot (16 KiB buffer, 32 KiB kernel stacks)" >&2
  host_fixes_json='{"id":"host-xstate-size","files":["arch/x86/um/os-Linux/registers.c","arch/x86/um/user-offsets.c"],"what":"the host XSAVE size is probed at boot and used for PTRACE_GETREGSET/SETREGSET NT_X86_XSTATE (fixed 2,696-byte buffer before; hosts with AMX need 11,008 bytes); HOST_FP_SIZE 16 KiB, KERNEL_STACK_ORDER 3","why":"UML only: how the guest saves its programs FP registers on the host; nothing under net/ changes"}'
fi

cd "$tree"
make ARCH=um defconfig >/dev/null
# Built in (no modules in the guest): namespaces, veth, packet sockets for tcpdump, hostfs for the
# host's root and result folder, conntrack with netlink (conntrack -L/-E/-S), iptables (legacy)
# with the matches and targets the labs load (mangle DSCP per ctstate, nat REDIRECT, owner, raw CT --notrack).
on=(NET NET_NS NAMESPACES UTS_NS IPC_NS PID_NS INET UNIX PACKET VETH HOSTFS TMPFS PROC_FS SYSFS
  NETFILTER NETFILTER_ADVANCED NETFILTER_NETLINK NF_CONNTRACK NF_CONNTRACK_EVENTS NF_CONNTRACK_TIMESTAMP
  NF_CONNTRACK_MARK NF_CONNTRACK_PROCFS NF_CT_NETLINK NF_NAT NF_NAT_IPV4 NF_NAT_REDIRECT NF_DEFRAG_IPV4 NF_CONNTRACK_IPV4
  NETFILTER_XTABLES NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_STATE NETFILTER_XT_MATCH_OWNER
  NETFILTER_XT_MATCH_MULTIPORT NETFILTER_XT_MATCH_MARK NETFILTER_XT_MARK NETFILTER_XT_TARGET_DSCP NETFILTER_XT_MATCH_DSCP
  NETFILTER_XT_TARGET_REDIRECT NETFILTER_XT_NAT NETFILTER_XT_TARGET_MARK NETFILTER_XT_MATCH_TCPMSS NETFILTER_XT_TARGET_CT
  IP_NF_IPTABLES IP_NF_FILTER IP_NF_MANGLE IP_NF_NAT IP_NF_RAW IP_NF_TARGET_REDIRECT IP_NF_TARGET_REJECT
  NF_REJECT_IPV4 DEVTMPFS DEVTMPFS_MOUNT DEBUG_INFO_NONE)
args=()
for s in "${on[@]}"; do args+=(--enable "$s"); done
# Off: what the guests never use and only lengthens the build (their root is the host's hostfs,
# their network the lab's veths).
off=(MODULES WLAN NETFILTER_XT_TARGET_IDLETIMER EXT4_FS REISERFS_FS QUOTA ISO9660_FS BLK_DEV_UBD UML_NET SOUND IPV6 BTRFS_FS TP_IMAGE DEBUG_INFO DEBUG_INFO_DWARF4 DEBUG_INFO_DWARF5 DEBUG_INFO_BTF ${config_off[@]+"${config_off[@]}"})
for s in "${off[@]}"; do args+=(--disable "$s"); done
scripts/config "${args[@]}" ${stack_order[@]+"${stack_order[@]}"}
make ARCH=um olddefconfig >/dev/null
missing=()
for s in NET_NS VETH HOSTFS PACKET NF_CONNTRACK NF_CT_NETLINK NF_CONNTRACK_EVENTS IP_NF_IPTABLES IP_NF_MANGLE IP_NF_NAT NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_TARGET_DSCP NETFILTER_XT_MATCH_OWNER; do
  grep -q "^CONFIG_$s=y" .config || missing+=("$s")
done
[ ${#missing[@]} -eq 0 ] || die "the config lacks ${missing[*]} after olddefconfig (this tree's Kconfig names them differently?)"
for s in MODULES ${config_off[@]+"${config_off[@]}"}; do if grep -q "^CONFIG_$s=y" .config; then die "CONFIG_$s is still set"; fi; done

echo "build-uml-kernel: make ARCH=um -j$jobs linux (this takes a while)" >&2
# Newer host compilers reject old trees' warnings-as-errors; keep the build going.
if ! make ARCH=um -j"$jobs" KCFLAGS="-Wno-error" linux > "$work/make.log" 2>&1; then
  tail -40 "$work/make.log" >&2
  keep=1
  die "make failed (log: $work/make.log)"
fi
release="$(make -s ARCH=um kernelrelease)"
name="${name:-uml-$release}"
dest="$cache/$name"
mkdir -p "$dest.tmp"
cp linux "$dest.tmp/linux"
cp .config "$dest.tmp/config"
t1=$(date +%s)
cat > "$dest.tmp/build.json" <<EOF
{
  "release": "$release",
  "source": "$(printf '%s' "$origin" | sed 's/\\/\\\\/g; s/"/\\"/g')",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": $((t1 - t0)),
  "jobs": $jobs,
  "compiler": "$(gcc --version | head -1 | sed 's/"/\\"/g')",
  "deviations": [${deviations_json}],
  "hostFixes": [${host_fixes_json}]
}
EOF
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "build-uml-kernel: $dest/linux ($release) built in $((t1 - t0)) s" >&2
echo "$dest/linux"
