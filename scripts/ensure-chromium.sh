#!/usr/bin/env bash
# Make sure headless Chromium is on this machine for the browser tests.
# Installs Debian's chromium when running as root with apt; under CI=true a missing browser is
# an error, elsewhere a warning (the browser tests then skip with that reason).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium for the browser tests (apt-get install chromium)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: Chromium is required under CI=true and cannot be installed here (need root + apt)" >&2
  exit 1
fi
echo "warning: Chromium is not installed; browser tests will skip (install: apt-get install chromium)" >&2
