#!/usr/bin/env bash
# packaging/goreleaser.sh ARGS... — goreleaser v2.16.0, pinned in packaging/tools/goreleaser.mod
# (kept out of the worker's go.mod), with PFW_VERSION from packaging/version.sh for snapshots:
#   packaging/goreleaser.sh check
#   packaging/goreleaser.sh release --snapshot --clean --skip=publish   # -> dist/goreleaser/
# The first run compiles goreleaser (minutes); later runs reuse Go's build cache.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
PFW_VERSION=${PFW_VERSION:-$(packaging/version.sh)}
export PFW_VERSION
exec go tool -modfile=packaging/tools/goreleaser.mod goreleaser "$@"
