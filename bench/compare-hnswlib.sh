#!/usr/bin/env bash
# Runs Quiver's `bench ann` and the native hnswlib driver on the same dataset with the same parameters, one after
# the other on this machine, and prints Quiver's QPS over hnswlib's at recall@10 = 0.95 (and build/memory ratios).
# With --repeat N (default 1) the pair runs N times, alternating, and the median of the N QPS ratios is printed last:
# on a shared machine one pair can be off by 20% either way.
# Usage: bench/compare-hnswlib.sh DATA_DIR [--repeat N] [extra args for both, e.g. --m 16 --ef-construct 200 --threads 2]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:?usage: bench/compare-hnswlib.sh DATA_DIR [--repeat N] [--m 16 --ef-construct 200 --threads 2 --queries 1000]}"
shift
repeat=1
args=()
while (($#)); do
  if [[ "$1" == "--repeat" ]]; then
    repeat="${2:?--repeat needs a count}"
    shift 2
  else
    args+=("$1")
    shift
  fi
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "--repeat must be a positive integer, got '$repeat'" >&2; exit 2; }
out="$root/.artifacts/bench"
mkdir -p "$out"
name="$(basename "$data")"
ratios=()
for ((run = 1; run <= repeat; run++)); do
  ((repeat == 1)) || echo "== $name: pair $run of $repeat" >&2
  "$root/quiver" bench ann --data "$data" "${args[@]}" --out "$out/$name.quiver.json"
  "$root/bench/hnswlib/run.sh" --data "$data" "${args[@]}" --out "$out/$name.hnswlib.json"
  report="$("$root/quiver" bench compare "$out/$name.quiver.json" "$out/$name.hnswlib.json" --recall 0.95)"
  echo "$report"
  ((repeat == 1)) || cp "$out/$name.quiver.json" "$out/$name.quiver.$run.json"
  ((repeat == 1)) || cp "$out/$name.hnswlib.json" "$out/$name.hnswlib.$run.json"
  ratios+=("$(awk '$1 == "-" { sub(/x$/, "", $4); print $4 }' <<<"$report")")
done
if ((repeat > 1)); then
  sorted="$(printf '%s\n' "${ratios[@]}" | sort -g)"
  median="$(awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$sorted")"
  echo "QPS ratios at recall@10 = 0.95 over $repeat pairs: $(tr '\n' ' ' <<<"$sorted")-> median ${median}x"
fi
