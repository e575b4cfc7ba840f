#!/usr/bin/env bash
# Regenerates the golden files in internal/pb/testdata from an unpacked
# Apache Pulsar 4.0.8 binary distribution.
#
#   PULSAR_HOME=/path/to/apache-pulsar-4.0.8 PYTHON=/path/to/python \
#     internal/pb/testdata/gen/regen.sh
#
# PYTHON must have the protobuf runtime the 4.0.8 *_pb2.py modules need
# (6.31.x). Needs a JDK (javac, java) for the Java side.
set -euo pipefail
: "${PULSAR_HOME:?set PULSAR_HOME to an unpacked apache-pulsar-4.0.8}"
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testdata=$(dirname "$here")
pkg=$(dirname "$testdata")
pb2="$PULSAR_HOME/instances/python-instance"
lib="$PULSAR_HOME/lib"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PYTHON" "$here/extract_pb2.py" "$pb2" "$testdata/python"

(cd "$pkg" && PFW_PB_SAMPLES_DIR="$work" go test -count=1 -run '^TestWriteSamples$' .)

cp="$lib/org.apache.pulsar-pulsar-functions-proto-4.0.8.jar"
for j in com.google.protobuf-protobuf-java-3 com.google.protobuf-protobuf-java-util-3 com.google.code.gson-gson- com.google.guava-guava-; do
  cp="$cp:$(ls "$lib"/$j*.jar | head -1)"
done
javac -d "$work" -cp "$cp" "$here/Golden.java"
java -cp "$cp:$work" Golden "$work" "$testdata"

"$PYTHON" "$here/golden.py" "$pb2" "$work" "$testdata"
