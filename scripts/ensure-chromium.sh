#!/usr/bin/env bash
# The HTML report test opens a report in a real browser: headless Chromium from Debian's
# `chromium` package, driven by puppeteer-core. Install it when it is missing and we can (root +
# apt); otherwise say why and let that test skip itself with the reason. Never fails the test run.
set -uo pipefail
for b in chromium chromium-browser; do command -v "$b" >/dev/null 2>&1 && exit 0; done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ctsim: chromium not found, installing it with apt-get (Debian package 'chromium', for the HTML report test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then exit 0; fi
  echo "ctsim: installing chromium failed: the HTML report browser test will be skipped" >&2
  exit 0
fi
echo "ctsim: chromium is not installed and this is not root with apt-get:" >&2
echo "       the HTML report browser test will be skipped (sudo apt-get install -y chromium)" >&2
exit 0
