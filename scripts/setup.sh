#!/usr/bin/env bash
# Installs what building, serving and testing need on a fresh Debian machine with the .NET SDK.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK (10.0) is required: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi
[ "${1:-}" = "--dotnet-only" ] && exit 0

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to apt-get install $*; run: sudo apt-get install -y $*" >&2
    exit 1
  fi
  if [ -z "${QUIVER_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    export QUIVER_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Node.js + npm: the official Qdrant JavaScript client is exercised against the real server.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs and npm (apt)" >&2
  apt_install nodejs npm
fi

# nats-server: the ingestion tests (and later cluster tests) run a real JetStream server on loopback.
if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server (apt)" >&2
  apt_install nats-server
fi

client="$root/tests/js-client"
if [ ! -d "$client/node_modules/@qdrant/js-client-rest" ] || [ "$client/package-lock.json" -nt "$client/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/js-client" >&2
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
fi
