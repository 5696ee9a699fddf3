# Sourced by the bench scripts: the processes they start end with them,
# and they wait for a listener before using it.

pids=()     # started for the whole script
run_pids=() # started for the run in progress
cleanup() {
	for p in "${run_pids[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# listening PORT: whether anything accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# waitport PORT [PID]: wait up to 10 s for a listener on PORT (for PID's,
# giving up when PID has exited).
waitport() {
	for _ in $(seq 100); do
		listening "$1" && return 0
		if [[ -n ${2:-} ]] && ! kill -0 "$2" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "$(basename "$0"): nothing${2:+ of ours} listens on 127.0.0.1:$1${out:+ (see $out)}" >&2
	return 1
}
