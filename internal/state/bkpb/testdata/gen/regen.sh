#!/usr/bin/env bash
# Regenerates testdata/java/*.desc from the Apache Pulsar 4.0.8 distribution
# (needs a JDK 11+ and PULSAR_HOME).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${PULSAR_HOME:?set PULSAR_HOME to the unpacked apache-pulsar-4.0.8}"
java -cp "$PULSAR_HOME/lib/*" "$here/DumpDescriptors.java" "$here/../java"
