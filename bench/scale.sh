#!/usr/bin/env bash
# bench/scale.sh: 100,000 signed users on this machine, one command.
#
# Starts the target on loopback: SCALE_BROKERS mosquitto processes (one
# process holds at most ~19,900 connections under the 20,000 open-files
# limit; anonymous, set_tcp_nodelay, no connection cap) and `eixamsim
# serve` for the HTTP login. Then:
#   1. eixamsim run bench/scale-100k.yaml --procs auto, the users spread
#      over the brokers (target.mqtt is the list of their addresses);
#   2. the same clients, period and QoS with bare paho.golang
#      (bench/rawpaho, no login), one process per broker: the floor.
# Each generator runs under GNU time (CPU, children included) while
# bench/scalesum samples the RSS and CPU of its whole process tree every
# second. Prints a Markdown table. Every process started here is killed on
# exit; each run is bounded by `timeout`. Loopback only.
#
#   bench/scale.sh                       # 100,000 users, ~7 minutes
#   SCALE_USERS=20000 bench/scale.sh     # a smaller rehearsal
#   SCALE_RATE=5000 bench/scale.sh       # ask for another connect rate (default 2,000/s)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out/scale}
users=${SCALE_USERS:-100000}
brokers=${SCALE_BROKERS:-6}
steady=${SCALE_STEADY:-120s}
rate=${SCALE_RATE:-2000}   # users connected per second, the whole run's
ramp=60   # seconds: the scenario's ramp-up stage
length=$((ramp + ${steady%s}))
rawramp=$(((users + rate - 1) / rate))
rm -rf "$out" && mkdir -p "$out"
outabs=$(cd "$out" && pwd)
go build -o "$out/eixamsim" ./cmd/eixamsim
go build -o "$out/rawpaho" ./bench/rawpaho
go build -o "$out/scalesum" ./bench/scalesum
export EIXAM_APP_SECRET=demo-secret

. bench/lib.sh # pids, run_pids, cleanup on exit, listening, waitport

mqtt=""
for i in $(seq 1 "$brokers"); do
	port=$((21010 + i))
	cat >"$out/mosquitto-$i.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_connections -1
set_tcp_nodelay true
persistence false
log_dest file $outabs/mosquitto-$i.log
log_type error
log_type warning
CONF
	mosquitto -c "$out/mosquitto-$i.conf" 2>>"$out/mosquitto-$i.log" &
	pids+=($!)
	mqtt+="${mqtt:+,}tcp://127.0.0.1:$port"
done
"$out/eixamsim" serve --mqtt "" --ws "" --http 127.0.0.1:28080 --app demo-app --secret-env EIXAM_APP_SECRET >"$out/serve.log" 2>&1 &
pids+=($!)
for i in $(seq 1 "$brokers"); do waitport $((21010 + i)); done
waitport 28080

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# 1. eixamsim, one command.
/usr/bin/time -v -o "$out/eixamsim.time" timeout -s INT $((length + 240)) \
	"$out/eixamsim" run bench/scale-100k.yaml --procs auto --no-progress --users "$users" \
	--set "stages[1].for=$steady" --set "fleet.connect_rate=$rate/s" --set target.http=http://127.0.0.1:28080 --set "target.mqtt=[$mqtt]" \
	--out "$out/results" >"$out/eixamsim.txt" 2>"$out/eixamsim.err" &
run=$!
pids+=($run)
"$out/scalesum" sample -pid "$run" -out "$out/eixamsim.samples" &
wait $run || echo "scale.sh: eixamsim exited with $? (see $out/eixamsim.err)" >&2
# Wait (up to 90 s) for the closed connections' TIME_WAIT to end: the ports
# eixamsim bound on its source addresses stay taken until then, and the
# baseline's unbound connects would find no free port.
for _ in $(seq 90); do
	[ "$(ss -tan state time-wait | wc -l)" -lt 2000 ] && break
	sleep 1
done

# 2. bare paho.golang, one process per broker.
per=$(((users + brokers - 1) / brokers))
/usr/bin/time -v -o "$out/rawpaho.time" timeout -s INT $((length + 240)) bash -c '
	for i in $(seq 1 '"$brokers"'); do
		"'"$out"'/rawpaho" -broker 127.0.0.1:$((21010 + i)) -users '"$per"' -every 60s -ramp '"$rawramp"'s -for '"$length"'s -ticks >"'"$out"'/rawpaho-$i.txt" 2>&1 &
	done
	wait' &
raw=$!
pids+=($raw)
"$out/scalesum" sample -pid "$raw" -out "$out/rawpaho.samples" &
wait $raw || echo "scale.sh: rawpaho exited with $?" >&2
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), $(mosquitto -h 2>/dev/null | head -1), $(date -u +%F); load average before $load_before, after $load_after"
echo "eixamsim: $(tail -1 "$out/eixamsim.err")"
echo
"$out/scalesum" header
"$out/scalesum" eixamsim -summary "$out/results/summary.json" -samples "$out/eixamsim.samples" -time "$out/eixamsim.time" || true
"$out/scalesum" rawpaho -samples "$out/rawpaho.samples" -time "$out/rawpaho.time" -ramp "$rawramp" -for "$length" "$out"/rawpaho-*.txt || true
