#!/usr/bin/env bash
# packaging/package.sh — `make package`: build bin/pkg/linux_<arch>/pulsar-functions-worker and put
#   dist/pulsar-functions-worker_<version>-1_<arch>.deb
#   dist/pulsar-functions-worker-<version>-1.<rpm arch>.rpm
# with nfpm, pinned in packaging/tools/nfpm.mod (go tool -modfile=...), from packaging/nfpm.yaml.
#
# Environment: VERSION (default: packaging/version.sh, from git describe), GOARCH (default: the
# Go toolchain's; amd64 or arm64), PFW_PACKAGERS (default "deb rpm").
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
log() { printf 'package.sh: %s\n' "$*" >&2; }

VERSION=$(packaging/version.sh)
ARCH=${GOARCH:-$(go env GOARCH)}
HOSTARCH=$(go env GOHOSTARCH)
export VERSION

log "version $VERSION, linux/$ARCH"
# Its own output path, so that a cross build never replaces the bin/pulsar-functions-worker that
# `make build`, `make run` and the tests use.
PFW_PKG_BIN=bin/pkg/linux_$ARCH/pulsar-functions-worker
export PFW_PKG_BIN
GOARCH=$ARCH "${MAKE:-make}" --no-print-directory build VERSION="$VERSION" BIN="$PFW_PKG_BIN" >&2
packaging/gen-files.sh "$VERSION"

mkdir -p dist
# Earlier builds' packages of this architecture would be mistaken for this one's.
case $ARCH in amd64) rpmarch=x86_64 ;; arm64) rpmarch=aarch64 ;; *) rpmarch=$ARCH ;; esac
rm -f dist/pulsar-functions-worker_*_"$ARCH".deb dist/pulsar-functions-worker-*."$rpmarch".rpm
for p in ${PFW_PACKAGERS:-deb rpm}; do
	t0=$(date +%s)
	# nfpm is built and run for the host: a GOARCH in the environment would make `go tool` build it
	# for the target.
	GOARCH=$HOSTARCH PFW_PKG_ARCH=$ARCH \
		go tool -modfile=packaging/tools/nfpm.mod nfpm package --config packaging/nfpm.yaml --packager "$p" --target dist/ >&2
	log "$p built in $(($(date +%s) - t0)) s"
done
ls -1 dist/pulsar-functions-worker_*_"$ARCH".deb dist/pulsar-functions-worker-*."$rpmarch".rpm
log "done in $(($(date +%s) - started)) s"
