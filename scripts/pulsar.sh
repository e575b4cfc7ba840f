#!/usr/bin/env bash
# scripts/pulsar.sh — the Apache Pulsar standalone that tests and `make run` talk to.
#
#   scripts/pulsar.sh fetch   download (mvn), verify and unpack the pinned Pulsar release, and build
#                             the Python virtualenv its Python instance runtime needs
#   scripts/pulsar.sh up      fetch if needed, start a standalone on 127.0.0.1, wait until it really
#                             works, print shell exports:  eval "$(scripts/pulsar.sh up)"
#   scripts/pulsar.sh env     print the same exports for the running standalone (exit 1 if none)
#   scripts/pulsar.sh status  say whether the standalone is up (exit 1 if not)
#   scripts/pulsar.sh down    stop it; leaves no process behind
#   scripts/pulsar.sh clean   down, then delete the state directory (data and logs)
#
# Only the exports go to stdout; progress goes to stderr. With stream storage, the exports also
# include PULSAR_STATE_STORAGE_URL=bk://127.0.0.1:PORT and PULSAR_METADATA_STORE_URL=zk:127.0.0.1:PORT
# (the ZooKeeper a Java functions worker uses as its metadata store).
#
# The standalone also listens with TLS beside its plain listeners: pulsar+ssl:// and https://, with
# a certificate (for 127.0.0.1 and localhost) of a CA that `up` makes with openssl in the state dir
# (tls/ca.pem; no client certificate is required). The exports add PULSAR_SERVICE_URL_TLS,
# PULSAR_WEB_SERVICE_URL_TLS and PULSAR_TLS_CA (the CA certificate file to trust).
#
# Environment (all optional):
#   PFW_CACHE_DIR               download/unpack/venv cache
#                               (default ${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker)
#   PFW_PULSAR_STATE_DIR        conf copy, data, logs, pid file (default ${TMPDIR:-/tmp}/pfw-pulsar-$(id -u))
#   PFW_PULSAR_BROKER_PORT      pulsar:// port (6650)
#   PFW_PULSAR_WEB_PORT         http:// admin/REST port (8080)
#   PFW_PULSAR_BROKER_TLS_PORT  pulsar+ssl:// port (6651)
#   PFW_PULSAR_WEB_TLS_PORT     https:// admin/REST port (8443)
#   PFW_PULSAR_BOOKIE_PORT      bookie port (3181); stream storage mode only: in the default RocksDB
#                               mode Pulsar 4.0.8 gives its bookie a free ephemeral port itself
#   PFW_PULSAR_STREAM_STORAGE   1 = start BookKeeper stream storage (function state); this runs the
#                               standalone in ZooKeeper mode, as RocksDB mode never starts it (0)
#   PFW_PULSAR_STREAM_PORT      stream storage (table service, bk://) port (4181)
#   PFW_PULSAR_ZK_PORT          ZooKeeper port, stream storage mode only (2181)
#   PFW_PULSAR_START_TIMEOUT    seconds to wait for a healthy standalone (180)
#   PFW_PULSAR_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL on down (30)
#   PFW_PULSAR_MEM              JVM memory flags (-Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m)
#   PFW_PULSAR_KEEP_DATA        1 = a new standalone reuses the previous one's data instead of
#                               starting empty (0)
#   PFW_PYTHON_BASE             interpreter the virtualenv is made from (first of python3,
#                               python3.13 .. python3.9 that pulsar-client has wheels for)
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=pulsar.sh

# --- The pinned release ---------------------------------------------------------------------------
readonly PULSAR_VERSION=4.0.8
readonly PULSAR_ARTIFACT="org.apache.pulsar:pulsar-server-distribution:${PULSAR_VERSION}:tar.gz:bin"
readonly PULSAR_TARBALL_NAME="pulsar-server-distribution-${PULSAR_VERSION}-bin.tar.gz"
readonly PULSAR_TARBALL_SHA512=65b769b10696cdfebf7fc5bcdc95dd663702e27051e616c1a13cb100e91279525be35352171befe7b0011176330aab29bd0a6c8a0f2f0646641af46d2e33cbd6
readonly PYTHON_REQUIREMENTS="$PFW_REPO_ROOT/scripts/python-requirements.txt"

CACHE_DIR=${PFW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-functions-worker}
DIST_DIR=$CACHE_DIR/dist
TARBALL=$DIST_DIR/$PULSAR_TARBALL_NAME
PULSAR_DIR=$CACHE_DIR/apache-pulsar-$PULSAR_VERSION
VENV_DIR=$CACHE_DIR/python-venv-$PULSAR_VERSION
# Written last inside a finished unpack / venv; its absence means "redo".
UNPACK_STAMP=.pfw-unpacked
VENV_STAMP=.pfw-venv

STATE_DIR=${PFW_PULSAR_STATE_DIR:-${TMPDIR:-/tmp}/pfw-pulsar-$(id -u)}
STATE_DIR=${STATE_DIR%/}
PID_FILE=$STATE_DIR/standalone.pid
RUN_FILE=$STATE_DIR/standalone.env # settings of the running standalone (sourced by env/up)
LOG_DIR=$STATE_DIR/logs
TLS_DIR=$STATE_DIR/tls
TLS_CA=$TLS_DIR/ca.pem
OUT_LOG=$LOG_DIR/standalone.out

BROKER_PORT=${PFW_PULSAR_BROKER_PORT:-6650}
WEB_PORT=${PFW_PULSAR_WEB_PORT:-8080}
BROKER_TLS_PORT=${PFW_PULSAR_BROKER_TLS_PORT:-6651}
WEB_TLS_PORT=${PFW_PULSAR_WEB_TLS_PORT:-8443}
BOOKIE_PORT=${PFW_PULSAR_BOOKIE_PORT:-3181}
STREAM_STORAGE=${PFW_PULSAR_STREAM_STORAGE:-0}
STREAM_PORT=${PFW_PULSAR_STREAM_PORT:-4181}
ZK_PORT=${PFW_PULSAR_ZK_PORT:-2181}
START_TIMEOUT=${PFW_PULSAR_START_TIMEOUT:-180}
STOP_TIMEOUT=${PFW_PULSAR_STOP_TIMEOUT:-30}
PULSAR_JVM_MEM=${PFW_PULSAR_MEM:--Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m}
KEEP_DATA=${PFW_PULSAR_KEEP_DATA:-0}
case $STREAM_STORAGE in 1 | true | yes) STREAM_STORAGE=1 ;; *) STREAM_STORAGE=0 ;; esac
case $KEEP_DATA in 1 | true | yes) KEEP_DATA=1 ;; *) KEEP_DATA=0 ;; esac

# Temporary paths to remove on exit (partial downloads, unpacks).
CLEANUP=()
cleanup() {
	local p
	for p in "${CLEANUP[@]+"${CLEANUP[@]}"}"; do
		rm -rf -- "$p"
	done
}
trap cleanup EXIT

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

# --- fetch ----------------------------------------------------------------------------------------

# lock_cache takes an exclusive lock on the cache so that parallel fetches do not race; it is
# released when the process exits.
lock_cache() {
	mkdir -p "$CACHE_DIR"
	exec {cache_lock_fd}>"$CACHE_DIR/.lock"
	if ! flock -n "$cache_lock_fd"; then
		pfw_log "waiting for another fetch to finish (lock $CACHE_DIR/.lock)"
		flock "$cache_lock_fd"
	fi
}

sha512_of() {
	sha512sum -- "$1" | cut -d' ' -f1
}

# download_tarball puts a verified copy of the release tarball at $TARBALL.
download_tarball() {
	command -v mvn >/dev/null || pfw_die "mvn (Apache Maven) is needed to download Pulsar $PULSAR_VERSION"
	mkdir -p "$DIST_DIR"
	local tmp m2_copy had_m2_copy=0 start
	tmp=$(mktemp -d "$DIST_DIR/.download.XXXXXX")
	CLEANUP+=("$tmp")
	# dependency:copy resolves through the local Maven repository; remember whether the artifact
	# was there before, so that we do not leave a second 245 MB copy behind.
	m2_copy=$(mvn_local_repo)/org/apache/pulsar/pulsar-server-distribution/$PULSAR_VERSION
	[[ -e $m2_copy/$PULSAR_TARBALL_NAME ]] && had_m2_copy=1
	pfw_log "downloading Apache Pulsar $PULSAR_VERSION with mvn (about 245 MB)"
	start=$(pfw_now)
	if ! mvn -q -B dependency:copy -Dartifact="$PULSAR_ARTIFACT" -DoutputDirectory="$tmp" \
		>"$tmp/mvn.log" 2>&1; then
		tail -n 30 "$tmp/mvn.log" >&2
		pfw_die "mvn could not download $PULSAR_ARTIFACT"
	fi
	if ((!had_m2_copy)); then
		rm -rf -- "$m2_copy"
		rmdir -- "${m2_copy%/*}" 2>/dev/null || true
	fi
	[[ -f $tmp/$PULSAR_TARBALL_NAME ]] || pfw_die "mvn succeeded but left no $PULSAR_TARBALL_NAME"
	pfw_log "downloaded in $(($(pfw_now) - start)) s; verifying sha512"
	local got
	got=$(sha512_of "$tmp/$PULSAR_TARBALL_NAME")
	if [[ $got != "$PULSAR_TARBALL_SHA512" ]]; then
		rm -f -- "$tmp/$PULSAR_TARBALL_NAME"
		pfw_die "sha512 mismatch for the downloaded $PULSAR_TARBALL_NAME (deleted it):
  expected $PULSAR_TARBALL_SHA512
  got      $got"
	fi
	mv -f -- "$tmp/$PULSAR_TARBALL_NAME" "$TARBALL"
}

# mvn_local_repo prints the local Maven repository path without starting Maven when it can.
mvn_local_repo() {
	local settings=$HOME/.m2/settings.xml
	if [[ -f $settings ]] && grep -q '<localRepository>' "$settings"; then
		sed -n 's:.*<localRepository>\(.*\)</localRepository>.*:\1:p' "$settings" | head -n 1
	else
		printf '%s\n' "$HOME/.m2/repository"
	fi
}

# ensure_pulsar_dir leaves a complete unpacked release at $PULSAR_DIR. Caller holds the lock.
ensure_pulsar_dir() {
	if [[ -f $PULSAR_DIR/$UNPACK_STAMP && $(<"$PULSAR_DIR/$UNPACK_STAMP") == "$PULSAR_TARBALL_SHA512" ]]; then
		return 0
	fi
	if [[ -f $TARBALL ]]; then
		pfw_log "verifying cached $TARBALL"
		if [[ $(sha512_of "$TARBALL") != "$PULSAR_TARBALL_SHA512" ]]; then
			pfw_log "cached tarball has the wrong sha512; deleting it and downloading again"
			rm -f -- "$TARBALL"
		fi
	fi
	[[ -f $TARBALL ]] || download_tarball

	pfw_log "unpacking to $PULSAR_DIR"
	local tmp start
	start=$(pfw_now)
	tmp=$(mktemp -d "$CACHE_DIR/.unpack.XXXXXX")
	CLEANUP+=("$tmp")
	tar -xzf "$TARBALL" -C "$tmp"
	[[ -x $tmp/apache-pulsar-$PULSAR_VERSION/bin/pulsar ]] ||
		pfw_die "$TARBALL does not contain apache-pulsar-$PULSAR_VERSION/bin/pulsar"
	printf '%s\n' "$PULSAR_TARBALL_SHA512" >"$tmp/apache-pulsar-$PULSAR_VERSION/$UNPACK_STAMP"
	rm -rf -- "$PULSAR_DIR" # an incomplete earlier unpack
	mv -- "$tmp/apache-pulsar-$PULSAR_VERSION" "$PULSAR_DIR"
	pfw_log "unpacked in $(($(pfw_now) - start)) s"
}

# pick_python prints an interpreter that pulsar-client $PULSAR_CLIENT has wheels for.
pick_python() {
	local c
	for c in ${PFW_PYTHON_BASE:-python3 python3.13 python3.12 python3.11 python3.10 python3.9}; do
		command -v "$c" >/dev/null || continue
		if "$c" -c 'import sys, venv; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
			command -v "$c"
			return 0
		fi
	done
	pfw_die "no Python 3.9-3.13 with the venv module found (pulsar-client has wheels for those; set PFW_PYTHON_BASE)"
}

# venv_stamp prints what the venv was built from: requirements, interpreter and its version.
venv_stamp() {
	local py=$1
	printf '%s %s\n' "$(sha256sum <"$PYTHON_REQUIREMENTS" | cut -d' ' -f1)" \
		"$("$py" -c 'import os, sys; print(os.path.realpath(sys.executable), "%d.%d.%d" % sys.version_info[:3])')"
}

# verify_venv imports what the Python instance runtime imports, from its own directory.
verify_venv() {
	(cd "$PULSAR_DIR/instances/python-instance" &&
		"$VENV_DIR/bin/python" -c 'import pulsar, Function_pb2, InstanceCommunication_pb2_grpc, prometheus_client, ratelimit; from bookkeeper.kv.client import Client')
}

# ensure_venv leaves a virtualenv with scripts/python-requirements.txt at $VENV_DIR. Caller holds
# the lock.
ensure_venv() {
	local py want
	py=$(pick_python)
	want=$(venv_stamp "$py")
	if [[ -f $VENV_DIR/$VENV_STAMP && $(<"$VENV_DIR/$VENV_STAMP") == "$want" ]]; then
		return 0
	fi
	local start
	start=$(pfw_now)
	pfw_log "creating Python virtualenv $VENV_DIR ($("$py" --version 2>&1))"
	rm -rf -- "$VENV_DIR"
	"$py" -m venv "$VENV_DIR"
	# --require-hashes: every file pip installs must match a hash in the requirements file.
	# --no-deps: the file lists the whole closure, nothing else gets resolved.
	if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-input -q \
		--require-hashes --no-deps -r "$PYTHON_REQUIREMENTS" >"$VENV_DIR/pip.log" 2>&1; then
		tail -n 30 "$VENV_DIR/pip.log" >&2
		pfw_die "pip install -r $PYTHON_REQUIREMENTS failed (log: $VENV_DIR/pip.log)"
	fi
	if ! verify_venv; then
		pfw_die "the virtualenv $VENV_DIR cannot import the Python instance runtime's modules"
	fi
	printf '%s\n' "$want" >"$VENV_DIR/$VENV_STAMP"
	pfw_log "virtualenv ready in $(($(pfw_now) - start)) s"
}

cmd_fetch() {
	lock_cache
	ensure_pulsar_dir
	ensure_venv
	# Release the lock now rather than at exit: `up` goes on for a while.
	flock -u "$cache_lock_fd"
}

# --- up / down ------------------------------------------------------------------------------------

# running_pid prints the pid of the standalone recorded for this state dir if it is alive and
# really ours (its command line names our state dir); otherwise fails.
running_pid() {
	[[ -f $PID_FILE ]] || return 1
	local pid
	pid=$(<"$PID_FILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	is_our_java "$pid" || return 1
	printf '%s\n' "$pid"
}

# is_our_java tells whether process $1 is a java whose command line mentions our state dir.
is_our_java() {
	local cmdline
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[[ $cmdline == *java* && $cmdline == *"$STATE_DIR/"* ]]
}

# our_javas prints the pids of every java process whose command line mentions our state dir.
our_javas() {
	local d pid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $pid == "$$" ]] && continue
		is_our_java "$pid" && printf '%s\n' "$pid"
	done
	return 0
}

# http_ok tells whether GET $1 answers 2xx within a few seconds; further arguments go to curl
# (--cacert FILE for https).
http_ok() {
	curl -fsS -o /dev/null --max-time 5 "${@:2}" "$1" 2>/dev/null
}

# port_listening tells whether something accepts TCP connections on 127.0.0.1:$1.
port_listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# roundtrip URL [CA] produces a message over URL (pulsar:// or pulsar+ssl://, trusting the CA
# certificate file) and consumes it back, with the Python client from the virtualenv (a JVM
# bin/pulsar-client takes seconds per call; this takes well under one).
roundtrip() {
	timeout 30 "$VENV_DIR/bin/python" - "$1" "${2:-}" <<'EOF'
import sys, uuid
import pulsar

client = pulsar.Client(sys.argv[1], operation_timeout_seconds=10, connection_timeout_ms=5000,
                       tls_trust_certs_file_path=sys.argv[2] or None,
                       tls_validate_hostname=bool(sys.argv[2]),
                       logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
try:
    topic = "persistent://public/default/pfw-healthcheck"
    sub = "pfw-healthcheck-" + uuid.uuid4().hex
    consumer = client.subscribe(topic, sub, initial_position=pulsar.InitialPosition.Latest)
    producer = client.create_producer(topic)
    payload = uuid.uuid4().bytes
    producer.send(payload)
    while True:
        msg = consumer.receive(timeout_millis=10000)
        consumer.acknowledge(msg)
        if msg.data() == payload:
            break
    consumer.unsubscribe()
finally:
    client.close()
EOF
}

# state_roundtrip writes and reads a key through the stream storage (table service) the way a
# Python function's state context does.
state_roundtrip() {
	(cd "$PULSAR_DIR/instances/python-instance" &&
		timeout 60 "$VENV_DIR/bin/python" - "bk://127.0.0.1:$STREAM_PORT" <<'EOF')
import sys, uuid
import state_context

ctx = state_context.create_state_context(sys.argv[1], "pfw_healthcheck", "probe")
value = uuid.uuid4().hex
ctx.put("k", value)
got = ctx.get_value("k")
if isinstance(got, bytes):
    got = got.decode()
if got != value:
    sys.exit("state read back %r, wrote %r" % (got, value))
EOF
}

# healthy tells whether the standalone answers the admin API and a produce/consume round trip,
# both plain and over TLS (and, with stream storage, a state put/get). Quiet.
healthy() {
	http_ok "http://127.0.0.1:$WEB_PORT/admin/v2/clusters" || return 1
	roundtrip "pulsar://127.0.0.1:$BROKER_PORT" >/dev/null 2>&1 || return 1
	http_ok "https://127.0.0.1:$WEB_TLS_PORT/admin/v2/clusters" --cacert "$TLS_CA" || return 1
	roundtrip "pulsar+ssl://127.0.0.1:$BROKER_TLS_PORT" "$TLS_CA" >/dev/null 2>&1 || return 1
	if ((STREAM_STORAGE)); then
		port_listening "$ZK_PORT" || return 1
		port_listening "$STREAM_PORT" || return 1
		state_roundtrip >/dev/null 2>&1 || return 1
	fi
}

# wanted_settings prints the settings an `up` with this environment asks for, in the format of
# $RUN_FILE.
wanted_settings() {
	printf 'PULSAR_DIR=%q\nVENV_DIR=%q\nBROKER_PORT=%q\nWEB_PORT=%q\nBOOKIE_PORT=%q\nSTREAM_STORAGE=%q\nSTREAM_PORT=%q\nZK_PORT=%q\nBROKER_TLS_PORT=%q\nWEB_TLS_PORT=%q\n' \
		"$PULSAR_DIR" "$VENV_DIR" "$BROKER_PORT" "$WEB_PORT" "$BOOKIE_PORT" "$STREAM_STORAGE" "$STREAM_PORT" "$ZK_PORT" \
		"$BROKER_TLS_PORT" "$WEB_TLS_PORT"
}

# load_running_settings replaces our settings by the running standalone's. A standalone started
# by an older version of this script has no TLS listeners: its settings name no TLS ports.
load_running_settings() {
	[[ -f $RUN_FILE ]] || return 1
	BROKER_TLS_PORT= WEB_TLS_PORT=
	# shellcheck disable=SC1090
	source "$RUN_FILE"
}

print_exports() {
	printf 'export PULSAR_HOME=%q\n' "$PULSAR_DIR"
	printf 'export PULSAR_SERVICE_URL=%q\n' "pulsar://127.0.0.1:$BROKER_PORT"
	printf 'export PULSAR_WEB_SERVICE_URL=%q\n' "http://127.0.0.1:$WEB_PORT"
	printf 'export PFW_PYTHON=%q\n' "$VENV_DIR/bin/python3"
	if ((STREAM_STORAGE)); then
		printf 'export PULSAR_STATE_STORAGE_URL=%q\n' "bk://127.0.0.1:$STREAM_PORT"
		# The metadata store a Java functions worker needs (test/harness's Java workers).
		printf 'export PULSAR_METADATA_STORE_URL=%q\n' "zk:127.0.0.1:$ZK_PORT"
	fi
	if [[ -n $BROKER_TLS_PORT && -n $WEB_TLS_PORT && -f $TLS_CA ]]; then
		printf 'export PULSAR_SERVICE_URL_TLS=%q\n' "pulsar+ssl://127.0.0.1:$BROKER_TLS_PORT"
		printf 'export PULSAR_WEB_SERVICE_URL_TLS=%q\n' "https://127.0.0.1:$WEB_TLS_PORT"
		printf 'export PULSAR_TLS_CA=%q\n' "$TLS_CA"
	fi
}

# make_certs makes a new CA and a broker certificate it signs, for 127.0.0.1 and localhost, in
# $TLS_DIR: ca.pem (what clients trust), broker.pem and broker.key.pem (PKCS#8, as the broker's
# PEM reader wants it). The CA's key stays there too, for tests that want to issue more.
make_certs() {
	command -v openssl >/dev/null || pfw_die "openssl is needed to make the standalone's TLS certificates"
	rm -rf -- "$TLS_DIR"
	mkdir -p "$TLS_DIR"
	local log=$TLS_DIR/openssl.log
	if ! {
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pfw-standalone-ca" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			-keyout "$TLS_DIR/ca.key.pem" -out "$TLS_CA" &&
			openssl req -new -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
				-keyout "$TLS_DIR/broker.key.pem" -out "$TLS_DIR/broker.csr" &&
			printf '%s\n' 'basicConstraints=CA:FALSE' \
				'keyUsage=critical,digitalSignature,keyEncipherment' \
				'extendedKeyUsage=serverAuth,clientAuth' \
				'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$TLS_DIR/broker.ext" &&
			openssl x509 -req -days 3650 -in "$TLS_DIR/broker.csr" -CA "$TLS_CA" \
				-CAkey "$TLS_DIR/ca.key.pem" -set_serial "0x$(openssl rand -hex 8)" \
				-extfile "$TLS_DIR/broker.ext" -out "$TLS_DIR/broker.pem"
	} >"$log" 2>&1; then
		cat -- "$log" >&2
		pfw_die "openssl could not make the TLS certificates in $TLS_DIR"
	fi
	rm -f -- "$TLS_DIR/broker.csr" "$TLS_DIR/broker.ext" "$log"
}

# set_conf KEY VALUE FILE sets KEY=VALUE in a Java properties file, appending it if absent.
set_conf() {
	local key=$1 value=$2 file=$3
	if grep -q "^$key=" "$file"; then
		sed -i "s|^$key=.*|$key=$value|" "$file"
	else
		# The shipped files may lack a final newline.
		[[ -z $(tail -c 1 "$file") ]] || printf '\n' >>"$file"
		printf '%s=%s\n' "$key" "$value" >>"$file"
	fi
}

# check_ports_free fails naming the first of our ports something already listens on.
check_ports_free() {
	local port
	local ports=("$BROKER_PORT" "$WEB_PORT" "$BROKER_TLS_PORT" "$WEB_TLS_PORT")
	if ((STREAM_STORAGE)); then
		ports+=("$BOOKIE_PORT" "$ZK_PORT" "$STREAM_PORT")
	fi
	for port in "${ports[@]}"; do
		if port_listening "$port"; then
			pfw_die "port $port is already in use (set PFW_PULSAR_*_PORT, or stop what listens there; see: ss -ltnp 'sport = :$port')"
		fi
	done
}

start_standalone() {
	check_ports_free
	local mode data
	if ((STREAM_STORAGE)); then mode=zk; else mode=rocksdb; fi
	data=$STATE_DIR/data-$mode
	if ((!KEEP_DATA)); then
		rm -rf -- "$STATE_DIR"/data-* "$LOG_DIR"
	fi
	mkdir -p "$data" "$LOG_DIR" "$STATE_DIR/conf"
	rm -f -- "$OUT_LOG"

	local conf=$STATE_DIR/conf/standalone.conf
	cp -- "$PULSAR_DIR/conf/standalone.conf" "$conf"
	set_conf bindAddress 127.0.0.1 "$conf"
	set_conf advertisedAddress 127.0.0.1 "$conf"
	set_conf brokerServicePort "$BROKER_PORT" "$conf"
	set_conf webServicePort "$WEB_PORT" "$conf"
	set_conf functionsWorkerEnabled false "$conf"
	# TLS listeners beside the plain ones, with a certificate of our own CA. Clients need not
	# present a certificate; one that does is checked against the same CA.
	make_certs
	set_conf brokerServicePortTls "$BROKER_TLS_PORT" "$conf"
	set_conf webServicePortTls "$WEB_TLS_PORT" "$conf"
	set_conf tlsCertificateFilePath "$TLS_DIR/broker.pem" "$conf"
	set_conf tlsKeyFilePath "$TLS_DIR/broker.key.pem" "$conf"
	set_conf tlsTrustCertsFilePath "$TLS_CA" "$conf"
	set_conf tlsRequireTrustedClientCertOnConnect false "$conf"
	set_conf tlsAllowInsecureConnection false "$conf"
	# The broker's packages service (functionsWorkerEnablePackageManagement and function://
	# URLs): the standalone turns it on only together with its own functions worker, which is off
	# here, so turn it on explicitly, with file-system storage under the state dir (by default it
	# would write to $PULSAR_HOME/packages-storage, inside the shared cache).
	set_conf enablePackagesManagement true "$conf"
	set_conf packagesManagementStorageProvider \
		org.apache.pulsar.packages.management.storage.filesystem.FileSystemPackagesStorageProvider "$conf"
	set_conf STORAGE_PATH "$data/packages-storage" "$conf"

	local args=(standalone -nfw
		--bookkeeper-port "$BOOKIE_PORT"
		--bookkeeper-dir "$data/bookkeeper"
		--metadata-dir "$data/metadata"
		--advertised-address 127.0.0.1)
	local zk_env=()
	if ((STREAM_STORAGE)); then
		# RocksDB metadata mode (the default) never starts stream storage; ZooKeeper mode does.
		zk_env=(PULSAR_STANDALONE_USE_ZOOKEEPER=1)
		args+=(--zookeeper-port "$ZK_PORT" --zookeeper-dir "$data/zookeeper"
			--stream-storage-port "$STREAM_PORT")
	else
		args+=(-nss)
	fi

	wanted_settings >"$RUN_FILE"
	pfw_log "starting Pulsar $PULSAR_VERSION standalone (state: $STATE_DIR, log: $OUT_LOG)"
	# setsid: its own session and process group, so Ctrl-C in the caller's terminal does not reach
	# it and `down` can signal the whole group. bin/pulsar execs java, so $! is java's pid. The
	# lock fds are closed so the JVM does not hold our locks for its lifetime.
	(
		[[ -z ${state_lock_fd:-} ]] || exec {state_lock_fd}>&-
		[[ -z ${cache_lock_fd:-} ]] || exec {cache_lock_fd}>&-
		exec env "${zk_env[@]+"${zk_env[@]}"}" \
			PULSAR_STANDALONE_CONF="$conf" \
			PULSAR_LOG_DIR="$LOG_DIR" \
			PULSAR_LOG_IMMEDIATE_FLUSH=true \
			PULSAR_MEM="$PULSAR_JVM_MEM" \
			setsid "$PULSAR_DIR/bin/pulsar" "${args[@]}" </dev/null >"$OUT_LOG" 2>&1
	) &
	local pid=$!
	printf '%s\n' "$pid" >"$PID_FILE"

	local start deadline next_note
	start=$(pfw_now)
	deadline=$((start + START_TIMEOUT))
	next_note=$((start + 20))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			show_log_tail
			rm -f -- "$PID_FILE"
			pfw_die "the standalone exited during startup"
		fi
		if healthy; then
			break
		fi
		if (($(pfw_now) >= deadline)); then
			show_log_tail
			pfw_log "stopping the unhealthy standalone"
			stop_standalone
			pfw_die "the standalone was not healthy within ${START_TIMEOUT} s (PFW_PULSAR_START_TIMEOUT)"
		fi
		if (($(pfw_now) >= next_note)); then
			pfw_log "still waiting after $(($(pfw_now) - start)) s (timeout ${START_TIMEOUT} s)"
			next_note=$((next_note + 20))
		fi
		sleep 1
	done
	pfw_log "standalone healthy after $(($(pfw_now) - start)) s (pid $pid)"
	pfw_log "TLS: pulsar+ssl://127.0.0.1:$BROKER_TLS_PORT and https://127.0.0.1:$WEB_TLS_PORT (CA $TLS_CA)"
	if ((STREAM_STORAGE)); then
		pfw_log "stream storage (function state) at bk://127.0.0.1:$STREAM_PORT"
	fi
}

show_log_tail() {
	pfw_log "last 50 lines of $OUT_LOG:"
	tail -n 50 "$OUT_LOG" >&2 2>/dev/null || true
}

# stop_standalone stops the recorded standalone and any other java naming our state dir.
stop_standalone() {
	local pid
	if [[ -f $PID_FILE ]]; then
		pid=$(<"$PID_FILE")
		if [[ $pid =~ ^[0-9]+$ ]] && is_our_java "$pid"; then
			pfw_log "stopping the standalone (pid $pid)"
			# Its own process group (setsid): signal all of it.
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
			local deadline=$(($(pfw_now) + STOP_TIMEOUT))
			while kill -0 "$pid" 2>/dev/null && (($(pfw_now) < deadline)); do
				sleep 0.5
			done
			if kill -0 "$pid" 2>/dev/null; then
				pfw_log "still running after ${STOP_TIMEOUT} s; sending SIGKILL"
				kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	# Whatever is left (a lost pid file, a stray child): java processes that name our state dir.
	local strays
	strays=$(our_javas)
	if [[ -n $strays ]]; then
		pfw_log "killing leftover java processes of $STATE_DIR: $(echo "$strays" | tr '\n' ' ')"
		# shellcheck disable=SC2086
		kill -KILL $strays 2>/dev/null || true
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		strays=$(our_javas)
		[[ -z $strays ]] && break
		sleep 0.2
	done
	[[ -z $strays ]] || pfw_die "could not stop java processes: $strays"
	rm -f -- "$PID_FILE"
}

cmd_up() {
	mkdir -p "$STATE_DIR"
	# One up/down at a time per state dir.
	exec {state_lock_fd}>"$STATE_DIR/.lock"
	flock "$state_lock_fd"

	if running_pid >/dev/null; then
		if [[ ! -f $RUN_FILE || $(<"$RUN_FILE") != "$(wanted_settings)" ]]; then
			pfw_log "the running standalone was started with other settings (ports, stream storage); restarting it"
			stop_standalone
		elif ! healthy; then
			pfw_log "the running standalone is not healthy; restarting it"
			stop_standalone
		else
			pfw_log "a healthy standalone is already running (pid $(<"$PID_FILE"))"
			print_exports
			return 0
		fi
	fi
	if [[ -n $(our_javas) ]]; then # strays without a (valid) pid file
		stop_standalone
	fi

	cmd_fetch
	start_standalone
	print_exports
}

cmd_env() {
	running_pid >/dev/null || {
		pfw_log "no standalone is running for $STATE_DIR (start one: scripts/pulsar.sh up)"
		return 1
	}
	load_running_settings || pfw_die "$RUN_FILE is missing"
	print_exports
}

cmd_status() {
	local pid
	if ! pid=$(running_pid); then
		pfw_log "not running ($STATE_DIR)"
		return 1
	fi
	load_running_settings || true
	if http_ok "http://127.0.0.1:$WEB_PORT/admin/v2/clusters"; then
		pfw_log "running (pid $pid), admin API answers on http://127.0.0.1:$WEB_PORT"
	else
		pfw_log "running (pid $pid), but the admin API does not answer on http://127.0.0.1:$WEB_PORT"
		return 1
	fi
}

cmd_down() {
	[[ -d $STATE_DIR ]] || return 0
	exec {state_lock_fd}>"$STATE_DIR/.lock"
	flock "$state_lock_fd"
	if [[ ! -f $PID_FILE && -z $(our_javas) ]]; then
		pfw_log "no standalone running ($STATE_DIR)"
		return 0
	fi
	stop_standalone
	pfw_log "stopped"
}

cmd_clean() {
	cmd_down
	rm -rf -- "$STATE_DIR"
	pfw_log "removed $STATE_DIR"
}

main() {
	local cmd=${1:-}
	case $cmd in
	fetch) cmd_fetch ;;
	up) cmd_up ;;
	env) cmd_env ;;
	status) cmd_status ;;
	down) cmd_down ;;
	clean) cmd_clean ;;
	-h | --help | help) usage ;;
	*)
		usage
		exit 2
		;;
	esac
}

main "$@"
