#!/usr/bin/env bash
# scripts/test.sh — the whole test suite (`make test`) against one Pulsar standalone.
#
#   scripts/test.sh                       go test -count=1 -parallel 3 -timeout 50m ./...
#   scripts/test.sh -run TestX ./test/... go test -count=1 -parallel 3 -timeout 50m -run TestX ./test/...
#
# Builds bin/pulsar-functions-worker, starts a standalone with BookKeeper stream storage for
# function state (scripts/pulsar.sh up with PFW_PULSAR_STREAM_STORAGE=1 unless the caller set it),
# runs go test with PULSAR_HOME, PULSAR_SERVICE_URL, PULSAR_WEB_SERVICE_URL, PULSAR_STATE_STORAGE_URL
# and PFW_PYTHON in the environment (and whatever else the caller set, e.g. CI=true), and always stops the
# standalone on exit, also on failure or Ctrl-C. Arguments replace the default package list; as go
# test's flags are last-one-wins, `-timeout`/`-count` given here override the defaults too.
# Without arguments (the whole suite) it then runs the systemd guest tests, test/systemd/run.sh,
# against the same standalone (PFW_TEST_SYSTEMD=0 leaves them out).
# Exits with go test's status, else the guest tests'.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=test.sh
cd "$PFW_REPO_ROOT"

started=$(pfw_now)

# go_summary prints, from the copy of go test's output, each package's result and time, the failed
# tests and the 15 slowest top-level tests; on_exit calls it so that it ends the log.
go_summary() {
	[[ -s ${gotest_log:-} ]] || return 0
	pfw_log "go test: packages (result, time):"
	grep -E '^(ok|FAIL)[[:space:]]+[a-z]' -- "$gotest_log" >&2 || true
	pfw_log "go test: failed tests:"
	grep -E '^[[:space:]]*--- FAIL: ' -- "$gotest_log" >&2 || true
	pfw_log "go test: the 15 slowest top-level tests (seconds):"
	sed -nE 's/^--- (PASS|FAIL|SKIP): ([^ ]+) \(([0-9.]+)s\)$/\3 \1 \2/p' -- "$gotest_log" |
		sort -rn | head -n 15 >&2 || true
}

# shellcheck disable=SC2317 # called through the EXIT trap
on_exit() {
	local status=$?
	trap - EXIT INT TERM
	"$PFW_REPO_ROOT/scripts/pulsar.sh" down || pfw_log "warning: scripts/pulsar.sh down failed"
	go_summary
	rm -f -- "${fault_summary:-}" "${gotest_log:-}"
	pfw_log "exit status $status, total time $(($(pfw_now) - started)) s"
	exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build first: a compile error should not wait for Pulsar to start.
pfw_log "building bin/pulsar-functions-worker"
"${MAKE:-make}" --no-print-directory build

# Function state tests need stream storage; PFW_PULSAR_STREAM_STORAGE=0 runs without it (those tests
# then skip, or fail under CI=true).
export PFW_PULSAR_STREAM_STORAGE=${PFW_PULSAR_STREAM_STORAGE:-1}

# Not `eval "$(...)"` directly: that would hide a failing `up` behind eval's own status 0.
exports=$("$PFW_REPO_ROOT/scripts/pulsar.sh" up)
eval "$exports"
pfw_log "Pulsar: $PULSAR_SERVICE_URL, $PULSAR_WEB_SERVICE_URL, state: ${PULSAR_STATE_STORAGE_URL:-none} (PULSAR_HOME=$PULSAR_HOME)"

if (($# == 0)); then
	set -- ./...
fi
# The fault suite (test/fault) writes its table of figures (lost, duplicates, half-applied, exits,
# recovery per experiment) to this file; go test shows nothing of a passing package but "ok".
fault_summary=$(mktemp "${TMPDIR:-/tmp}/pfw-fault-summary.XXXXXX")
export PFW_FAULT_SUMMARY=$fault_summary
pfw_log "go test -count=1 -parallel 3 -timeout 50m -v $*"
# -v and a copy of the output for go_summary, so a CI log's tail shows where the time went and what failed.
gotest_log=$(mktemp "${TMPDIR:-/tmp}/pfw-go-test.XXXXXX")
status=0
go test -count=1 -parallel 3 -timeout 50m -v "$@" 2>&1 | tee -- "$gotest_log" || status=$?
if [[ -s $fault_summary ]]; then
	pfw_log "test/fault:"
	cat -- "$fault_summary"
fi

# The whole suite also runs what needs a real systemd: the packages installed in the systemd guest,
# against this same standalone (test/systemd/run.sh finds it with scripts/pulsar.sh env).
# PFW_TEST_SYSTEMD=0 leaves it out; a package list given as arguments does too.
if [[ ${PFW_TEST_SYSTEMD:-1} == 1 && $# == 1 && $1 == ./... ]]; then
	pfw_log "systemd guest tests: test/systemd/run.sh"
	systemd_status=0
	test/systemd/run.sh || systemd_status=$?
	if ((systemd_status != 0)); then
		pfw_log "systemd guest tests failed (status $systemd_status)"
		((status != 0)) || status=$systemd_status
	fi
fi
exit "$status"
