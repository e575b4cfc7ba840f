#!/usr/bin/env bash
# scripts/run.sh CONFIG [ARGS...] — run the worker locally (`make run`).
#
# Without PULSAR_SERVICE_URL in the environment it starts (or reuses) a local standalone with
# scripts/pulsar.sh up, and leaves it running afterwards (stop it with `make pulsar-down`). Then it
# execs `bin/pulsar-functions-worker run --config CONFIG ARGS...`, with PF_pulsarServiceUrl /
# PF_pulsarWebServiceUrl / PF_stateStorageServiceUrl (the worker's PF_<key> overrides) set from
# PULSAR_SERVICE_URL / PULSAR_WEB_SERVICE_URL / PULSAR_STATE_STORAGE_URL where those differ from
# CONFIG, unless the caller already set the PF_ variable. PFW_WORKER_BIN names another binary.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
PFW_LOG_PREFIX=run.sh

(($# >= 1)) || pfw_die "usage: scripts/run.sh CONFIG [worker args...]"
config=$1
shift
[[ -f $config ]] || pfw_die "config file $config does not exist"
bin=${PFW_WORKER_BIN:-$PFW_REPO_ROOT/bin/pulsar-functions-worker}
[[ -x $bin ]] || pfw_die "$bin is missing; run: make build"

if [[ -z ${PULSAR_SERVICE_URL:-} ]]; then
	pfw_log "PULSAR_SERVICE_URL is not set: starting a local Pulsar standalone (scripts/pulsar.sh up)"
	exports=$("$PFW_REPO_ROOT/scripts/pulsar.sh" up)
	eval "$exports"
	pfw_log "the standalone keeps running after the worker exits; stop it with: make pulsar-down"
fi

# yaml_scalar KEY prints the value of a top-level `KEY: value` in $config (quotes and trailing
# comment removed), or nothing.
yaml_scalar() {
	sed -n -E "s/^$1:[[:space:]]*//p" "$config" | head -n 1 |
		sed -E 's/[[:space:]]+#.*$//; s/^"(.*)"$/\1/; s/^'"'"'(.*)'"'"'$/\1/; s/[[:space:]]+$//'
}

# override KEY VALUE exports PF_KEY=VALUE when VALUE is set and differs from CONFIG's KEY.
override() {
	local key=$1 value=$2 var=PF_$1
	[[ -n $value ]] || return 0
	if [[ -n ${!var:-} ]]; then
		pfw_log "keeping $var=${!var} from the environment"
		return 0
	fi
	local current
	current=$(yaml_scalar "$key")
	if [[ $current != "$value" ]]; then
		pfw_log "$key: ${current:-(unset)} in $config -> $value (via $var)"
		export "$var=$value"
	fi
}

override pulsarServiceUrl "${PULSAR_SERVICE_URL:-}"
override pulsarWebServiceUrl "${PULSAR_WEB_SERVICE_URL:-}"
override stateStorageServiceUrl "${PULSAR_STATE_STORAGE_URL:-}"

# Python function instances are started with `python3` from PATH, as the Java worker does: put the
# virtualenv that has the Python runtime's packages first.
if [[ -n ${PFW_PYTHON:-} ]]; then
	PATH=$(dirname -- "$PFW_PYTHON"):$PATH
	export PATH
fi

pfw_log "exec $bin run --config $config $*"
exec "$bin" run --config "$config" "$@"
