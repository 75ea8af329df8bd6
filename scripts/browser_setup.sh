#!/usr/bin/env bash
# Browser journeys (tests/browser) drive the machine's Chromium from the distribution's packages,
# never a browser build downloaded by Playwright. Installs it when it is missing; a failure here
# does not fail `make test`: the journeys then skip with the reason (tests/browser/conftest.py).
set -u
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "[browser_setup] apt-get not available: browser journeys will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "[browser_setup] not root, cannot install chromium: browser journeys will be skipped" >&2
    exit 0
fi
echo "[browser_setup] installing chromium from the distribution's packages"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
    echo "[browser_setup] apt-get install chromium failed: browser journeys will be skipped" >&2
fi
exit 0
