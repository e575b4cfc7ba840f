#!/usr/bin/env bash
# test/systemd/host-checks.sh DEB RPM — what can be checked of the packages without a guest:
# file lists and modes, the config file marking (dpkg conffile; rpm %config(noreplace)), the
# maintainer scripts (byte for byte those in packaging/), and the dependency fields. run.sh calls
# it for `make package`'s packages (and for goreleaser's, when present: both must be the same).
# Prints PASS/FAIL lines; exit status 0 when all passed.
set -uo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." || exit 2
deb=${1:?usage: host-checks.sh DEB RPM}
rpm=${2:?usage: host-checks.sh DEB RPM}
fails=0
pass() { echo "PASS (host) $*"; }
fail() {
	echo "FAIL (host) $*"
	fails=$((fails + 1))
}
# octal_modes: "-rwxr-xr-x PATH" lines -> "0755 PATH", sorted by path
octal_modes() {
	awk '{ m = 0; for (i = 2; i <= 10; i++) m = m * 2 + (substr($1, i, 1) != "-"); printf "%04o %s\n", m, $2 }' | sort -k2
}
same() { # same WHAT WANT GOT
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: $(diff <(echo "$2") <(echo "$3") | grep '^[<>]' | tr '\n' ' ')"; fi
}

# Files (not directories) with their modes; the binary executable, everything else 0644.
common="0755 /usr/bin/pulsar-functions-worker
0644 /etc/pulsar/functions_worker.yml
0644 /usr/lib/systemd/system/pulsar-functions-worker-https.socket
0644 /usr/lib/systemd/system/pulsar-functions-worker.service
0644 /usr/lib/systemd/system/pulsar-functions-worker.socket
0644 /usr/lib/systemd/system/pulsar-functions.slice
0644 /usr/lib/sysusers.d/pulsar-functions-worker.conf
0644 /usr/lib/tmpfiles.d/pulsar-functions-worker.conf
0644 /usr/share/doc/pulsar-functions-worker/README.md
0644 /usr/share/man/man1/pulsar-functions-worker.1.gz
0644 /usr/share/polkit-1/rules.d/50-pulsar-functions-worker.rules
0644 /usr/share/pulsar-functions-worker/pulsar-functions-worker-colocated.conf"
want_deb=$(printf '%s\n' "$common" "0644 /usr/share/doc/pulsar-functions-worker/changelog.Debian.gz" \
	"0644 /usr/share/doc/pulsar-functions-worker/copyright" "0644 /usr/share/lintian/overrides/pulsar-functions-worker" | sort -k2)
want_rpm=$(printf '%s\n' "$common" "0644 /usr/share/licenses/pulsar-functions-worker/copyright" | sort -k2)

# --- .deb ---------------------------------------------------------------------------------------------
if command -v dpkg-deb >/dev/null; then
	got=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, substr($6, 2) }' | octal_modes)
	same "deb: file list and modes" "$want_deb" "$got"
	tmp=$(mktemp -d)
	dpkg-deb -e "$deb" "$tmp"
	same "deb: conffiles = /etc/pulsar/functions_worker.yml" "/etc/pulsar/functions_worker.yml" "$(cat "$tmp/conffiles")"
	for s in postinst prerm postrm; do
		if cmp -s "packaging/deb/$s" "$tmp/$s"; then pass "deb: $s is packaging/deb/$s"; else fail "deb: $s differs from packaging/deb/$s"; fi
	done
	same "deb: no preinst" "" "$(ls "$tmp/preinst" 2>/dev/null)"
	same "deb: Depends none, Recommends polkitd" "|polkitd" "$(dpkg-deb -f "$deb" Depends)|$(dpkg-deb -f "$deb" Recommends)"
	rm -rf -- "$tmp"
else
	fail "deb: dpkg-deb missing"
fi

# --- .rpm ---------------------------------------------------------------------------------------------
if command -v rpm >/dev/null; then
	got=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null | awk '$1 !~ /^d/' | octal_modes)
	same "rpm: file list and modes" "$want_rpm" "$got"
	same "rpm: owns /etc/pulsar" "/etc/pulsar" "$(rpm -qpl "$rpm" 2>/dev/null | grep -x /etc/pulsar)"
	same "rpm: --configfiles = /etc/pulsar/functions_worker.yml" "/etc/pulsar/functions_worker.yml" "$(rpm -qp --configfiles "$rpm" 2>/dev/null)"
	same "rpm: it is %config(noreplace)" "cn /etc/pulsar/functions_worker.yml" \
		"$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null | grep ' /etc/pulsar/functions_worker.yml$')"
	same "rpm: %doc and %license marked" "d /usr/share/doc/pulsar-functions-worker/README.md
l /usr/share/licenses/pulsar-functions-worker/copyright
d /usr/share/man/man1/pulsar-functions-worker.1.gz" \
		"$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null | grep -E '^[dl] ' | sort -k2)"
	scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
	for pair in "postinstall:post" "preuninstall:preun" "postuninstall:postun"; do
		tag=${pair%%:*} file=packaging/rpm/${pair#*:}
		body=$(awk -v t="$tag scriptlet" 'index($0, t) == 1 { on = 1; next } /^[a-z]+ (scriptlet|program)/ { on = 0 } on' <<<"$scripts")
		same "rpm: %$tag is $file" "$(cat "$file")" "$body"
	done
	same "rpm: no %pre" "" "$(grep '^preinstall scriptlet' <<<"$scripts")"
	same "rpm: Requires nothing, Recommends polkit" "|polkit" "$(rpm -qp --requires "$rpm" 2>/dev/null | grep -v '^rpmlib(' | tr '\n' ' ')|$(rpm -qp --recommends "$rpm" 2>/dev/null)"
else
	fail "rpm: the rpm tool is missing (apt-get install rpm)"
fi

echo "RESULT (host) $fails failure(s)"
((fails == 0))
