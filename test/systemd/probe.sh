#!/bin/bash
# shellcheck disable=SC2016,SC2317 # awk programs; functions called through check/expect
# test/systemd/probe.sh — runs inside pulsar-functions-worker.service's sandbox, as its user and
# in its cgroup (guest.sh adds it as ExecStartPre=- with a runtime drop-in), and checks that the
# unit's hardening still lets the worker do its job: create transient scopes under
# pulsar-functions.slice over D-Bus (polkit rule), and run python3, Go and (if installed) Java
# binaries in them with the limits set. Results: PASS/FAIL lines in
# /run/pulsar-functions-worker/probe.out, read by guest.sh. It also leaves one long-lived scope,
# pulsar-fn-probe-sleeper.scope, standing in for a function instance whose survival across
# restarts, reinstalls and upgrades guest.sh checks (--sleeper-only: just that).
set -u
dir=/run/pulsar-functions-worker
out=$dir/probe.out
SLICE=pulsar-functions.slice

start_sleeper() {
	systemctl is-active --quiet pulsar-fn-probe-sleeper.scope && return 0
	systemd-run --scope --quiet --unit=pulsar-fn-probe-sleeper --slice="$SLICE" -p MemoryMax=32M -p TasksMax=8 \
		-- sleep 3600 </dev/null >/dev/null 2>&1 &
	for _ in $(seq 1 40); do
		systemctl is-active --quiet pulsar-fn-probe-sleeper.scope && return 0
		sleep 0.25
	done
	return 1
}

if [[ -e $dir/probe.done || ${1:-} == --sleeper-only ]]; then
	start_sleeper
	exit 0
fi

exec >"$out" 2>&1
t=$(date +%s.%N)
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
check() {
	local what=$1
	shift
	local o
	if o=$("$@" 2>&1); then pass "$what"; else fail "$what: $(printf '%s' "$o" | tr '\n' ' ' | tail -c 300)"; fi
}
expect() { # expect WHAT WANT CMD...: CMD's output equals WANT
	local what=$1 want=$2
	shift 2
	local got
	got=$("$@" 2>&1)
	if [[ $got == "$want" ]]; then pass "$what"; else fail "$what: want '$want', got '$(printf '%s' "$got" | tr '\n' ' ' | tail -c 300)'"; fi
}

expect "runs as pulsar-functions" pulsar-functions id -un
expect "runs in the worker's cgroup" "0::/system.slice/pulsar-functions-worker.service" cat /proc/self/cgroup
expect "NoNewPrivileges" 1 awk '/^NoNewPrivs:/ {print $2}' /proc/self/status
expect "no capabilities" 0000000000000000 awk '/^CapEff:/ {print $2}' /proc/self/status
expect "seccomp filter on" 2 awk '/^Seccomp:/ {print $2}' /proc/self/status
check "ProtectProc=invisible: other users' processes hidden" test ! -e /proc/1/status
check "ProtectSystem=strict: /usr is read-only" bash -c '! touch /usr/.pfw-probe 2>/dev/null'
for d in /var/lib/pulsar-functions-worker /var/lib/pulsar-functions-worker/logs /var/log/pulsar-functions-worker $dir /tmp /var/tmp /dev/shm; do
	check "writable: $d" bash -c "echo x >'$d/.pfw-probe' && rm -f '$d/.pfw-probe'"
done
check "D-Bus reachable" busctl --system --no-pager status org.freedesktop.systemd1 --no-legend

# One scope per runtime, as the worker's launcher makes them: over D-Bus (systemd-run calls
# StartTransientUnit with its own PID), under the slice, with MemoryMax/CPUQuota/TasksMax.
scope() { # scope NAME CMD...
	local name=$1
	shift
	systemd-run --scope --quiet --unit="pulsar-fn-probe-$name-$$" --slice="$SLICE" \
		-p MemoryMax=96M -p CPUQuota=50% -p TasksMax=64 -- "$@"
}
want_cg="/pulsar.slice/$SLICE/pulsar-fn-probe-python-$$.scope"
expect "python3 runs in its scope with MemoryMax, CPUQuota, TasksMax applied" \
	"0::$want_cg 100663296 50000 100000 64" \
	scope python python3 -c "
cg = open('/proc/self/cgroup').read().strip()
p = '/sys/fs/cgroup' + cg[3:]
rd = lambda f: open(p + '/' + f).read().strip()
print(cg, rd('memory.max'), rd('cpu.max'), rd('pids.max'))"
check "a Go binary (the worker itself) runs in a scope" bash -c \
	"systemd-run --scope --quiet --unit=pulsar-fn-probe-go-$$ --slice=$SLICE -p MemoryMax=96M -- /usr/bin/pulsar-functions-worker version | grep -q '^pulsar-functions-worker '"
if command -v java >/dev/null; then
	check "java runs in a scope (JIT needs W+X: no MemoryDenyWriteExecute)" \
		systemd-run --scope --quiet --unit="pulsar-fn-probe-java-$$" --slice="$SLICE" -p MemoryMax=512M -- java -Xmx64m -version
else
	echo "INFO no java in this guest; not checked"
fi
check "a long-lived 'instance' scope: pulsar-fn-probe-sleeper.scope" start_sleeper
echo "INFO probe took $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $t}") s"
touch "$dir/probe.done"
exit 0
