#!/usr/bin/env bash
# packaging/gen-files.sh VERSION — the generated inputs of both package builds (nfpm.yaml and
# .goreleaser.yaml's nfpms name them), written to packaging/.build/:
#   changelog.yml                   one chglog entry for this build; nfpm makes it
#                                   changelog.Debian.gz and the rpm %changelog
#   pulsar-functions-worker.1.gz    the manual page, compressed (-n: reproducible)
#   lintian-overrides.{amd64,arm64} for goreleaser's .debs: packaging/lintian-overrides, plus for
#                                   amd64 one line: goreleaser alone writes Architecture-Variant
#                                   (GOAMD64), and lintian calls an override it does not need
#                                   an unused override
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
version=${1:?usage: gen-files.sh VERSION}
version=${version#v}
out=packaging/.build
mkdir -p "$out"
{
	printf -- '- semver: %s-1\n' "$version"
	printf '  date: %s\n' "$(git log -1 --format=%cI HEAD 2>/dev/null || date -u +%FT%TZ)"
	printf '  packager: %s\n' "$(sed -n 's/^maintainer: //p' packaging/nfpm.yaml)"
	printf '  deb:\n    urgency: medium\n    distributions: [stable]\n'
	printf '  changes:\n'
	printf '    - commit: %s\n' "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
	printf '      note: Build of %s.\n' "$(git describe --tags --always --dirty 2>/dev/null || echo "$version")"
} >"$out/changelog.yml"
gzip -9nc packaging/pulsar-functions-worker.1 >"$out/pulsar-functions-worker.1.gz"
cp packaging/lintian-overrides "$out/lintian-overrides.arm64"
{
	cat packaging/lintian-overrides
	echo "# goreleaser records GOAMD64 (v1) as Architecture-Variant, a field dpkg ignores."
	echo "pulsar-functions-worker: unknown-field Architecture-Variant"
} >"$out/lintian-overrides.amd64"
