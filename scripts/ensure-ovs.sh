#!/usr/bin/env bash
# The conformance tests drive Open vSwitch's userspace conntrack (ovs-vswitchd with the dummy
# datapath, in temporary folders the tests own; no kernel module, no system bridge). Install
# Debian's openvswitch-switch when it is missing and we can (root + apt); otherwise say why and
# let the tests skip themselves with that reason. Never fails the test run.
set -uo pipefail
if command -v ovs-vswitchd >/dev/null 2>&1 || [ -x /usr/sbin/ovs-vswitchd ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: Open vSwitch not found, installing it with apt-get (Debian package 'openvswitch-switch')" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq openvswitch-switch >/dev/null; then exit 0; fi
  echo "ctsim: installing openvswitch-switch failed: the Open vSwitch conformance tests will be skipped" >&2
  exit 0
fi
echo "ctsim: Open vSwitch (ovs-vswitchd) is not installed and this is not root with apt-get:" >&2
echo "       the Open vSwitch conformance tests will be skipped (sudo apt-get install -y openvswitch-switch)" >&2
exit 0
