#!/usr/bin/env bash
# The cost of distribution on this machine: the same data and queries through a 3-node Quiver cluster (on a
# 3-server NATS JetStream cluster, shard logs R3) and through one single-node server, measured in one run.
#  1. Starts three nats-server processes (clustered, JetStream on), three `quiver serve --cluster` nodes and one
#     plain `quiver serve`, all on loopback and free ports; every process is stopped by PID on exit.
#  2. Measures the single server alone (then stops it), then the cluster: uploads the dataset's base vectors into a
#     collection of SHARDS shards (replication_factor 2 in the cluster)
#     through every node with `quiver bench server --upload` (write throughput through the log, with NATS's own
#     CPU time), then runs the query load through every node and through the single server.
#  3. Prints both tables and the cluster/single ratios: search throughput, p99, CPU seconds per 1,000 queries
#     (Quiver processes; NATS is idle during searches), and upload throughput.
# Usage: bench/cluster.sh [--data DIR] [--points N] [--shards S] [--concurrency C] [--duration SEC] [--out FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/glove-100-angular"
points=50000
shards=6
concurrency=8
duration=20
out=""
while (($#)); do
  case "$1" in
    --data) data="${2:?}"; shift 2 ;;
    --points) points="${2:?}"; shift 2 ;;
    --shards) shards="${2:?}"; shift 2 ;;
    --concurrency) concurrency="${2:?}"; shift 2 ;;
    --duration) duration="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh" >&2
"$root/quiver" --help >/dev/null   # builds .artifacts/quiver
quiver=(dotnet "$root/.artifacts/quiver/quiver.dll")
work="$(mktemp -d /tmp/quiver-cluster-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
declare -A used=()
port() { local p; while :; do p="$(free_port)"; [[ -z "${used[$p]:-}" ]] && { used[$p]=1; echo "$p"; return; }; done; }

wait_ready() {
  for _ in $(seq 1 300); do curl -sf "$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "cluster.sh: $1 did not become ready; its log:" >&2; tail -20 "$2" >&2; exit 1
}

bench=("${quiver[@]}" bench server --data "$data" --points "$points" --collection bench --upload --shards "$shards" --concurrency "$concurrency" --duration "$duration")

# The single node first, alone on the machine, then stopped: the cluster's processes must not slow its baseline.
single_http="$(port)"
"${quiver[@]}" serve --host 127.0.0.1 --http-port "$single_http" --grpc-port 0 --storage-path "$work/single" > "$work/single.log" 2>&1 &
pids+=("$!")
wait_ready "http://127.0.0.1:$single_http" "$work/single.log"
echo "== single node: $shards shards" | tee "$work/single.txt"
"${bench[@]}" --url "http://127.0.0.1:$single_http" | tee -a "$work/single.txt"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'

nats_ports=() route_ports=()
for i in 1 2 3; do nats_ports+=("$(port)"); route_ports+=("$(port)"); done
routes=""
for p in "${route_ports[@]}"; do routes+="nats-route://127.0.0.1:$p, "; done
nats_pids=()
for i in 0 1 2; do
  mkdir -p "$work/n$i"
  cat > "$work/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${nats_ports[$i]}
jetstream { store_dir: "$work/n$i", max_memory_store: 1GB, max_file_store: 20GB }
cluster { name: quiver-bench, listen: 127.0.0.1:${route_ports[$i]}, routes: [ ${routes%, } ] }
EOF
  nats-server -c "$work/n$i.conf" > "$work/n$i.log" 2>&1 &
  pids+=("$!"); nats_pids+=("$!")
done
nats_urls="nats://127.0.0.1:${nats_ports[0]},nats://127.0.0.1:${nats_ports[1]},nats://127.0.0.1:${nats_ports[2]}"


node_urls=()
sleep 2
for i in 1 2 3; do
  http="$(port)"
  cat > "$work/q$i.yaml" <<EOF
cluster:
  enabled: true
  nats_url: "$nats_urls"
  node_id: node-$i
  log_replicas: 3
EOF
  "${quiver[@]}" serve --config "$work/q$i.yaml" --host 127.0.0.1 --http-port "$http" --grpc-port 0 --storage-path "$work/q$i" > "$work/q$i.log" 2>&1 &
  pids+=("$!")
  node_urls+=("http://127.0.0.1:$http")
  wait_ready "http://127.0.0.1:$http" "$work/q$i.log"
done
cluster_urls="$(IFS=,; echo "${node_urls[*]}")"

nats_cpu() {  # user+system seconds of the NATS servers, from /proc
  local ticks=0
  for pid in "${nats_pids[@]}"; do
    read -r -a stat < "/proc/$pid/stat"
    ticks=$((ticks + stat[13] + stat[14]))
  done
  python3 -c "print($ticks / $(getconf CLK_TCK))"
}

echo "== cluster: 3 Quiver nodes, 3 NATS servers, $shards shards, replication_factor 2, shard logs R3" | tee "$work/cluster.txt"
nats_before="$(nats_cpu)"
"${bench[@]}" --url "$cluster_urls" --replication 2 | tee -a "$work/cluster.txt"
nats_after="$(nats_cpu)"
echo "NATS CPU during the whole cluster run (upload + queries): $(python3 -c "print(round($nats_after - $nats_before, 1))") s" | tee -a "$work/cluster.txt"

python3 - "$work/cluster.txt" "$work/single.txt" "$out" <<'EOF'
import re, sys, json
def parse(path):
    text = open(path).read()
    up = re.search(r"upload: ([\d,]+) points in ([\d.]+) s: (\d+) points/s", text)
    q = re.search(r"rest: ([\d,]+) queries in ([\d.]+) s with \d+ clients: (\d+) QPS, p50 ([\d.]+) ms, p95 ([\d.]+) ms, p99 ([\d.]+) ms, errors (\d+); CPU per query: server (\d+)", text)
    return {"upload_points_per_s": float(up.group(3)), "qps": float(q.group(3)), "p50_ms": float(q.group(4)), "p99_ms": float(q.group(6)),
            "errors": int(q.group(7)), "server_cpu_s_per_1000_queries": float(q.group(8)) / 1000}
c, s = parse(sys.argv[1]), parse(sys.argv[2])
print("\n| measure | 3-node cluster | single node | cluster / single |\n|---|---|---|---|")
for key, label in [("qps", "search throughput (QPS)"), ("p50_ms", "p50 latency (ms)"), ("p99_ms", "p99 latency (ms)"),
                   ("server_cpu_s_per_1000_queries", "Quiver CPU-seconds per 1,000 queries"), ("upload_points_per_s", "upload (points/s, wait=true)")]:
    print(f"| {label} | {c[key]:.3g} | {s[key]:.3g} | {c[key] / s[key]:.2f}x |")
if sys.argv[3]:
    json.dump({"cluster": c, "single": s}, open(sys.argv[3], "w"), indent=2)
EOF
