#!/usr/bin/env bash
# Regenerates test/stack/fixtures/iptables-save/*.txt: each src/*.rules file (the rules as the
# producing tool hands them to iptables-restore) is loaded with the real iptables-restore into a
# network namespace this script creates, and iptables-save's output is kept byte for byte. Both
# backends of Debian's iptables package are used: <name>.txt (nf_tables, the default) and
# <name>.legacy.txt (iptables-legacy). No traffic is sent; the namespace is removed on exit,
# errors and signals. Needs root, ip, iptables and nfacct (for kube-proxy's -m nfacct rule).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/test/stack/fixtures/iptables-save"
ns="ctsim-$$-fx"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for tool in ip iptables-restore iptables-save iptables-legacy-restore iptables-legacy-save nfacct; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install iptables iproute2 nfacct)" >&2; exit 1; }
done
for src in "$dir"/src/*.rules; do
  name="$(basename "$src" .rules)"
  for backend in nft legacy; do
    ip netns add "$ns"
    ip netns exec "$ns" nfacct add ct_state_invalid_dropped_pkts
    if [ "$backend" = nft ]; then restore=iptables-restore save=iptables-save out="$dir/$name.txt"
    else restore=iptables-legacy-restore save=iptables-legacy-save out="$dir/$name.legacy.txt"; fi
    ip netns exec "$ns" "$restore" < "$src"
    ip netns exec "$ns" "$save" > "$out.tmp"
    mv "$out.tmp" "$out"
    ip netns del "$ns"
    echo "$out"
  done
done
