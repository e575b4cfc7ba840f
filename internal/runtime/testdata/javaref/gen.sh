#!/usr/bin/env bash
# Regenerates testdata/javaref/*.txt: the command lines Pulsar's own
# RuntimeUtils.getCmd (from $PULSAR_HOME/lib, i.e. 4.0.8) builds for the
# *.details.json inputs that `go test -run TestCommandGolden -update` writes.
# Needs a JDK (javac) and PULSAR_HOME (eval "$(scripts/pulsar.sh env)").
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")"
: "${PULSAR_HOME:?set PULSAR_HOME to the unpacked Pulsar distribution}"
out=$(mktemp -d)
trap 'rm -rf -- "$out"' EXIT
javac -d "$out" -cp "$PULSAR_HOME/lib/*" Ref.java
for c in java java-auth python python-auth go go-auth source sink sink-transform; do
	auth=0
	[[ $c == *-auth ]] && auth=1
	transform=()
	# The transform function jar of cmd_test.go's goldenTransformJar.
	[[ $c == sink-transform ]] && transform=(/dl/public/default/fn/0/examples.jar)
	java -cp "$out:$PULSAR_HOME/lib/*" Ref "$c.details.json" 1 "$auth" "$c.txt" "${transform[@]}" 2>/dev/null
done
