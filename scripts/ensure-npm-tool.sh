#!/usr/bin/env bash
# Make sure an npm package is installed at a pinned version, for the browser checks:
#   scripts/ensure-npm-tool.sh axe-core 4.14.1     (make test: the accessibility checks)
#   scripts/ensure-npm-tool.sh lighthouse 12.8.2   (make audit only)
# Each package gets its own prefix under .venv/node/<name>/, beside the rest of what the set-up
# installs. Idempotent, and instant when the pinned version is already there. Under CI=true a
# missing npm is an error; elsewhere a warning (the tests that need the package then skip).
set -euo pipefail
name="$1"
version="$2"
cd "$(dirname "$0")/.."
prefix=".venv/node/$name"
manifest="$prefix/node_modules/$name/package.json"
if [ -f "$manifest" ] && grep -q "\"version\": \"$version\"" "$manifest"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing npm for $name (apt-get install npm)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: npm is required under CI=true to install $name@$version" >&2
    exit 1
  fi
  echo "warning: npm is not installed; $name@$version is missing (tests that need it will skip)" >&2
  exit 0
fi
echo "installing $name@$version into $prefix (npm)"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "$name@$version" >/dev/null
grep -q "\"version\": \"$version\"" "$manifest"
