#!/usr/bin/env bash
# Installs what building and testing posagent needs, only when missing:
# Debian packages (pcscd, vpcd, libpcsclite-dev, peers for cross-checks) and
# the Go modules. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# zbar-tools, zxing-cpp-tools: QR decoders. chromium, fonts-noto-cjk: the browser
# test of agent/web (the system browser, glyphs for zh-Hant/zh-Hans).
pkgs=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools python3-pyscard pkg-config socat zbar-tools zxing-cpp-tools chromium fonts-noto-cjk)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
go mod download
# The browser test's npm packages (playwright-core drives the system
# chromium; it never downloads a browser), from the committed lockfile.
if command -v npm >/dev/null; then
  e2e=agent/web/e2e
  if [ ! -d "$e2e/node_modules" ] || [ "$e2e/package-lock.json" -nt "$e2e/node_modules" ]; then
    (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) && touch "$e2e/node_modules"
  fi
else
  echo "deps: npm missing (Node.js 20 or newer): the browser test of agent/web will not run" >&2
fi

# Adyen's official Node.js library, for the nexo tests (agent/nexo): from the
# committed lockfile, only when missing or different.
nexo_client=agent/nexo/testdata/adyen-client
if command -v npm >/dev/null 2>&1; then
  if ! (cd "$nexo_client" && npm ls --silent >/dev/null 2>&1); then
    echo "deps: npm ci in $nexo_client"
    (cd "$nexo_client" && npm ci --no-audit --no-fund --silent)
  fi
else
  echo "deps: npm not found: the nexo tests against Adyen's library skip (and fail under CI=true)" >&2
fi
