#!/usr/bin/env bash
# scripts/fuzz.sh — run every Go fuzz target of the module for a bounded time (part of `make check`).
#
#   scripts/fuzz.sh               every target (func FuzzXxx in a _test.go file), FUZZTIME each
#   scripts/fuzz.sh FuzzDecode    only the targets whose name matches the regular expression
#
# Environment: FUZZTIME (go test's -fuzztime, default 3s).
#
# Each package's test binary is built once (go test -c), its code instrumented for coverage
# guidance as `go test -fuzz` does it (-d=libfuzzer), but only this module's packages: the
# dependencies' counters would slow every execution and guide towards their code, not ours.
# Then its targets run one after the other, each with the binary's -test.fuzz (one target at a
# time, a worker per core), in the package directory, with go's fuzz cache. For each target it
# prints the package, the target and the executions go reported last ("fuzz: elapsed: ...,
# execs: N"; the count of what the fuzz workers had reported, so a lower bound), then a summary.
# A crash, a failing input or a build error fails the run; the failing input is written to the
# package's testdata/fuzz/<target>/, where a plain `go test` replays it until it is fixed.
set -uo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=fuzz.sh
cd "$PFW_REPO_ROOT" || exit 1

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
filter=${1:-.}

# "<package dir> <target>" for every fuzz target, sorted.
mapfile -t targets < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' \
	--exclude-dir=.git --exclude-dir=bin --exclude-dir=dist . |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u)

module=$("$GO" list -m)
cache=$("$GO" env GOCACHE)/fuzz
bins=$(mktemp -d "${TMPDIR:-/tmp}/pfw-fuzz.XXXXXX")
trap 'rm -rf -- "$bins"' EXIT

total_start=$(pfw_now)
failed=()
summary=()
ran=0
built=""
for entry in "${targets[@]}"; do
	dir=${entry% *}
	name=${entry#* }
	[[ $name =~ $filter ]] || continue
	ran=$((ran + 1))
	start=$(pfw_now)
	bin=$bins/${dir//\//_}.test
	if [[ $built != *" $dir "* ]]; then
		if ! out=$("$GO" test -c -o "$bin" -gcflags="$module/...=-d=libfuzzer" "./$dir" 2>&1); then
			echo "$out" >&2
			failed+=("$dir (build)")
			continue
		fi
		built+=" $dir "
	fi
	out=$(cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$FUZZTIME" \
		-test.fuzzcachedir "$cache/$module/$dir" 2>&1)
	status=$?
	# Go before 1.27 can end a duration-bounded run with a bare "context deadline exceeded"
	# and no failing input when the machine is loaded (go.dev/issue/75804): not a finding,
	# so that target runs once more; a real failure writes its input and fails again.
	if ((status != 0)) && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
		pfw_log "$dir $name: bare 'context deadline exceeded' (go.dev/issue/75804), running it once more"
		out=$(cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$FUZZTIME" \
			-test.fuzzcachedir "$cache/$module/$dir" 2>&1)
		status=$?
	fi
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
