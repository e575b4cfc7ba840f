#!/usr/bin/env bash
# packaging/lint.sh [PKG...] — lintian on the .deb and rpmlint on the .rpm (default: those in
# dist/). Exits non-zero when either reports anything that packaging/lintian-overrides and
# packaging/rpmlint.toml do not cover; packaging/README.md justifies each of those.
#
# rpmlint extracts a package with `rpm2cpio | cpio -id`. nfpm writes absolute member names
# (/usr/bin/...), which GNU cpio would then write into the host's own / (as root). A cpio
# wrapper with --no-absolute-filenames keeps the extraction in rpmlint's temp directory.
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."
(($#)) || set -- dist/pulsar-functions-worker_*.deb dist/pulsar-functions-worker-*.rpm
status=0
for pkg in "$@"; do
	[[ -f $pkg ]] || { echo "lint.sh: no such package: $pkg" >&2; exit 2; }
	case $pkg in
	*.deb)
		command -v lintian >/dev/null || { echo "lint.sh: lintian is missing (apt-get install lintian)" >&2; exit 2; }
		echo "lintian --pedantic -I $pkg" >&2
		# --fail-on: any tag that is shown (overridden ones are not) fails.
		lintian --pedantic -I --fail-on error,warning,info,pedantic "$pkg" 2> >(grep -v 'running with root privileges' >&2) || status=1
		;;
	*.rpm)
		command -v rpmlint >/dev/null || { echo "lint.sh: rpmlint is missing (apt-get install rpmlint rpm)" >&2; exit 2; }
		wrap=$(mktemp -d)
		printf '#!/bin/sh\nexec %s --no-absolute-filenames "$@"\n' "$(command -v cpio)" >"$wrap/cpio"
		chmod +x "$wrap/cpio"
		echo "rpmlint -c packaging/rpmlint.toml $pkg" >&2
		(cd "$wrap" && PATH=$wrap:$PATH rpmlint -c "$OLDPWD/packaging/rpmlint.toml" "$OLDPWD/$pkg") || status=1
		rm -rf -- "$wrap"
		;;
	*) echo "lint.sh: not a .deb or .rpm: $pkg" >&2; exit 2 ;;
	esac
done
exit "$status"
