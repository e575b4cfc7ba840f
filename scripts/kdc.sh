#!/usr/bin/env bash
# scripts/kdc.sh — a throw-away MIT Kerberos KDC for the SASL (Kerberos) tests.
#
#   scripts/kdc.sh install                 install Debian's krb5-kdc and krb5-admin-server with
#                                          apt-get, only when krb5kdc, kdb5_util or kadmin.local is
#                                          missing (root, or sudo without a password)
#   scripts/kdc.sh up PRINCIPAL...         install if needed, create a realm in $PFW_KDC_DIR, add each
#                                          principal with a random key and a keytab of its own, write
#                                          a krb5.conf, start krb5kdc on 127.0.0.1:$PFW_KDC_PORT (TCP
#                                          and UDP) and wait until it answers; prints shell exports
#   scripts/kdc.sh down                    stop the krb5kdc started in $PFW_KDC_DIR
#
# Only the exports go to stdout; progress goes to stderr. `up` exports
#   KRB5_CONFIG=$PFW_KDC_DIR/krb5.conf      (also the file to give Java as -Djava.security.krb5.conf)
#   PFW_KDC_REALM=<realm>
#   PFW_KDC_KEYTABS=$PFW_KDC_DIR/keytabs    keytab of principal "a/b" is keytabs/a_b.keytab
# A principal given without a realm gets $PFW_KDC_REALM.
#
# Environment:
#   PFW_KDC_DIR      directory for the database, config, keytabs, log and pid file (required for up/down)
#   PFW_KDC_PORT     the KDC's port, TCP and UDP (required for up)
#   PFW_KDC_REALM    the realm (PFW.TEST)
#   PFW_KDC_TIMEOUT  seconds to wait for the KDC to answer (30)
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=kdc.sh

REALM=${PFW_KDC_REALM:-PFW.TEST}
readonly PACKAGES=(krb5-kdc krb5-admin-server)

# Debian puts the KDC tools in /usr/sbin, which is not always on PATH.
PATH=$PATH:/usr/sbin:/sbin

have_tools() {
	command -v krb5kdc >/dev/null && command -v kdb5_util >/dev/null && command -v kadmin.local >/dev/null
}

install_tools() {
	if have_tools; then
		return 0
	fi
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || pfw_die "krb5kdc/kdb5_util/kadmin.local missing, and not root: apt-get install ${PACKAGES[*]}"
		sudo=(sudo -n)
	fi
	command -v apt-get >/dev/null || pfw_die "krb5kdc/kdb5_util/kadmin.local missing and no apt-get: install MIT Kerberos' KDC and kadmin.local"
	local start
	start=$(pfw_now)
	pfw_log "installing ${PACKAGES[*]} (not found on PATH)"
	# The packages' maintainer scripts want to start the system's KDC; there is no realm for it, so
	# policy-rc.d keeps them from trying, and debconf gets no questions.
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
		created_policy=1
	fi
	local rc=0
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${PACKAGES[@]}" >&2 || rc=$?
	if [[ $rc -ne 0 ]]; then
		# The package lists may be missing or stale (a fresh image): refresh them once and retry.
		"${sudo[@]}" apt-get update -q >&2 || true
		rc=0
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${PACKAGES[@]}" >&2 || rc=$?
	fi
	if [[ $created_policy -eq 1 ]]; then
		"${sudo[@]}" rm -f "$policy"
	fi
	[[ $rc -eq 0 ]] || pfw_die "apt-get install ${PACKAGES[*]} failed (exit $rc)"
	have_tools || pfw_die "installed ${PACKAGES[*]} but krb5kdc/kdb5_util/kadmin.local are still missing"
	pfw_log "installed ${PACKAGES[*]} in $(($(pfw_now) - start)) s"
}

require_dir() {
	[[ -n ${PFW_KDC_DIR:-} ]] || pfw_die "PFW_KDC_DIR is not set"
	DIR=${PFW_KDC_DIR%/}
}

# keytab_name maps a principal to its keytab's file name: "broker/localhost@R" -> broker_localhost.keytab
keytab_name() {
	local p=${1%%@*}
	printf '%s.keytab' "${p//\//_}"
}

write_configs() {
	local port=$1
	mkdir -p "$DIR/keytabs"
	cat >"$DIR/kdc.conf" <<EOF
[kdcdefaults]
	kdc_ports = $port
	kdc_tcp_ports = $port
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port

[realms]
	$REALM = {
		database_name = $DIR/principal
		key_stash_file = $DIR/stash
		acl_file = $DIR/kadm5.acl
		max_life = 10h 0m 0s
		max_renewable_life = 1d 0h 0m 0s
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}

[logging]
	kdc = FILE:$DIR/kdc.log
	admin_server = FILE:$DIR/kadmin.log
	default = FILE:$DIR/krb5lib.log
EOF
	: >"$DIR/kadm5.acl"
	cat >"$DIR/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	udp_preference_limit = 1
	ticket_lifetime = 10h

[realms]
	$REALM = {
		kdc = 127.0.0.1:$port
	}

[domain_realm]
	localhost = $REALM
	.localhost = $REALM
EOF
}

# kdc_answers tells whether something listens on the KDC's TCP port.
kdc_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_up() {
	require_dir
	[[ -n ${PFW_KDC_PORT:-} ]] || pfw_die "PFW_KDC_PORT is not set"
	local port=$PFW_KDC_PORT
	install_tools
	if [[ -f $DIR/krb5kdc.pid ]] && kill -0 "$(cat "$DIR/krb5kdc.pid")" 2>/dev/null; then
		pfw_die "a KDC already runs from $DIR (pid $(cat "$DIR/krb5kdc.pid")); run down first"
	fi
	mkdir -p "$DIR"
	write_configs "$port"
	export KRB5_CONFIG=$DIR/krb5.conf KRB5_KDC_PROFILE=$DIR/kdc.conf
	rm -f "$DIR"/principal* "$DIR/stash"
	local start
	start=$(pfw_now)
	# The master password only protects the stash of this throw-away database.
	kdb5_util create -s -r "$REALM" -P "pfw-$RANDOM-$RANDOM" >"$DIR/kdb5_util.log" 2>&1 ||
		pfw_die "kdb5_util create failed: $(tail -n 5 "$DIR/kdb5_util.log")"
	local p full kt
	for p in "$@"; do
		full=$p
		[[ $full == *@* ]] || full=$p@$REALM
		kt=$DIR/keytabs/$(keytab_name "$full")
		rm -f "$kt"
		kadmin.local -r "$REALM" -q "addprinc -randkey $full" >>"$DIR/kadmin.log" 2>&1 ||
			pfw_die "kadmin.local addprinc $full failed: $(tail -n 5 "$DIR/kadmin.log")"
		kadmin.local -r "$REALM" -q "ktadd -k $kt -norandkey $full" >>"$DIR/kadmin.log" 2>&1 ||
			pfw_die "kadmin.local ktadd $full failed: $(tail -n 5 "$DIR/kadmin.log")"
		[[ -s $kt ]] || pfw_die "no keytab written for $full: $(tail -n 5 "$DIR/kadmin.log")"
	done
	krb5kdc -r "$REALM" -P "$DIR/krb5kdc.pid" >"$DIR/krb5kdc.out" 2>&1 ||
		pfw_die "krb5kdc failed to start: $(cat "$DIR/krb5kdc.out") $(tail -n 5 "$DIR/kdc.log" 2>/dev/null)"
	local deadline=$(($(pfw_now) + ${PFW_KDC_TIMEOUT:-30}))
	until kdc_answers "$port"; do
		if (($(pfw_now) > deadline)); then
			pfw_die "krb5kdc does not answer on 127.0.0.1:$port: $(tail -n 5 "$DIR/kdc.log" 2>/dev/null)"
		fi
		sleep 0.1
	done
	pfw_log "KDC for $REALM on 127.0.0.1:$port with $# principals in $(($(pfw_now) - start)) s"
	printf 'export KRB5_CONFIG=%q\n' "$DIR/krb5.conf"
	printf 'export PFW_KDC_REALM=%q\n' "$REALM"
	printf 'export PFW_KDC_KEYTABS=%q\n' "$DIR/keytabs"
}

cmd_down() {
	require_dir
	local pidfile=$DIR/krb5kdc.pid pid
	[[ -f $pidfile ]] || return 0
	pid=$(cat "$pidfile")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		local i
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

case ${1:-} in
install) install_tools ;;
up)
	shift
	cmd_up "$@"
	;;
down) cmd_down ;;
*)
	echo "usage: $0 install | up PRINCIPAL... | down   (see the header of $0)" >&2
	exit 2
	;;
esac
