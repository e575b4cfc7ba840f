#!/usr/bin/env bash
# scripts/fetch-connectors.sh — the built-in connector NARs the end-to-end tests use.
#
#   scripts/fetch-connectors.sh   download (if not cached) and verify the pinned connector NARs into
#                                 $PFW_CACHE_DIR/connectors-4.0.8/ and print that directory
#
# Maven Central carries each Pulsar IO connector as <artifact>-<version>.jar: that file is the NAR
# itself (NiFi NAR layout: META-INF/services/pulsar-io.yaml, META-INF/bundled-dependencies/). It is
# stored here under the .nar name the worker's connectorsDirectory scan looks for.
#
# Environment (all optional):
#   PFW_CACHE_DIR       cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker)
#   PFW_MAVEN_REPO      Maven repository base URL (default https://repo1.maven.org/maven2)
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=fetch-connectors.sh

readonly PULSAR_VERSION=4.0.8
readonly MAVEN_REPO=${PFW_MAVEN_REPO:-https://repo1.maven.org/maven2}
CACHE_DIR=${PFW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker}
OUT_DIR=$CACHE_DIR/connectors-$PULSAR_VERSION

# artifact id and the SHA-512 of its 4.0.8 file (Maven Central also serves a .sha1, checked too).
CONNECTORS=(
	"pulsar-io-data-generator d75e3fc4b0542eb478c8c464b1cf396792c039ea40fcc2453ceea931b16720ad5fe27d4ed6f16989b27f88eec96bd806bde6d611eb81ff519f704624353be9f0"
)

command -v curl >/dev/null || pfw_die "curl is needed to download the connectors"
mkdir -p "$OUT_DIR"
exec {lock_fd}>"$OUT_DIR/.lock"
flock "$lock_fd"

for entry in "${CONNECTORS[@]}"; do
	read -r artifact sha512 <<<"$entry"
	target=$OUT_DIR/$artifact-$PULSAR_VERSION.nar
	if [[ -f $target ]] && [[ $(sha512sum -- "$target" | cut -d' ' -f1) == "$sha512" ]]; then
		continue
	fi
	url=$MAVEN_REPO/org/apache/pulsar/$artifact/$PULSAR_VERSION/$artifact-$PULSAR_VERSION.jar
	tmp=$(mktemp "$OUT_DIR/.download.XXXXXX")
	pfw_log "downloading $url"
	if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
		rm -f -- "$tmp"
		pfw_die "download of $url failed"
	fi
	got=$(sha512sum -- "$tmp" | cut -d' ' -f1)
	if [[ $got != "$sha512" ]]; then
		rm -f -- "$tmp"
		pfw_die "$artifact-$PULSAR_VERSION: SHA-512 $got, expected $sha512"
	fi
	if sha1=$(curl -fsSL "$url.sha1" 2>/dev/null) && [[ -n $sha1 ]]; then
		if [[ $(sha1sum -- "$tmp" | cut -d' ' -f1) != "${sha1%% *}" ]]; then
			rm -f -- "$tmp"
			pfw_die "$artifact-$PULSAR_VERSION: SHA-1 differs from Maven Central's $url.sha1"
		fi
	fi
	chmod 0644 -- "$tmp"
	mv -f -- "$tmp" "$target"
done
printf '%s\n' "$OUT_DIR"
