#!/usr/bin/env bash
# Build and run the native hnswlib baseline driver.
#   bench/hnswlib/run.sh --data /work/shared/data/glove-100-angular --threads 2 --out results.json
# All arguments are passed to hnswlib_driver (see README.md). Installs libhnswlib-dev and g++
# through apt-get when they are missing (needs root, or sudo).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build"
BIN="$BUILD/hnswlib_driver"
SRC="$HERE/hnswlib_driver.cpp"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # try without refreshing first; refresh the package lists only if that fails
  if ! $SUDO apt-get install -y -qq "$@" >&2; then
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq "$@" >&2
  fi
}

# Debian's libhnswlib-dev puts the headers in /usr/include/hnswlib/ (dpkg -L libhnswlib-dev),
# so the driver includes <hnswlib/hnswlib.h> with no extra -I.
if [ ! -f /usr/include/hnswlib/hnswlib.h ]; then
  echo "[run.sh] installing libhnswlib-dev" >&2
  apt_install libhnswlib-dev
fi
if ! command -v g++ >/dev/null 2>&1; then
  echo "[run.sh] installing g++" >&2
  apt_install g++
fi

mkdir -p "$BUILD"
if [ ! -x "$BIN" ] || [ "$SRC" -nt "$BIN" ] || [ "$0" -nt "$BIN" ]; then
  echo "[run.sh] compiling $SRC" >&2
  g++ -O3 -march=native -std=c++17 -pthread -Wall -Wextra -o "$BIN.tmp" "$SRC"
  mv "$BIN.tmp" "$BIN"
fi

exec "$BIN" "$@"
