#!/usr/bin/env bash
# bench/metrics.sh — how long GET /metrics takes with N local instances.
#
# Runs internal/instmetrics' BenchmarkGather: N instance endpoints (each serving what the
# Go fixture test/gofunction serves) scraped concurrently and merged with the worker's own
# families, as GET /metrics does. No Pulsar needed. Usage: bench/metrics.sh [N...]
# (default 10 50 200); RUNS scrapes per size (default 20). The end-to-end figure with real
# instances is logged by `go test -run TestMetricsWithFiftyInstances ./test/e2e/ -v`.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-20}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 50 200)
for n in "${sizes[@]}"; do
	PFW_BENCH_INSTANCES=$n go test -run '^$' -bench '^BenchmarkGather$' -benchtime "${runs}x" ./internal/instmetrics/ |
		awk -v n="$n" '/^BenchmarkGather/ { printf "%d instances: %.1f ms per scrape (%d scrapes)\n", n, $3 / 1e6, $2 }'
done
