#!/usr/bin/env bash
# Runs Quiver's `bench ann` and the native hnswlib driver on the same dataset with the same parameters, one after
# the other on this machine, and prints Quiver's QPS over hnswlib's at recall@10 = 0.95 (and build/memory ratios).
# Usage: bench/compare-hnswlib.sh DATA_DIR [extra args for both, e.g. --m 16 --ef-construct 200 --threads 2]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:?usage: bench/compare-hnswlib.sh DATA_DIR [--m 16 --ef-construct 200 --threads 2 --queries 1000]}"
shift
args=("$@")
out="$root/.artifacts/bench"
mkdir -p "$out"
name="$(basename "$data")"
"$root/quiver" bench ann --data "$data" "${args[@]}" --out "$out/$name.quiver.json"
"$root/bench/hnswlib/run.sh" --data "$data" "${args[@]}" --out "$out/$name.hnswlib.json"
"$root/quiver" bench compare "$out/$name.quiver.json" "$out/$name.hnswlib.json" --recall 0.95
