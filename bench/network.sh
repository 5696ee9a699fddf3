#!/usr/bin/env bash
# bench/network.sh: what the mobile links (fleet.network) cost.
#
# Runs bench/telemetry-5k.yaml (5,000 users, telemetry every 5 s, 60 s)
# against the reference backend in its own process (eixamsim serve), so
# the simulator's CPU is measured alone, once without network profiles
# and once with the default mix (`fleet.network: {}`: wifi 50, 4g 35,
# 3g 12, edge 3), BENCH_REPEAT times each (default 2), alternating. Prints
# a Markdown table: CPU µs per telemetry message is the figure to compare
# (docs/performance.md). Needs GNU time (/usr/bin/time). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}/network
repeat=${BENCH_REPEAT:-2}
extra=()
[ -n "${BENCH_USERS:-}" ] && extra+=(--users "$BENCH_USERS")
mkdir -p "$out"
go build -o "$out/eixamsim" ./cmd/eixamsim
export EIXAM_APP_SECRET=demo-secret

"$out/eixamsim" serve --mqtt 127.0.0.1:21883 --ws "" --http 127.0.0.1:28080 --app demo-app --secret-env EIXAM_APP_SECRET >"$out/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 1883 "$out/serve.log" 2>/dev/null && break; sleep 0.1; done

target='target: { http: "http://127.0.0.1:28080", mqtt: "tcp://127.0.0.1:21883" }'
sed "s|^identity:|$target\nidentity:|" bench/telemetry-5k.yaml >"$out/off.yaml"
sed "s|^identity:|$target\nidentity:|; s|^  receive_maximum: 16|&\n  network: {}|" bench/telemetry-5k.yaml >"$out/on.yaml"
grep -q 'network: {}' "$out/on.yaml"

for i in $(seq "$repeat"); do
	for mode in off on; do
		rm -rf "$out/$mode-$i"
		/usr/bin/time -v -o "$out/$mode-$i.time" "$out/eixamsim" run --quiet --out "$out/$mode-$i" "${extra[@]}" "$out/$mode.yaml" || true
	done
done
kill $serve; wait $serve 2>/dev/null || true

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
go run ./bench/summarize -header
for i in $(seq "$repeat"); do
	go run ./bench/summarize -label "no profiles, run $i" -summary "$out/off-$i/summary.json" -time "$out/off-$i.time"
	go run ./bench/summarize -label "default mix, run $i" -summary "$out/on-$i/summary.json" -time "$out/on-$i.time"
done
