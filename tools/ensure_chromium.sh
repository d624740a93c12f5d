#!/usr/bin/env bash
# Make headless Chromium available for tests/test_book.py (the rendered-HTML check).
# CI (CI=true) must have it: there a failed install is an error. Elsewhere the test skips with a
# clear message when Chromium is missing.
set -u
for c in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  if [ -n "$c" ] && [ -x "$c" ]; then echo "chromium: $c"; exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the rendered-HTML test"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    exit 0
  fi
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: headless Chromium is required in CI and could not be installed" >&2
  exit 1
fi
echo "note: headless Chromium not available; the rendered-HTML test will be skipped"
exit 0
