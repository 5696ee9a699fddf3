#!/usr/bin/env bash
# bench/connect-burst.sh: what bringing a herd online costs eixamsim, next
# to the floor (bench/rawburst) doing the same on the same machine.
#
# Starts on loopback, as the current user, everything under $out:
#   - mosquitto 2.0 (Debian's; anonymous, no connection cap), one process
#     per 10,000 users (below);
#   - nginx answering the SDK's login calls: GET /v1/sdk/me echoes
#     X-User-ID as user.external_user_id, GET /v1/sdk/sos answers
#     {"incident":null}; keep-alive connections are never closed by it.
# Then, for each size in BURST_USERS and each rate in BURST_RATES, repeated
# BURST_REPEAT times:
#   1. eixamsim: `eixamsim run` of a scenario written here (the target
#      above, login [me, sos_rehydrate], no other behaviour, a stage that
#      brings every user online at the asked rate, a 3 s hold);
#   2. the floor: bench/rawburst -login, the same users, login calls,
#      CONNECT and SUBSCRIBE, over the same schedule;
#   3. bench/rawburst without -login: CONNECT and SUBSCRIBE only, what the
#      login calls cost.
# Each generator runs under GNU time (CPU, children included) and
# `timeout`, while bench/scalesum samples its processes' summed RSS every
# second. Prints one Markdown row per run, then the medians side by side.
#
# One process holds at most 20,000 open files here (`ulimit -n`): one
# mosquitto holds ~19,900 connections, and one generator process holds its
# users' MQTT connections plus its HTTP pool, so 20,000 users do not fit
# in one of either. Every size is therefore split into processes of at
# most 10,000 users: ceil(users / 10,000) brokers, user n on broker
# n mod that; eixamsim runs with --procs that many (workers of 10,000
# users), the floor as that many rawburst processes started together. A
# 20,000-user burst is two 10,000-user ones side by side on the same
# cores, for both generators alike.
#
#   bench/connect-burst.sh                                  # 10,000 and 20,000 users, 5,000/s and unlimited, 3 runs each
#   BURST_USERS=2000 BURST_REPEAT=1 bench/connect-burst.sh  # a quick rehearsal
#   BURST_RATES=5000 bench/connect-burst.sh                 # one rate (users/s, or "unlimited")
#   BURST_USERS=2000 BURST_PER_PROCESS=1000 ...             # rehearse the split into processes
#
# Every process started here is stopped on exit; nothing but loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out/connect-burst}
sizes=${BURST_USERS:-10000 20000}
rates=${BURST_RATES:-5000 unlimited}
repeat=${BURST_REPEAT:-3}
per=${BURST_PER_PROCESS:-10000} # users per broker and per generator process (above)
hold=3           # seconds every user stays online after the burst stage
mqtt_port=21301  # brokers listen on 21301, 21302, ...
http_port=28301

most=0
for n in $sizes; do
	case $n in '' | *[!0-9]* | 0) echo "connect-burst.sh: BURST_USERS: $n is not a number of users" >&2; exit 2 ;; esac
	[ "$n" -gt "$most" ] && most=$n
done
for r in $rates; do
	case $r in unlimited) ;; '' | *[!0-9]* | 0) echo "connect-burst.sh: BURST_RATES: $r is neither users/s nor \"unlimited\"" >&2; exit 2 ;; esac
done
case $repeat in '' | *[!0-9]* | 0) echo "connect-burst.sh: BURST_REPEAT: $repeat is not a count >= 1" >&2; exit 2 ;; esac
case $per in '' | *[!0-9]* | 0) echo "connect-burst.sh: BURST_PER_PROCESS: $per is not a number of users >= 1" >&2; exit 2 ;; esac

if [ $((per + 2100)) -gt "$(ulimit -n)" ]; then
	echo "connect-burst.sh: $per users per process need ~$((per + 2100)) open files (MQTT connections, eixamsim's HTTP pool); ulimit -n is $(ulimit -n): lower BURST_PER_PROCESS" >&2
	exit 2
fi
if [ "$(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo 0)" = 0 ]; then
	echo "connect-burst.sh: warning: net.ipv4.tcp_tw_reuse is 0, so back-to-back runs may find the loopback ports still in TIME_WAIT" >&2
fi

rm -rf "$out" && mkdir -p "$out/runs"
outabs=$(cd "$out" && pwd)
go build -o "$out/eixamsim" ./cmd/eixamsim
go build -o "$out/rawburst" ./bench/rawburst
go build -o "$out/scalesum" ./bench/scalesum
export EIXAM_APP_SECRET=demo-secret

rc=0 drops=0 # the last run's exit code and listen overflows (measure)
. bench/lib.sh # pids, run_pids, cleanup on exit, listening, waitport

# brokers USERS: how many brokers (and generator processes) USERS need.
brokers() { echo $((($1 + per - 1) / per)); }

for i in $(seq 1 "$(brokers "$most")") http; do
	port=$([ "$i" = http ] && echo $http_port || echo $((mqtt_port + i - 1)))
	if listening "$port"; then
		echo "connect-burst.sh: 127.0.0.1:$port is already in use; stop what listens there" >&2
		exit 1
	fi
done

mqtt_list=()
for i in $(seq 1 "$(brokers "$most")"); do
	port=$((mqtt_port + i - 1))
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
	waitport "$port" $!
	mqtt_list+=("127.0.0.1:$port")
done

mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<CONF
# The SDK's login calls, answered from memory (bench/connect-burst.sh).
daemon off;
worker_processes auto;
pid $outabs/nginx/nginx.pid;
error_log $outabs/nginx/error.log warn;
events { worker_connections 8192; }
http {
	# One line per request: its end (Unix seconds, ms) and path. The time of
	# the last login call answered ends a run's burst for both generators.
	log_format burst '\$msec \$uri \$status';
	access_log $outabs/nginx/access.log burst;
	client_body_temp_path $outabs/nginx/client_body;
	proxy_temp_path $outabs/nginx/proxy;
	fastcgi_temp_path $outabs/nginx/fastcgi;
	uwsgi_temp_path $outabs/nginx/uwsgi;
	scgi_temp_path $outabs/nginx/scgi;
	# A login must be able to reuse its connection: never close one for
	# having served many requests or for a short idle time.
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	default_type application/json;
	server {
		listen 127.0.0.1:$http_port;
		location = /v1/sdk/me { return 200 '{"user":{"id":"u-\$http_x_user_id","external_user_id":"\$http_x_user_id"}}'; }
		location = /v1/sdk/sos { return 200 '{"incident":null}'; }
		location / { return 404 '{"error":"not an SDK login call"}'; }
	}
}
CONF
nginx -p "$outabs/nginx" -c "$outabs/nginx/nginx.conf" -e "$outabs/nginx/error.log" &
pids+=($!)
waitport $http_port $!
me=$(curl -sS -H 'X-User-ID: burst-0' "http://127.0.0.1:$http_port/v1/sdk/me")
if [ "$me" != '{"user":{"id":"u-burst-0","external_user_id":"burst-0"}}' ]; then
	echo "connect-burst.sh: nginx answered GET /v1/sdk/me with $me" >&2
	exit 1
fi

# burstlen USERS: the burst stage's seconds, long enough for USERS at a
# quarter of 5,000/s (longer only keeps the users online for longer).
burstlen() { echo $((($1 * 4 + 4999) / 5000 > 5 ? ($1 * 4 + 4999) / 5000 : 5)); }

# overflows: the machine's count of connections dropped at a full listen
# queue (TcpExt ListenOverflows): mosquitto's backlog is 100, and each drop
# costs a user a 1 s SYN retransmission.
overflows() {
	awk '/^TcpExt:/ { if (!n) { n = split($0, k) } else { split($0, v); for (i = 1; i <= n; i++) if (k[i] == "ListenOverflows") print v[i] } }' /proc/net/netstat
}

# measure DIR COMM LIMIT CMD...: run CMD under timeout (LIMIT seconds, then
# SIGINT, which every generator answers by writing its results) and GNU
# time, sample the summed RSS of its processes named COMM every second
# (not the wrappers: timeout, time, bash), and keep the run's slice of
# nginx's access log. Sets rc to CMD's exit code and drops to the listen
# overflows during the run.
measure() {
	local dir=$1 comm=$2 limit=$3 pid from ovf
	shift 3
	from=$(stat -c %s "$out/nginx/access.log")
	ovf=$(overflows)
	rc=0
	timeout -k 10 -s INT "$limit" /usr/bin/time -v -o "$dir/time" "$@" &
	pid=$!
	"$out/scalesum" sample -pid $pid -comm "$comm" -out "$dir/samples" &
	run_pids=($pid $!)
	wait $pid || rc=$?
	wait "${run_pids[1]}" || true # the sampler ends with the run
	run_pids=()
	tail -c +$((from + 1)) "$out/nginx/access.log" >"$dir/access.log"
	drops=$(($(overflows) - ovf))
}

# run_eixamsim USERS RATE REP
run_eixamsim() {
	local users=$1 rate=$2 rep=$3 dir k procs=() asked len mqtt=""
	dir="$out/runs/$users-$rate-eixamsim-$rep"
	mkdir -p "$dir"
	k=$(brokers "$users")
	[ "$k" -gt 1 ] && procs=(--procs "$k")
	asked=$([ "$rate" = unlimited ] && echo 1000000 || echo "$rate")
	len=$(burstlen "$users")
	for a in "${mqtt_list[@]:0:$k}"; do mqtt+="${mqtt:+, }tcp://$a"; done
	cat >"$dir/scenario.yaml" <<YAML
# Written by bench/connect-burst.sh: $users users online at $rate/s, login only.
version: 1
name: connect-burst
target:
  http: http://127.0.0.1:$http_port
  mqtt: [$mqtt]
identity:
  app_id: demo-app
  app_secret: \${EIXAM_APP_SECRET}
  user_id: "burst-{{.N}}"
fleet:
  users: $users
  connect_rate: $asked/s          # "unlimited": more than any machine connects
  receive_maximum: 16
  keep_alive: 30s
stages:
  - { name: burst, for: ${len}s, users: 100% }
  - { name: hold, for: ${hold}s, users: 100% }
behaviours:
  login: [me, sos_rehydrate]
YAML
	measure "$dir" eixamsim $((len + hold + 120)) \
		"$out/eixamsim" run "$dir/scenario.yaml" "${procs[@]}" --no-progress --quiet --out "$dir/results" \
		>"$dir/stdout" 2>"$dir/stderr"
	"$out/scalesum" burstrow -gen eixamsim -users "$users" -asked "$rate" -rep "$rep" -rc $rc -drops $drops \
		-time "$dir/time" -samples "$dir/samples" -access "$dir/access.log" -summary "$dir/results/summary.json" >>"$out/runs.tsv"
}

# run_floor USERS RATE REP MODE: MODE login (rawburst -login) or bare.
run_floor() {
	local users=$1 rate=$2 rep=$3 mode=$4 dir k n asked len at flag="" cmd="pids=()"
	[ "$mode" = login ] && flag=-login
	dir="$out/runs/$users-$rate-floor-$mode-$rep"
	mkdir -p "$dir"
	k=$(brokers "$users")
	n=$((users / k))
	asked=$([ "$rate" = unlimited ] && echo 0 || echo "$((rate / k))")
	len=$(burstlen "$users")
	at=$(($(date +%s) + 2)) # every process starts its burst together
	for i in $(seq 0 $((k - 1))); do
		cmd+="; '$out/rawburst' $flag -http http://127.0.0.1:$http_port -broker ${mqtt_list[$i]}"
		cmd+=" -first $((i * n)) -users $((i == k - 1 ? users - i * n : n))"
		cmd+=" -rate $asked -for $((len + hold))s -at $at >'$dir/rawburst-$i.json' 2>'$dir/rawburst-$i.err' & pids+=(\$!)"
	done
	# The shell passes a signal on to its rawburst processes, which then
	# write their results; the second wait is for them.
	cmd+='; trap "kill -TERM \${pids[*]} 2>/dev/null" INT TERM; wait; wait'
	measure "$dir" rawburst $((len + hold + 120)) bash -c "$cmd"
	"$out/scalesum" burstrow -gen "floor-$mode" -users "$users" -asked "$rate" -rep "$rep" -rc $rc -drops $drops \
		-time "$dir/time" -samples "$dir/samples" -access "$dir/access.log" "$dir"/rawburst-*.json >>"$out/runs.tsv"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$repeat"); do
	for users in $sizes; do
		for rate in $rates; do
			echo "connect-burst.sh: run $rep/$repeat, $users users, $rate$([ "$rate" = unlimited ] || echo /s)" >&2
			run_eixamsim "$users" "$rate" "$rep"
			run_floor "$users" "$rate" "$rep" login
			run_floor "$users" "$rate" "$rep" bare
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, open files $(ulimit -n), $(go version | cut -d' ' -f3), $(mosquitto -h 2>/dev/null | head -1), $(nginx -v 2>&1 | cut -d' ' -f3), $(date -u +%F); load average before $load_before, after $load_after"
	echo
	"$out/scalesum" bursttable "$out/runs.tsv"
} | tee "$out/table.md"
