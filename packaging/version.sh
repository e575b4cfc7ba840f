#!/usr/bin/env bash
# packaging/version.sh — the package version, printed on stdout.
#
#   $VERSION, when set (a leading "v" is dropped): exactly that, e.g. VERSION=1.2.0 make package
#   else from git describe --tags --match 'v[0-9]*':
#     on a tag v1.2.0                 -> 1.2.0
#     5 commits after it              -> 1.2.0+git5.gabc1234
#     no tag yet                      -> 0.0.0+git<commits>.gabc1234
#     uncommitted changes             -> ....dirty appended
# "+" sorts after the bare version in both dpkg and rpm, so a build after a tag upgrades it, and
# the commit count keeps untagged builds in order. The result is valid as a Debian upstream
# version and as an RPM Version (no "-").
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."

if [[ -n ${VERSION:-} ]]; then
	v=${VERSION#v}
else
	sha=$(git rev-parse --short=7 HEAD)
	if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
		# v1.2.0-5-gabc1234
		tag=${desc%-*-g*}
		n=${desc#"$tag"-}
		n=${n%%-*}
		v=${tag#v}
		((n == 0)) || v="$v+git$n.g$sha"
	else
		v="0.0.0+git$(git rev-list --count HEAD).g$sha"
	fi
	if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
		if [[ $v == *+* ]]; then v="$v.dirty"; else v="$v+dirty"; fi
	fi
fi
if [[ ! $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
	echo "version.sh: \"$v\" is not a usable package version (digits first, then letters, digits, . + ~)" >&2
	exit 1
fi
printf '%s\n' "$v"
