#!/usr/bin/env bash
# bench/compare.sh — our worker against the Java functions worker of the pinned
# distribution, on one Pulsar standalone, with ratios (Java / ours).
#
# Needs the standalone in ZooKeeper mode with package management (as `make test`
# starts it: PULSAR_HOME, PULSAR_SERVICE_URL, PULSAR_WEB_SERVICE_URL,
# PULSAR_METADATA_STORE_URL; PFW_PYTHON for Python instances), java on PATH and Go.
# It builds the worker and the Go test function, then bench/compare.py starts one
# Java worker and one of ours, each in a functions namespace of its own, and measures:
#   - start -> /initialized 200: wall time and the worker's own CPU (user+sys);
#   - idle PSS and idle CPU over IDLE_SECONDS (default 30);
#   - create -> all instances RUNNING for a Go, a Java and a Python function at
#     parallelism 1 and 4 (median of ROUNDS interleaved rounds, default 3);
#   - GET /metrics and GET .../status latency with MANY_INSTANCES (default 50) Go
#     instances on each worker;
#   - failover: per round and kind, a cluster of FAILOVER_WORKERS (default 3) workers
#     of that kind alone in a functions namespace of its own, one Go function
#     (FAILOVER_FUNCTION) with parallelism FAILOVER_PARALLELISM (default: one instance
#     per worker); SIGKILL of a non-leader's whole session (the worker and its
#     instances at once, as when its machine dies), then the time until the function's
#     status from a survivor shows every instance on a survivor (reassigned) and
#     numRunning == parallelism (all RUNNING); then the same for the leader (also:
#     until the survivor names a new leader). Both kinds run with
#     failureCheckFreqMs=FAILURE_CHECK_FREQ_MS (default 1000) and
#     rescheduleTimeoutMs=RESCHEDULE_TIMEOUT_MS (default 5000) instead of the shipped
#     30000/60000; these two decide how fast instances leave a dead worker (the leader
#     checks membership every failureCheckFreqMs and moves an instance once it has
#     been on a missing worker for rescheduleTimeoutMs). The broker tells the new
#     leader about its leadership activeConsumerFailoverDelayTimeMillis (1 s) after
#     the old one's consumer is gone, the same for both kinds.
# Interleaved rounds (Java, ours, Java, ...), medians of ROUNDS (default 3).
# Knobs: PHASES (comma list of startup,idle,create,many,failover; default all: run
# them separately with e.g. PHASES=startup,idle then PHASES=create ...; idle, create
# and many start each worker once when startup is left out), ROUNDS, STARTUP_ROUNDS
# (default 3), IDLE_SECONDS, MANY_INSTANCES (0 skips), LATENCY_SAMPLES (default 20),
# ONLY (comma list of go,java,python), PARALLELISMS (default "1,4"), FAILOVER_WORKERS,
# FAILOVER_PARALLELISM, FAILOVER_FUNCTION (go, java or python; default go),
# FAILURE_CHECK_FREQ_MS, RESCHEDULE_TIMEOUT_MS, KEEP=1 keeps the work directory
# (worker and instance logs).
# Every process it starts runs in a session of its own and is killed on exit.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
: "${PULSAR_HOME:?source the environment of the standalone first}"
: "${PULSAR_SERVICE_URL:?}" "${PULSAR_WEB_SERVICE_URL:?}" "${PULSAR_METADATA_STORE_URL:?the Java worker needs the standalone in ZooKeeper mode}"
command -v java >/dev/null || { echo "java is not on PATH" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pfw-compare.XXXXXX")
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
CGO_ENABLED=0 go build -trimpath -o "$work/pulsar-functions-worker" ./cmd/pulsar-functions-worker
CGO_ENABLED=0 go build -trimpath -o "$work/gofn" ./test/gofunction
# The Python helper needs only the standard library; python3 from the system,
# not necessarily the instances' virtualenv.
# In the background, so that a signal to this script reaches it (its finally
# kills the workers' sessions and deletes what it created) before the EXIT trap.
python3 bench/compare.py --work "$work" --worker "$work/pulsar-functions-worker" --gofn "$work/gofn" &
py=$!
trap 'kill -TERM "$py" 2>/dev/null || true' INT TERM HUP
rc=0
wait "$py" || rc=$?
# A trapped signal ends the first wait early: wait for the clean-up to finish.
while kill -0 "$py" 2>/dev/null; do wait "$py" || rc=$?; done
exit "$rc"
