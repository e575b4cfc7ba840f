#!/bin/bash
# test/systemd/guest.sh — the in-guest half of `make test-systemd`: run.sh pushes it, probe.sh
# and the packages into the systemd-vm guest and runs it as root. Only what needs a real systemd
# is here, and it is kept short: every command is emulated.
#
# Prints one line per check, "PASS <what>" or "FAIL <what>: <why>", "TIME <step> <seconds>" for the
# slow steps, "INFO ..." and, last, "RESULT <n> failure(s)". Exit status 0 when all passed.
#
# Environment (run.sh sets it):
#   PFW_DEB, PFW_RPM          the packages in the guest (PFW_RPM empty: no rpm install)
#   PFW_PROBE                 probe.sh in the guest
#   PULSAR_SERVICE_URL        pulsar://127.0.0.1:PORT, the host's standalone (SDVM_HOST_PORTS)
#   PULSAR_WEB_SERVICE_URL    http://127.0.0.1:PORT
#   PFW_TEST_ID               this run's workerId and functions namespace suffix
#   PFW_SYSTEMD_NOTIFY        1: the unit as shipped (Type=notify, WatchdogSec=30s); 0: a runtime
#                             drop-in makes it Type=simple without watchdog (a worker without
#                             sd_notify)
#   PFW_SYSTEMD_SOCKET        1: the .socket as shipped; 0: masked (a worker that does not take
#                             passed sockets), and no socket-activation check
#   PFW_GOFN, PFW_MSGTOOL     the Go test function (test/gofunction) and test/systemd/msgtool,
#                             built on the host; without them the function checks are not run
#
# Operator flow under test: `apt-get install` enables the units and starts them without waiting
# (postinst uses --no-block: the worker is ready only once it reaches its broker); the operator
# points the worker at the cluster (here: PF_* variables in a runtime drop-in, the per-machine override;
# editing /etc/pulsar/functions_worker.yml works alike) and `systemctl start` returns once the
# worker said READY=1.
set -uo pipefail

PKG=pulsar-functions-worker
SVC=$PKG.service
SOCK=$PKG.socket
PORT=6750
NS=public/sdvm-$PFW_TEST_ID
WORKER_ID=sdvm-$PFW_TEST_ID
DROPIN=/run/systemd/system/$SVC.d
NOTIFY=${PFW_SYSTEMD_NOTIFY:-1}
SOCKET=${PFW_SYSTEMD_SOCKET:-1}
export DEBIAN_FRONTEND=noninteractive

# --- helpers ---------------------------------------------------------------------------------------
fails=0
pass() { echo "PASS $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}
check() { # check WHAT CMD...: PASS when CMD succeeds; CMD may be a function below
	local what=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then pass "$what"; else fail "$what: $(tail -c 500 /tmp/check.out | tr '\n' ' ')"; fi
}
now() { date +%s.%N; }
step() { t0=$(now); }
took() { awk -v a="$t0" -v b="$(now)" -v s="$1" 'BEGIN {printf "TIME %s %.1f\n", s, b - a}'; }
wait_for() { # wait_for SECS CMD...: poll CMD every 0.5 s until it succeeds or SECS pass
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		(($(date +%s) < end)) || return 1
		sleep 0.5
	done
}
prop() { systemctl show -P "$2" "$1"; }
# A start never hangs the test: 200 s is far above a healthy start even under emulation.
sysctl_start() { timeout 200 systemctl start "$@"; }
api() { curl -sS --max-time 20 "http://127.0.0.1:$PORT$1"; }
in_cluster() { api /admin/v2/worker/cluster | grep -q "\"$WORKER_ID\""; }
# READY=1 means joined; the member list may still take a moment to show it.
ready() { if [[ $NOTIFY == 1 ]]; then wait_for 30 in_cluster; else wait_for 120 in_cluster; fi; }
journal_tail() { journalctl -u "$SVC" --no-pager -n 20 -o cat 2>/dev/null | tr '\n' ' '; }
# exists PATH...: true (and prints them) when any PATH exists; an unmatched glob stays literal
exists() {
	local p found=1
	for p in "$@"; do
		if [[ -e $p || -L $p ]]; then
			echo "$p"
			found=0
		fi
	done
	return $found
}
# Scopes have no MainPID; the sleeper is the scope's only process.
sleeper_pid() { head -1 /sys/fs/cgroup/pulsar.slice/pulsar-functions.slice/pulsar-fn-probe-sleeper.scope/cgroup.procs 2>/dev/null; }
alive() { [[ -n ${1:-} && $1 != 0 ]] && kill -0 "$1" 2>/dev/null; }
mainpid_changed() { local p; p=$(prop "$SVC" MainPID); [[ $p != 0 && $p != "$1" ]]; }

write_dropins() { # the test's runtime drop-ins (/run: gone with the VM, never in the package)
	mkdir -p "$DROPIN"
	{
		echo "[Service]"
		# Isolation on a standalone other tests may share: this run's workerId and namespace.
		echo "Environment=PF_workerId=$WORKER_ID PF_pulsarFunctionsNamespace=$NS PF_logLevel=debug"
		echo "Environment=PF_pulsarServiceUrl=$PULSAR_SERVICE_URL PF_pulsarWebServiceUrl=$PULSAR_WEB_SERVICE_URL"
		# SIGUSR2 stalls one of the worker's loops (the watchdog check); debug builds of tests only.
		echo "Environment=PFW_DEBUG_HOOKS=1"
		# The sandbox probe, as the worker's user in its sandbox and cgroup; '-': never fails a start.
		case ${1:-} in
		probe) echo "ExecStartPre=-$PFW_PROBE" ;;
		sleeper) echo "ExecStartPre=-$PFW_PROBE --sleeper-only" ;;
		esac
	} >"$DROPIN/50-test.conf"
	if [[ $NOTIFY != 1 ]]; then printf '[Service]\nType=simple\nWatchdogSec=0\n' >"$DROPIN/51-test-no-notify.conf"; fi
	if [[ $SOCKET != 1 ]]; then systemctl mask --runtime "$SOCK" >/dev/null; fi
	systemctl daemon-reload
}
drop_dropins() {
	rm -rf "$DROPIN"
	systemctl unmask --runtime "$SOCK" >/dev/null 2>&1
	systemctl daemon-reload
}

# --- the checks that take more than one command ------------------------------------------------------
user_ok() {
	getent passwd pulsar-functions | grep -Eq "^pulsar-functions:x:[0-9]+:[0-9]+:[^:]*:/var/lib/$PKG:(/usr)?/s?bin/nologin$" &&
		getent group pulsar-functions >/dev/null
}
dir_ok() { [[ $(stat -c '%U:%G %a' "$1") == "pulsar-functions:pulsar-functions 750" ]]; }
enabled_ok() {
	local want="enabled enabled disabled"
	[[ $SOCKET == 1 ]] || want="enabled masked-runtime disabled"
	[[ $(systemctl is-enabled $SVC $SOCK $PKG-https.socket | tr '\n' ' ') == "$want " ]]
}
verify_units() {
	local out
	out=$(cd /usr/lib/systemd/system && systemd-analyze verify $SVC $SOCK $PKG-https.socket pulsar-functions.slice 2>&1)
	echo "$out"
	[[ -z $out ]]
}
status_shown() {
	local s
	s=$(prop "$SVC" StatusText)
	echo "STATUS=$s"
	[[ -n $s ]] && systemctl status --no-pager "$SVC" | grep -qF "Status: \"$s"
}
got_socket() {
	local pid
	pid=$(prop "$SVC" MainPID)
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx LISTEN_FDNAMES=http &&
		ss -Hltnp "sport = :$PORT" | grep -q 'pid=1,' && ss -Hltnp "sport = :$PORT" | grep -q "pid=$pid,"
}
scope_outside_refused() {
	! systemd-run --quiet --wait --pipe -p User=pulsar-functions -- \
		systemd-run --scope --quiet --unit=pulsar-fn-outside-$$ --slice=pulsar-functions.slice true
}
sleeper_ok() { alive "$(sleeper_pid)" && [[ $(prop pulsar-fn-probe-sleeper.scope Slice) == pulsar-functions.slice ]]; }
stopped_socket_stays() { systemctl stop "$SVC" && ! systemctl is-active --quiet "$SVC" && systemctl is-active --quiet "$SOCK"; }
nothing_running() {
	local units
	units=$(systemctl list-units --no-legend --state=active,activating,deactivating,failed,reloading "$PKG*" 'pulsar-fn*' pulsar-functions.slice)
	echo "$units"
	pgrep -u pulsar-functions -a
	[[ -z $units ]] && ! pgrep -u pulsar-functions >/dev/null && [[ -z $(ss -Hltn "sport = :$PORT") ]]
}
unit_files_gone() { ! exists /usr/lib/systemd/system/$PKG* /usr/lib/systemd/system/pulsar-functions.slice /etc/systemd/system/*/$PKG*; }
purged_clean() {
	! exists /etc/pulsar /var/lib/$PKG /var/log/$PKG /run/$PKG /usr/bin/$PKG \
		/usr/lib/sysusers.d/$PKG.conf /usr/lib/tmpfiles.d/$PKG.conf /usr/share/polkit-1/rules.d/50-$PKG.rules \
		/usr/share/doc/$PKG /usr/share/man/man1/$PKG.1.gz /var/lib/systemd/deb-systemd-helper-enabled/*$PKG* \
		/var/lib/systemd/deb-systemd-helper-enabled/*/$PKG* &&
		unit_files_gone && [[ -z $(systemctl list-unit-files --no-legend "$PKG*" pulsar-functions.slice) ]]
}
no_user() { ! getent passwd pulsar-functions && ! getent group pulsar-functions; }
dpkg_do() { # dpkg_do WHAT ARGS...
	local what=$1
	shift
	if dpkg "$@" >/tmp/apt.log 2>&1; then pass "$what"; else fail "$what: $(tail -5 /tmp/apt.log | tr '\n' ' ')"; fi
}
apt_do() { # apt_do WHAT ARGS...
	local what=$1
	shift
	if apt-get -y -q "$@" >/tmp/apt.log 2>&1; then pass "$what"; else fail "$what: $(tail -5 /tmp/apt.log | tr '\n' ' ')"; fi
}


# --- a Go function in its scope ------------------------------------------------------------------
FN_ID=${PFW_TEST_ID//[^a-zA-Z0-9]/_}
FN=gofn_$FN_ID
OOMFN=oomfn_$FN_ID
FN_IN=persistent://public/default/sdvm_in_$FN_ID
FN_OUT=persistent://public/default/sdvm_out_$FN_ID
FN_MESSAGES=600
SLICE_DIR=/sys/fs/cgroup/pulsar.slice/pulsar-functions.slice
scope_of() { echo "pulsar-fn-public-default-$1-0.scope"; }
fn_pid() { head -1 "$SLICE_DIR/$(scope_of "$FN")/cgroup.procs" 2>/dev/null; }
create_fn() { # create_fn NAME RAM_BYTES USERCONFIG_JSON
	local code
	code=$(curl -sS -o /tmp/create.out -w '%{http_code}' --max-time 120 \
		-F "functionConfig={\"tenant\":\"public\",\"namespace\":\"default\",\"name\":\"$1\",\"runtime\":\"GO\",\"inputs\":[\"$FN_IN\"],\"output\":\"$FN_OUT\",\"parallelism\":1,\"resources\":{\"cpu\":0.5,\"ram\":$2,\"disk\":1073741824},\"userConfig\":$3}" \
		-F "data=@$PFW_GOFN" "http://127.0.0.1:$PORT/admin/v3/functions/public/default/$1")
	cat /tmp/create.out
	[[ $code == 204 ]]
}
fn_status() { api "/admin/v3/functions/public/default/${1:-$FN}/status"; }
fn_running() { fn_status "$FN" | grep -Eq '"numRunning" ?: ?1'; }
fn_running_as() { [[ $(fn_pid) == "$1" ]] && fn_running; }
scope_limits_ok() {
	local u
	u=$(scope_of "$FN")
	echo "MemoryMax=$(prop "$u" MemoryMax) CPUQuotaPerSecUSec=$(prop "$u" CPUQuotaPerSecUSec) memory.max=$(cat "$SLICE_DIR/$u/memory.max") cpu.max=$(cat "$SLICE_DIR/$u/cpu.max")"
	[[ $(prop "$u" MemoryMax) == 67108864 && $(cat "$SLICE_DIR/$u/memory.max") == 67108864 && $(cat "$SLICE_DIR/$u/cpu.max") == "50000 100000" ]]
}
# Not grep -q after journalctl: with pipefail, grep leaving early makes journalctl die of SIGPIPE.
fn_journal_ok() { journalctl --no-pager -o cat "PULSAR_FUNCTION=public/default/$FN" "PULSAR_INSTANCE=0" | grep . >/dev/null; }
adopted_logged() { journalctl -u "$SVC" --no-pager -o cat --since "@$1" | grep "adopted instance process from a previous worker" >/dev/null; }
watchdog_restarted() { [[ $(prop "$SVC" NRestarts) -gt $1 ]] && journalctl -u "$SVC" --no-pager --since "@$2" | grep -i "watchdog timeout" >/dev/null; }
oom_reported() {
	local st
	st=$(api "/admin/v3/functions/public/default/$OOMFN/0/status")
	echo "$st"
	grep -q "OOM killer" <<<"$st" && [[ $(grep -Eo '"numRestarts" ?: ?[0-9]+' <<<"$st" | grep -Eo '[0-9]+$') -ge 2 ]]
}
oom_backoff() { # the first delays double: 1s, then 2s
	local d
	d=$(journalctl -u "$SVC" --no-pager -o cat | grep "instance process ended" | grep "$OOMFN" | grep -o 'restart_in=[^ ]*' | head -2 | tr '\n' ' ')
	echo "$d"
	[[ $d == "restart_in=1s restart_in=2s " ]]
}

echo "INFO $(systemctl --version | head -1), kernel $(uname -r)"
echo "INFO broker $PULSAR_SERVICE_URL, web $PULSAR_WEB_SERVICE_URL, workerId $WORKER_ID, namespace $NS, notify=$NOTIFY socket=$SOCKET"

# === 1. apt-get install on the clean guest =======================================================
check "clean guest: no user pulsar-functions yet" no_user
write_dropins probe
step
apt_do "apt-get install ./$(basename "$PFW_DEB")" install "$PFW_DEB"
took apt-get-install
check "user and group pulsar-functions, home /var/lib/$PKG, no login shell" user_ok
for d in /var/lib/$PKG /var/log/$PKG /run/$PKG; do check "directory $d: pulsar-functions:pulsar-functions 750" dir_ok "$d"; done
check "tmpfiles: /var/lib/$PKG/logs -> /var/log/$PKG" test "$(readlink /var/lib/$PKG/logs)" = /var/log/$PKG
check "dpkg conffile: /etc/pulsar/functions_worker.yml" bash -c "dpkg-query -W -f='\${Conffiles}' $PKG | grep -q ' /etc/pulsar/functions_worker.yml '"
check "enabled: service and socket; https socket not" enabled_ok
check "polkit's rules.d keeps its 700 polkitd after our unpack" test "$(stat -c '%U %a' /usr/share/polkit-1/rules.d)" = "polkitd 700"
check "systemd-analyze verify: no complaint about our units" verify_units

# postinst started the units without waiting; `systemctl start` joins that job and, with
# Type=notify, returns once the worker sent READY=1.
step
if sysctl_start "$SVC"; then pass "systemctl start returns"; else fail "systemctl start: $(journal_tail)"; fi
took install-to-ready
check "is-active $SVC" systemctl is-active --quiet "$SVC"
[[ $SOCKET == 1 ]] && check "is-active $SOCK" systemctl is-active --quiet "$SOCK"
check "REST: /admin/v2/worker/cluster lists $WORKER_ID" ready
if [[ $NOTIFY == 1 ]]; then
	check "STATUS= set, shown by systemctl status" status_shown
	check "watchdog armed: WatchdogUSec=30s" test "$(prop "$SVC" WatchdogUSec)" = 30s
fi
[[ $SOCKET == 1 ]] && check "the worker serves the socket unit's fd (LISTEN_FDNAMES=http; :$PORT held by systemd and the worker)" got_socket

# === 2. The sandbox still lets the worker create scopes and run python3/Go/Java ===================
if [[ -s /run/$PKG/probe.out ]]; then
	while read -r line; do
		case $line in
		PASS*) pass "sandbox: ${line#PASS }" ;;
		FAIL*) fail "sandbox: ${line#FAIL }" ;;
		*) echo "INFO probe: $line" ;;
		esac
	done </run/$PKG/probe.out
else
	fail "sandbox probe wrote no /run/$PKG/probe.out: $(journal_tail)"
fi
check "polkit: pulsar-functions outside the worker's cgroup is refused a scope" scope_outside_refused
check "an 'instance' scope (probe's sleeper) runs under pulsar-functions.slice" sleeper_ok
sleeper=$(sleeper_pid)

# === 3. restart, reload, socket activation ======================================================
oldpid=$(prop "$SVC" MainPID)
step
check "systemctl restart returns" timeout 200 systemctl restart "$SVC"
took restart-to-ready
check "restart: new MainPID, active" bash -c "[ \"\$(systemctl show -P MainPID $SVC)\" != $oldpid ] && systemctl is-active --quiet $SVC"
check "restart: REST lists $WORKER_ID" ready
check "restart: the instance scope survived (PID $sleeper)" alive "$sleeper"

pid=$(prop "$SVC" MainPID)
step
check "systemctl reload returns (ExecReload sends SIGHUP)" timeout 60 systemctl reload "$SVC"
took reload
check "reload: same MainPID, active" bash -c "sleep 1; [ \"\$(systemctl show -P MainPID $SVC)\" = $pid ] && systemctl is-active --quiet $SVC"

if [[ $SOCKET == 1 ]]; then
	check "stop the service: it stops, the socket stays" stopped_socket_stays
	check "stop: the instance scope survived" alive "$sleeper"
	step
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 150 "http://127.0.0.1:$PORT/admin/v2/worker/cluster" 2>/tmp/curl.err)
	took socket-activation-first-answer
	if [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then pass "socket activation: a request to :$PORT started the worker and got HTTP $code"; else fail "socket activation: no answer ($code $(cat /tmp/curl.err))"; fi
	check "socket activation: service active" sysctl_start "$SVC"
	check "socket activation: REST lists $WORKER_ID" ready
fi


# === 3b. A Go function in its scope: limits, journal, OOM, restarts without downtime ============
GOFN=0
if [[ -n ${PFW_GOFN:-} && -n ${PFW_MSGTOOL:-} ]]; then GOFN=1; fi
if ((GOFN)); then
	step
	check "Go function $FN created (ram 64 MiB, cpu 0.5)" create_fn "$FN" 67108864 '{}'
	check "Go function RUNNING in its scope $(scope_of "$FN")" wait_for 180 fn_running
	took function-create-to-running
	check "scope limits from the function's resources: MemoryMax=64M, CPUQuota=50%" scope_limits_ok
	check "journalctl PULSAR_FUNCTION=public/default/$FN PULSAR_INSTANCE=0 shows the instance's output" fn_journal_ok
	fnpid=$(fn_pid)
	echo "INFO function instance pid $fnpid"
	check "output subscription created" "$PFW_MSGTOOL" subscribe -url "$PULSAR_SERVICE_URL" -topic "$FN_OUT" -sub sdvm-check
	# Messages flow through the restarts below: $FN_MESSAGES at ~7/s, checked after the reinstall.
	check "producer started" systemd-run --quiet --unit=pfw-producer --collect "$PFW_MSGTOOL" produce -url "$PULSAR_SERVICE_URL" \
		-topic "$FN_IN" -count "$FN_MESSAGES" -interval 150ms

	since=$(date +%s)
	step
	check "systemctl restart with a function running returns" timeout 200 systemctl restart "$SVC"
	took restart-with-function
	check "restart: the new worker adopted the instance (journal)" wait_for 30 adopted_logged "$since"
	check "restart: instance PID $fnpid unchanged and RUNNING" wait_for 60 fn_running_as "$fnpid"

	restarts=$(prop "$SVC" NRestarts)
	since=$(date +%s)
	step
	check "watchdog: SIGUSR2 stalls a loop (debug hook)" systemctl kill --kill-whom=main -s SIGUSR2 "$SVC"
	check "watchdog: systemd restarts the stalled worker (Watchdog timeout, NRestarts)" wait_for 150 watchdog_restarted "$restarts" "$since"
	check "watchdog: the restarted worker is ready" sysctl_start "$SVC"
	took watchdog-restart
	check "watchdog: instance PID $fnpid unchanged and RUNNING" wait_for 60 fn_running_as "$fnpid"

	step
	check "OOM: Go function $OOMFN created (ram 64 MiB, allocates 256 MiB)" create_fn "$OOMFN" 67108864 '{"allocateMiB":256}'
	check "OOM: the status names the kernel's OOM killer, and it restarts" wait_for 120 oom_reported
	check "OOM: restarts back off (1 s, then 2 s)" oom_backoff
	check "OOM: the scope failed with result oom-kill (journal)" bash -c "journalctl --no-pager -o cat -u '$(scope_of "$OOMFN")' | grep -i 'oom' >/dev/null"
	took oom
	check "OOM: function deleted" bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:$PORT/admin/v3/functions/public/default/$OOMFN)\" = 204 ]"
fi

# === 4. Installing the same package again, the path of an upgrade ================================
echo "# edited by the systemd test" >>/etc/pulsar/functions_worker.yml
oldpid=$(prop "$SVC" MainPID)
step
# dpkg -i: the same maintainer-script path as apt's --reinstall or an upgrade (postinst configure
# <old-version>), without apt's ~15 s of emulated overhead.
dpkg_do "dpkg -i of the installed version (upgrade path: postinst configure <version>)" -i "$PFW_DEB"
check "postinst restarted the worker (new MainPID)" wait_for 60 mainpid_changed "$oldpid"
check "reinstall: ready again" sysctl_start "$SVC"
took reinstall-to-ready
check "reinstall: the instance scope survived (PID $sleeper)" alive "$sleeper"
check "reinstall: the edited conffile was kept" grep -q "edited by the systemd test" /etc/pulsar/functions_worker.yml
if ((GOFN)); then
	check "reinstall: function instance PID $fnpid unchanged and RUNNING" wait_for 60 fn_running_as "$fnpid"
	step
	check "producer done" wait_for 300 bash -c "! systemctl is-active --quiet pfw-producer"
	check "all $FN_MESSAGES messages sent during restart, watchdog restart and reinstall were processed" \
		"$PFW_MSGTOOL" consume -url "$PULSAR_SERVICE_URL" -topic "$FN_OUT" -sub sdvm-check -count "$FN_MESSAGES" -timeout 180s
	took messages-checked
	check "function deleted" bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:$PORT/admin/v3/functions/public/default/$FN)\" = 204 ]"
	step
	check "function deleted: its scope is gone" wait_for 60 bash -c "! systemctl is-active --quiet '$(scope_of "$FN")'"
	took delete-to-scope-gone
fi

# === 5. remove, then purge: nothing left ========================================================
step
apt_do "apt-get remove" remove "$PKG"
took apt-get-remove
check "remove: no unit of ours running, no process of pulsar-functions (instances stopped too), :$PORT closed" nothing_running
check "remove: the instance scope is gone" bash -c "! kill -0 $sleeper 2>/dev/null"
check "remove: unit files and enablement links gone" unit_files_gone
check "remove: the conffile stays until purge" test -f /etc/pulsar/functions_worker.yml
drop_dropins
step
apt_do "apt-get purge" purge "$PKG"
took apt-get-purge
check "purge: user and group gone" no_user
check "purge: no file left (config, state, logs, /run, units, links, sysusers, tmpfiles, polkit, docs, d-s-h state)" purged_clean
check "purge: dpkg knows the package no more" bash -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q installed"

# === 6. Reinstall after purge works like a first install =========================================
write_dropins
step
dpkg_do "reinstall after purge: dpkg -i" -i "$PFW_DEB"
check "reinstall after purge: enabled, started, active" bash -c "systemctl is-enabled --quiet $SVC && timeout 200 systemctl start $SVC && systemctl is-active --quiet $SVC"
check "reinstall after purge: REST lists $WORKER_ID" ready
took reinstall-after-purge-to-ready
dpkg --purge "$PKG" >/tmp/apt.log 2>&1
drop_dropins
check "second purge: no user, nothing running" bash -c "! getent passwd pulsar-functions && ! pgrep -u pulsar-functions"

# === 7. The .rpm, installed for real with Debian's rpm (an empty rpmdb; the package requires nothing) ==
if [[ -n ${PFW_RPM:-} ]] && command -v rpm >/dev/null; then
	rpm_do() { # rpm_do WHAT ARGS...
		local what=$1
		shift
		if rpm "${RPM_FORCE[@]}" "$@" >/tmp/rpm.log 2>&1; then pass "$what"; else fail "$what: $(tail -5 /tmp/rpm.log | tr '\n' ' ')"; fi
	}
	RPM_FORCE=()
	rpm --help 2>/dev/null | grep -q -- --force-debian && RPM_FORCE=(--force-debian)
	[[ -d /var/lib/rpm ]] || rpm --initdb
	# The sandbox is the same unit file as in the .deb: the probe only starts the 'instance' scope.
	write_dropins sleeper
	step
	rpm_do "rpm -i" -i "$PFW_RPM"
	check "rpm: %config(noreplace) /etc/pulsar/functions_worker.yml" bash -c "rpm -qc $PKG | grep -qx /etc/pulsar/functions_worker.yml && rpm -q --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' $PKG | grep -qx 'cn /etc/pulsar/functions_worker.yml'"
	check "rpm: user, units enabled" bash -c "getent passwd pulsar-functions && systemctl is-enabled --quiet $SVC"
	check "rpm: started and ready" sysctl_start "$SVC"
	check "rpm: REST lists $WORKER_ID" ready
	took rpm-install-to-ready
	check "rpm: an 'instance' scope runs under pulsar-functions.slice" wait_for 20 sleeper_ok
	sleeper=$(sleeper_pid)
	echo "# edited by the systemd test" >>/etc/pulsar/functions_worker.yml
	oldpid=$(prop "$SVC" MainPID)
	step
	rpm_do "rpm -U --replacepkgs (the upgrade path: new %post with \$1=2, old %preun/%postun with \$1=1)" -U --replacepkgs "$PFW_RPM"
	check "rpm upgrade: worker restarted (new MainPID) and ready" bash -c "timeout 200 systemctl start $SVC && [ \"\$(systemctl show -P MainPID $SVC)\" != $oldpid ]"
	took rpm-upgrade-to-ready
	check "rpm upgrade: the instance scope survived (PID $sleeper)" alive "$sleeper"
	check "rpm upgrade: still enabled, edited config kept" bash -c "systemctl is-enabled --quiet $SVC && grep -q 'edited by the systemd test' /etc/pulsar/functions_worker.yml"
	step
	rpm_do "rpm -e" -e "$PKG"
	took rpm-erase
	check "rpm -e: nothing running (worker, sockets, instances), :$PORT closed" nothing_running
	erased_clean() {
		! exists /usr/bin/$PKG /var/lib/$PKG /var/log/$PKG /run/$PKG && unit_files_gone && test -f /etc/pulsar/functions_worker.yml.rpmsave
	}
	check "rpm -e: binary, units, links, state, logs, /run gone; edited config kept as .rpmsave" erased_clean
	check "rpm -e: the user stays (RPM guidelines; documented)" getent passwd pulsar-functions
	drop_dropins
else
	echo "INFO no rpm in the guest or no .rpm given: rpm install not run"
fi

echo "RESULT $fails failure(s)"
((fails == 0))
