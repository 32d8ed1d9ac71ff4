#!/usr/bin/env bash
# A collection whose float vectors are RATIO times (default 3) the memory its process may use, searched with the
# vectors and the graph left in their files (memory-mapped: on_disk) and int8 codes in memory.
#  1. Grows DATA (default: fashion-mnist, 784-d) to COPIES copies with `quiver bench grow` (exact ground truth),
#     unless WORK already holds it: the shipped sets are too small for the runtime's own memory not to dominate.
#  2. Builds the collection in one process (`bench ann --on-disk --graph-on-disk --quantization int8`), kept in WORK.
#  3. Searches it from a fresh process (`bench ann --reuse`: reads only queries and ground truth) whose managed heap
#     is capped at float-vector bytes / RATIO (DOTNET_GCHeapHardLimit), and prints recall, QPS and the process's
#     measured RSS (anonymous memory: what a limit must hold; file pages: mapped files the OS may drop).
#     With --cgroup (root, cgroup v1 or v2 memory controller) the process is also confined to that many bytes in
#     total, page cache included, after the page cache is dropped so the mapped pages it reads are charged to it.
# Usage: bench/memory-limit.sh [--data DIR] [--copies K] [--ratio R] [--work DIR] [--cgroup] [-- extra bench ann args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/fashion-mnist-784-euclidean"
copies=4
ratio=3
work="$root/.artifacts/memory-limit"
cgroup=false
extra=()
while (($#)); do
  case "$1" in
    --data) data="${2:?--data needs a folder}"; shift 2 ;;
    --copies) copies="${2:?--copies needs a count}"; shift 2 ;;
    --ratio) ratio="${2:?--ratio needs a number}"; shift 2 ;;
    --work) work="${2:?--work needs a folder}"; shift 2 ;;
    --cgroup) cgroup=true; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
[[ "$copies" =~ ^[0-9]+$ && "$ratio" =~ ^[0-9]+$ && "$ratio" -ge 1 ]] || { echo "--copies and --ratio must be whole numbers" >&2; exit 2; }
"$root/quiver" --help >/dev/null # builds once; the runs below use the build directly
quiver=(dotnet "$root/.artifacts/quiver/quiver.dll")
mkdir -p "$work"
grown="$work/data-x$copies"
if [[ ! -f "$grown/dataset.json" ]]; then
  rm -rf "$grown"
  "${quiver[@]}" bench grow --data "$data" --copies "$copies" --out "$grown"
fi
base="$(ls "$grown"/base.*bin)"
read -r count dim < <(od -An -t d4 -N 8 "$base")
vector_bytes=$((count * dim * 4))
limit=$((vector_bytes / ratio))
common=(--data "$grown" --quantization int8 --oversampling 2 --on-disk --graph-on-disk --ef 20,40,80 --storage "$work/storage-x$copies" "${extra[@]}")
if [[ ! -f "$work/build-x$copies.json" ]]; then
  rm -rf "$work/storage-x$copies"
  echo "== building: $count x $dim vectors ($((vector_bytes / 1048576)) MiB as float32)" >&2
  "${quiver[@]}" bench ann "${common[@]}" --threads 2 --out "$work/build-x$copies.json" >/dev/null
fi
echo "== searching under a limit of $((limit / 1048576)) MiB: the float vectors are ${ratio}x that ($((vector_bytes / 1048576)) MiB)"
run=(env "DOTNET_GCHeapHardLimit=$(printf '0x%X' "$limit")" "${quiver[@]}" bench ann "${common[@]}" --reuse --out "$work/limited-x$copies.json")
if ! $cgroup; then
  "${run[@]}"
  exit
fi
# A child of this process's own memory cgroup, limited to the same bytes, the search process moved into it.
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  parent="/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)"
  group="$parent/quiver-memory-limit-$$"
  mkdir "$group"
  echo "$limit" >"$group/memory.max"
  echo 0 >"$group/memory.swap.max" 2>/dev/null || true
else
  parent="/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)"
  group="$parent/quiver-memory-limit-$$"
  mkdir "$group"
  echo "$limit" >"$group/memory.limit_in_bytes"
fi
trap 'rmdir "$group" 2>/dev/null || true' EXIT
sync
echo 3 >/proc/sys/vm/drop_caches
status=0
bash -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' _ "$group" "${run[@]}" || status=$?
for f in memory.peak memory.max_usage_in_bytes memory.failcnt; do
  [[ -f "$group/$f" ]] && echo "cgroup $f: $(cat "$group/$f")"
done
exit "$status"
