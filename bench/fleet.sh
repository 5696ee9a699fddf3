#!/usr/bin/env bash
# bench/fleet.sh: what one simulated phone costs.
#
# Runs bench/telemetry-5k.yaml (5,000 users, telemetry every 5 s, 60 s) twice:
#   1. embedded: simulator and reference backend in one process (the default);
#   2. external: the backend in its own process (eixamsim serve), so the
#      simulator's own CPU and memory are measured alone;
#   3. the same job written with bare paho.golang (bench/rawpaho: same
#      clients, period and QoS, no login, metrics or JSON) against the same
#      external backend: the floor. Row 2 minus row 3 is eixamsim's own cost.
# Prints a Markdown table. Needs GNU time (/usr/bin/time). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}
users=${BENCH_USERS:-}
mkdir -p "$out"
go build -o "$out/eixamsim" ./cmd/eixamsim
export EIXAM_APP_SECRET=demo-secret
extra=()
[ -n "$users" ] && extra+=(--users "$users")

rm -rf "$out/embedded" "$out/external"
/usr/bin/time -v -o "$out/embedded.time" "$out/eixamsim" run --quiet --out "$out/embedded" "${extra[@]}" bench/telemetry-5k.yaml || true

# External backend on fixed loopback ports.
"$out/eixamsim" serve --mqtt 127.0.0.1:21883 --ws "" --http 127.0.0.1:28080 --app demo-app --secret-env EIXAM_APP_SECRET >"$out/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 1883 "$out/serve.log" 2>/dev/null && break; sleep 0.1; done
sed 's|^identity:|target: { http: "http://127.0.0.1:28080", mqtt: "tcp://127.0.0.1:21883" }\nidentity:|' bench/telemetry-5k.yaml >"$out/telemetry-5k-external.yaml"
/usr/bin/time -v -o "$out/external.time" "$out/eixamsim" run --quiet --out "$out/external" "${extra[@]}" "$out/telemetry-5k-external.yaml" || true
go build -o "$out/rawpaho" ./bench/rawpaho
/usr/bin/time -v -o "$out/rawpaho.time" "$out/rawpaho" -broker 127.0.0.1:21883 -users "${users:-5000}" -every 5s -ramp 10s -for 60s >"$out/rawpaho.txt" || true
kill $serve; wait $serve 2>/dev/null || true

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), $(date -u +%F)"
echo
go run ./bench/summarize -header
go run ./bench/summarize -label "embedded backend (one process)" -summary "$out/embedded/summary.json" -time "$out/embedded.time"
go run ./bench/summarize -label "simulator alone (backend in another process)" -summary "$out/external/summary.json" -time "$out/external.time"
go run ./bench/summarize -label "baseline: bare paho.golang, same job" -rawpaho "$out/rawpaho.txt" -time "$out/rawpaho.time"
