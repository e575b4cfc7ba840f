#!/usr/bin/env bash
# scripts/fuzz.sh — run every Go fuzz target of the module for a bounded time (part of `make check`).
#
#   scripts/fuzz.sh               every target (func FuzzXxx in a _test.go file), FUZZTIME each
#   scripts/fuzz.sh FuzzDecode    only the targets whose name matches the regular expression
#
# Environment: FUZZTIME (go test's -fuzztime, default 5s).
#
# Targets run one after the other (go test -fuzz takes one target of one package at a time, and
# uses every core). For each it prints the package, the target and the executions go test
# reported last ("fuzz: elapsed: ..., execs: N"; go counts what its workers have reported, so this
# is a lower bound), then a summary. A crash, a failing input or a build error fails the run;
# go test then writes the failing input to the package's testdata/fuzz/<target>/, where a plain
# `go test` replays it until it is fixed.
set -uo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=fuzz.sh
cd "$PFW_REPO_ROOT" || exit 1

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}
filter=${1:-.}

# "<package dir> <target>" for every fuzz target, sorted.
mapfile -t targets < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' \
	--exclude-dir=.git --exclude-dir=bin --exclude-dir=dist . |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u)

total_start=$(pfw_now)
failed=()
summary=()
ran=0
for entry in "${targets[@]}"; do
	dir=${entry% *}
	name=${entry#* }
	[[ $name =~ $filter ]] || continue
	ran=$((ran + 1))
	start=$(pfw_now)
	out=$("$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "./$dir" 2>&1)
	status=$?
	execs=$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -n 1 | grep -oE '[0-9]+')
	line=$(printf '%-32s %-28s %10s execs  %3d s' "$dir" "$name" "${execs:-?}" "$(($(pfw_now) - start))")
	if ((status != 0)); then
		echo "$out" >&2
		line+="  FAILED"
		failed+=("$dir $name")
	fi
	pfw_log "$line"
	summary+=("$line")
done

if ((ran == 0)); then
	pfw_die "no fuzz target matches $filter"
fi
pfw_log "summary: $ran targets, -fuzztime $FUZZTIME each, total $(($(pfw_now) - total_start)) s"
for line in "${summary[@]}"; do
	pfw_log "  $line"
done
if ((${#failed[@]} > 0)); then
	pfw_die "failed: ${failed[*]}"
fi
