#!/usr/bin/env bash
# bench/startup.sh — how fast the worker starts and how little it idles in.
#
# Needs a Pulsar standalone: run it with `eval "$(scripts/pulsar.sh up)"` first (or set
# PULSAR_SERVICE_URL / PULSAR_WEB_SERVICE_URL). Starts bin/pulsar-functions-worker RUNS times (default
# 5) with a fresh functions namespace each time and prints, per run, the time from exec to
# /initialized answering true, and the worker's resident memory 5 s later, then the medians.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
: "${PULSAR_SERVICE_URL:?run: eval \"\$(scripts/pulsar.sh up)\"}"
: "${PULSAR_WEB_SERVICE_URL:?}"
runs=${RUNS:-5}
make -s build
bin=bin/pulsar-functions-worker
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
starts=() rss=()
for i in $(seq 1 "$runs"); do
	ns="public/bench-$$-$i"
	start=$(date +%s%N)
	PF_workerId="bench-$i" PF_workerPort=$port PF_workerPortTls= PF_pulsarFunctionsNamespace=$ns \
		PF_pulsarServiceUrl=$PULSAR_SERVICE_URL PF_pulsarWebServiceUrl=$PULSAR_WEB_SERVICE_URL \
		PF_downloadDirectory=$tmp/download PF_logLevel=warn \
		"$bin" run --config etc/pulsar/functions_worker.yml 2>"$tmp/log" &
	pid=$!
	until curl -fsS "http://127.0.0.1:$port/initialized" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
		sleep 0.01
	done
	ms=$((($(date +%s%N) - start) / 1000000))
	sleep 5
	kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid" || true
	curl -fsS -X DELETE "$PULSAR_WEB_SERVICE_URL/admin/v2/namespaces/$ns?force=true" >/dev/null 2>&1 || true
	printf 'run %d: initialized after %d ms (joined the cluster, read the state topics); RSS after 5 s idle: %d KiB\n' "$i" "$ms" "$kb"
	starts+=("$ms") rss+=("$kb")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'median: %d ms to initialized, %d KiB resident when idle (%d runs)\n' "$(median "${starts[@]}")" "$(median "${rss[@]}")" "$runs"
