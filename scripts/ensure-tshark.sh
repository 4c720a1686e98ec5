#!/usr/bin/env bash
# The tests check every capture with the real Wireshark dissector; they never skip it.
# Install tshark when it is missing and we can (root + apt), otherwise fail and say how.
set -euo pipefail
if command -v tshark >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: tshark not found, installing it with apt-get (Debian package 'tshark')" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Answer the wireshark-common debconf question (non-root capture) without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get install -y -qq tshark >/dev/null
  command -v tshark >/dev/null 2>&1 && exit 0
fi
echo "ctsim: the tests need tshark (the Wireshark dissector)." >&2
echo "       install it with:  sudo apt-get install -y tshark" >&2
exit 1
