#!/usr/bin/env bash
# bench/churn.sh: what churn costs the simulator, one command.
#
# Starts one mosquitto (anonymous, no connection cap) and `eixamsim serve`
# for the HTTP login on loopback, then runs bench/churn-10k.yaml twice
# under GNU time while bench/scalesum samples its RSS and CPU every
# second: without churn, and with fleet.churn { online: 60s, offline: 20s }
# (every leave mode by the default weights, back as a cold start). Prints
# a Markdown table: CPU per login (returns included) and RSS per online
# user over the steady stage. Every process started here is killed on
# exit; each run is bounded by `timeout`. Loopback only.
#
#   bench/churn.sh                       # 10,000 users, ~7 minutes
#   CHURN_USERS=2000 bench/churn.sh      # a smaller rehearsal
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out/churn}
users=${CHURN_USERS:-10000}
rm -rf "$out" && mkdir -p "$out"
outabs=$(cd "$out" && pwd)
go build -o "$out/eixamsim" ./cmd/eixamsim
go build -o "$out/scalesum" ./bench/scalesum
export EIXAM_APP_SECRET=demo-secret

. bench/lib.sh # pids, run_pids, cleanup on exit, listening, waitport

cat >"$out/mosquitto.conf" <<CONF
listener 21030 127.0.0.1
allow_anonymous true
max_connections -1
set_tcp_nodelay true
persistence false
log_dest file $outabs/mosquitto.log
log_type error
log_type warning
CONF
mosquitto -c "$out/mosquitto.conf" 2>>"$out/mosquitto.log" &
pids+=($!)
"$out/eixamsim" serve --mqtt "" --ws "" --http 127.0.0.1:28090 --app demo-app --secret-env EIXAM_APP_SECRET >"$out/serve.log" 2>&1 &
pids+=($!)
waitport 21030
waitport 28090

# run NAME [--set ...]: one run of the scenario.
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$out/$name.time" timeout -s INT 420 \
		"$out/eixamsim" run bench/churn-10k.yaml --no-progress --users "$users" \
		--set target.http=http://127.0.0.1:28090 --set target.mqtt=tcp://127.0.0.1:21030 "$@" \
		--out "$out/$name" >"$out/$name.txt" 2>"$out/$name.err" &
	local pid=$!
	pids+=($pid)
	"$out/scalesum" sample -pid "$pid" -out "$out/$name.samples" &
	wait $pid || echo "churn.sh: $name exited with $? (see $out/$name.err)" >&2
	# Let the closed connections' TIME_WAIT end (up to 90 s).
	for _ in $(seq 90); do
		[ "$(ss -tan state time-wait | wc -l)" -lt 2000 ] && break
		sleep 1
	done
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run steady
run churn --set 'fleet.churn={ online: 60s, offline: 20s }'
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), $(mosquitto -h 2>/dev/null | head -1), $(date -u +%F); $users users; load average before $load_before, after $load_after"
echo
"$out/scalesum" churnheader
for name in steady churn; do
	"$out/scalesum" churnrow -summary "$out/$name/summary.json" -samples "$out/$name.samples" -time "$out/$name.time" "$name" || true
done
