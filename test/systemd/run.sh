#!/usr/bin/env bash
# test/systemd/run.sh — `make test-systemd`: the packages in a real systemd.
#
#   1. make package (dist/*.deb, dist/*.rpm); PFW_SKIP_PACKAGE=1 uses those already in dist/
#   2. on the host: host-checks.sh (file lists, conffile / %config(noreplace), scripts) and
#      packaging/lint.sh (lintian, rpmlint), the latter while the guest boots
#   3. a Pulsar standalone on the host: the running one (scripts/pulsar.sh env), else one started
#      here with scripts/pulsar.sh up and stopped at the end
#   4. ONE guest of systemd-vm (Debian 12, systemd 252) with the standalone's ports forwarded
#      (SDVM_HOST_PORTS), the packages and guest.sh pushed, guest.sh run as root: install,
#      readiness, sandbox, restart/reload/socket activation, reinstall, remove, purge, reinstall,
#      then the .rpm with Debian's rpm
#   5. a summary with timings; the guest is powered off (and a standalone started here stopped)
#
# A guest that cannot boot, or a standalone that cannot start, fails the run under CI=true and
# skips it (exit 0, saying why) otherwise. Exit status: 0 when all checks passed.
#
# Environment:
#   SYSTEMD_VM_TOOLS      the systemd-vm tool (default: ../shared/tools/systemd-vm next to the repo)
#   PFW_SYSTEMD_NOTIFY    1 (default): the unit as shipped, Type=notify + watchdog. Set 0 for a
#                         worker build without sd_notify (guest.sh adds a Type=simple drop-in).
#   PFW_SYSTEMD_SOCKET    1 (default): the .socket as shipped. Set 0 for a worker build that does
#                         not take passed sockets (guest.sh masks the socket).
#   PFW_SYSTEMD_EXTRA_PACKAGES  more Debian packages for the guest image, e.g.
#                         default-jre-headless to have probe.sh run java in a scope too
#   PFW_SKIP_PACKAGE=1    test the packages already in dist/
#   PFW_SKIP_LINT=1       no lintian/rpmlint
#   SDVM_*                passed on to systemd-vm (SDVM_CACHE_DIR, SDVM_MEM, ...)
# shellcheck disable=SC2012 # ls -t on our own package names
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
PFW_LOG_PREFIX=test-systemd

# The two switches for a worker that does not yet speak sd_notify / take passed sockets.
PFW_SYSTEMD_NOTIFY=${PFW_SYSTEMD_NOTIFY:-1}
PFW_SYSTEMD_SOCKET=${PFW_SYSTEMD_SOCKET:-1}

SYSTEMD_VM_TOOLS=${SYSTEMD_VM_TOOLS:-$REPO/../shared/tools/systemd-vm}
VM=$SYSTEMD_VM_TOOLS/vm.sh
# What guest.sh needs beyond the base image: curl (REST checks), polkitd (+ libpam-systemd, its
# logind dependency debootstrap does not resolve) for the scope rule, rpm for the .rpm install.
export SDVM_EXTRA_PACKAGES="curl libpam-systemd polkitd rpm${PFW_SYSTEMD_EXTRA_PACKAGES:+ $PFW_SYSTEMD_EXTRA_PACKAGES}"
export SDVM_NAME=${SDVM_NAME:-pfw-systemd-$$}
GUEST_DIR=/opt/pfw-test

started=$(pfw_now)
declare -a timings=()
phase_t0=0
phase() { phase_t0=$(pfw_now); pfw_log "$*"; }
phase_done() { timings+=("$(printf '%-34s %4d s' "$1" $(($(pfw_now) - phase_t0)))"); }

vm_started=0 pulsar_started=0 lint_pid=
tmp=$(mktemp -d)
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	[[ -n $lint_pid ]] && kill "$lint_pid" 2>/dev/null
	if ((vm_started)); then
		"$VM" stop >/dev/null 2>&1 || pfw_log "warning: vm.sh stop failed"
	fi
	if ((pulsar_started)); then
		scripts/pulsar.sh down || pfw_log "warning: scripts/pulsar.sh down failed"
	fi
	rm -rf -- "$tmp"
	if ((${#timings[@]})); then
		pfw_log "timings:"
		printf '  %s\n' "${timings[@]}" >&2
	fi
	pfw_log "exit status $status, total $(($(pfw_now) - started)) s"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# skip_or_fail REASON: under CI a missing prerequisite is a failure, locally a skip.
skip_or_fail() {
	if [[ ${CI:-} == true ]]; then pfw_die "$1"; fi
	pfw_log "SKIP: $1 (under CI=true this fails)"
	exit 0
}

# --- 1. packages ---------------------------------------------------------------------------------------
if [[ ${PFW_SKIP_PACKAGE:-0} != 1 ]]; then
	phase "make package"
	"${MAKE:-make}" --no-print-directory package >/dev/null
	phase_done "make package"
fi

deb=$(ls -t dist/pulsar-functions-worker_*_amd64.deb 2>/dev/null | head -1)
rpm=$(ls -t dist/pulsar-functions-worker-*.x86_64.rpm 2>/dev/null | head -1)
[[ -n $deb && -n $rpm ]] || pfw_die "no amd64 .deb and .rpm in dist/ (run make package)"
pfw_log "packages: $deb, $rpm"

# --- 2. host checks; lint in the background while the guest boots --------------------------------
# The host checks read the .rpm with rpm, and lint needs lintian and rpmlint: install them first
# on a fresh machine.
if ! { command -v lintian && command -v rpmlint && command -v rpm; } >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	pfw_log "installing lintian, rpmlint and rpm (apt-get)"
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lintian rpmlint rpm; } >"$tmp/apt.log" 2>&1 ||
		{ tail -5 "$tmp/apt.log" >&2; pfw_log "could not install lintian/rpmlint/rpm"; }
fi
host_status=0
phase "host checks of the packages"
test/systemd/host-checks.sh "$deb" "$rpm" | tee "$tmp/host.log" || host_status=1
if ls dist/goreleaser/*_amd64.deb dist/goreleaser/*.x86_64.rpm >/dev/null 2>&1; then
	pfw_log "also checking goreleaser's packages in dist/goreleaser/"
	# shellcheck disable=SC2012 # our own file names
	test/systemd/host-checks.sh "$(ls -t dist/goreleaser/*_amd64.deb | head -1)" "$(ls -t dist/goreleaser/*.x86_64.rpm | head -1)" |
		sed 's/(host)/(host, goreleaser)/' | tee -a "$tmp/host.log" || host_status=1
fi
phase_done "host checks"
if [[ ${PFW_SKIP_LINT:-0} != 1 ]]; then
	if command -v lintian >/dev/null && command -v rpmlint >/dev/null; then
		packaging/lint.sh "$deb" "$rpm" >"$tmp/lint.log" 2>&1 &
		lint_pid=$!
	elif [[ ${CI:-} == true ]]; then
		pfw_die "lintian and rpmlint are needed (apt-get install lintian rpmlint rpm)"
	else
		pfw_log "no lintian/rpmlint here: lint skipped (apt-get install lintian rpmlint rpm)"
	fi
fi

# free_port: a TCP port nothing listens on in 20000-39999.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 20000))
		if [[ -z $(ss -Hltn "sport = :$p") ]]; then
			echo "$p"
			return
		fi
	done
	pfw_die "no free port found"
}

# --- 3. the standalone ------------------------------------------------------------------------------
phase "Pulsar standalone"
if exports=$(scripts/pulsar.sh env 2>/dev/null); then
	eval "$exports"
	pfw_log "using the running standalone: $PULSAR_SERVICE_URL"
else
	# Our own, in a private state directory on free ports: a shared default one could be stopped
	# under our feet by another run's `scripts/pulsar.sh down`.
	export PFW_PULSAR_STATE_DIR=$tmp/pulsar
	export PFW_PULSAR_BROKER_PORT=${PFW_PULSAR_BROKER_PORT:-$(free_port)}
	export PFW_PULSAR_WEB_PORT=${PFW_PULSAR_WEB_PORT:-$(free_port)}
	export PFW_PULSAR_BROKER_TLS_PORT=${PFW_PULSAR_BROKER_TLS_PORT:-$(free_port)}
	export PFW_PULSAR_WEB_TLS_PORT=${PFW_PULSAR_WEB_TLS_PORT:-$(free_port)}
	pfw_log "no standalone running: starting one (scripts/pulsar.sh up; ports $PFW_PULSAR_BROKER_PORT, $PFW_PULSAR_WEB_PORT)"
	if ! exports=$(scripts/pulsar.sh up); then
		skip_or_fail "could not start a Pulsar standalone (scripts/pulsar.sh up failed)"
	fi
	pulsar_started=1
	eval "$exports"
fi
phase_done "Pulsar standalone"
port_of() { local u=${1##*:}; echo "${u%%/*}"; }
broker_port=$(port_of "$PULSAR_SERVICE_URL")
web_port=$(port_of "$PULSAR_WEB_SERVICE_URL")

# --- 4. the guest -------------------------------------------------------------------------------------
[[ -x $VM ]] || skip_or_fail "systemd-vm not found at $SYSTEMD_VM_TOOLS (set SYSTEMD_VM_TOOLS)"
phase "guest: image + boot (SDVM_NAME=$SDVM_NAME, host ports $broker_port $web_port)"
vm_started=1
if ! SDVM_HOST_PORTS="$broker_port $web_port" "$VM" start >"$tmp/vm-start.log" 2>&1; then
	tail -20 "$tmp/vm-start.log" >&2
	"$VM" log 30 >&2 2>/dev/null || true
	skip_or_fail "the systemd guest did not boot (see above)"
fi
phase_done "guest image + boot"

phase "push packages and scripts"
# The Go test function and the message tool, for the function checks (static: the guest has no Go).
CGO_ENABLED=0 go build -o "$tmp/gofunction" ./test/gofunction
CGO_ENABLED=0 go build -o "$tmp/msgtool" ./test/systemd/msgtool
"$VM" exec mkdir -p "$GUEST_DIR"
"$VM" push "$deb" "$rpm" test/systemd/guest.sh test/systemd/probe.sh "$tmp/gofunction" "$tmp/msgtool" "$GUEST_DIR/"
"$VM" exec chmod -R a+rX "$GUEST_DIR"
phase_done "push"

phase "guest.sh in the guest"
guest_status=0
"$VM" exec -t 1800 env \
	PFW_DEB="$GUEST_DIR/${deb##*/}" PFW_RPM="$GUEST_DIR/${rpm##*/}" PFW_PROBE="$GUEST_DIR/probe.sh" \
	PFW_GOFN="$GUEST_DIR/gofunction" PFW_MSGTOOL="$GUEST_DIR/msgtool" \
	PULSAR_SERVICE_URL="pulsar://127.0.0.1:$broker_port" PULSAR_WEB_SERVICE_URL="http://127.0.0.1:$web_port" \
	PFW_TEST_ID="$(date +%s)-$$" PFW_SYSTEMD_NOTIFY="$PFW_SYSTEMD_NOTIFY" PFW_SYSTEMD_SOCKET="$PFW_SYSTEMD_SOCKET" \
	bash "$GUEST_DIR/guest.sh" | tee "$tmp/guest.log" || guest_status=$?
phase_done "guest.sh (all guest checks)"
if ((guest_status != 0)) && ! grep -q '^RESULT ' "$tmp/guest.log"; then
	pfw_log "guest.sh did not finish (status $guest_status); journal of the worker:"
	"$VM" exec journalctl -u pulsar-functions-worker --no-pager -n 60 >&2 || true
fi
while read -r step secs; do timings+=("$(printf '  guest: %-25s %6s s' "$step" "$secs")"); done < <(sed -n 's/^TIME //p' "$tmp/guest.log")

# --- 5. lint result, summary -----------------------------------------------------------------------
lint_status=0
if [[ -n $lint_pid ]]; then
	wait "$lint_pid" || lint_status=$?
	lint_pid=
	if ((lint_status != 0)); then
		cat "$tmp/lint.log" >&2
		echo "FAIL (host) lintian/rpmlint reported findings (see above)"
	else
		echo "PASS (host) lintian and rpmlint: nothing beyond the justified overrides"
	fi
fi

passed=$(grep -c '^PASS' "$tmp/host.log" "$tmp/guest.log" | awk -F: '{s += $2} END {print s}')
failed=$(grep -h '^FAIL' "$tmp/host.log" "$tmp/guest.log" || true)
pfw_log "$passed checks passed, $(grep -c . <<<"$failed" || true) failed"
[[ -n $failed ]] && printf '%s\n' "$failed" >&2
((host_status == 0 && guest_status == 0 && lint_status == 0))
