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

# Where Java workers find the instance runtimes: bin/pulsar sets PULSAR_HOME for them.
export PULSAR_HOME=${PULSAR_HOME:-}

example=${PFW_EXAMPLE_FUNCTION:-1}
if [[ $example != 1 || -z $PULSAR_HOME ]]; then
	pfw_log "exec $bin run --config $config $*"
	exec "$bin" run --config "$config" "$@"
fi

# Run the worker in the foreground of this script, and once it serves, deploy the distribution's
# Java ExclamationFunction as an example (PFW_EXAMPLE_FUNCTION=0 skips it).
pfw_log "$bin run --config $config $*"
"$bin" run --config "$config" "$@" &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker"; exit $?' INT TERM
port=${PF_workerPort:-$(yaml_scalar workerPort)}
admin_url=http://localhost:${port:-6750}
for _ in $(seq 1 120); do
	curl -fsS "$admin_url/initialized" >/dev/null 2>&1 && break
	kill -0 "$worker" 2>/dev/null || { wait "$worker"; exit $?; }
	sleep 1
done
if curl -fsS "$admin_url/admin/v3/functions/public/default/exclamation" >/dev/null 2>&1; then
	pfw_log "example function public/default/exclamation already exists"
else
	pfw_log "deploying the example function public/default/exclamation (Java ExclamationFunction)"
	"$PULSAR_HOME/bin/pulsar-admin" --admin-url "$admin_url" functions create \
		--tenant public --namespace default --name exclamation \
		--jar "$PULSAR_HOME/examples/api-examples.jar" \
		--classname org.apache.pulsar.functions.api.examples.ExclamationFunction \
		--inputs persistent://public/default/exclamation-in \
		--output persistent://public/default/exclamation-out >&2 ||
		pfw_log "warning: could not deploy the example function"
fi
pfw_log "try it:"
pfw_log "  $PULSAR_HOME/bin/pulsar-admin --admin-url $admin_url functions status --tenant public --namespace default --name exclamation"
pfw_log "  $PULSAR_HOME/bin/pulsar-client --url ${PULSAR_SERVICE_URL:-pulsar://localhost:6650} produce -m hello persistent://public/default/exclamation-in"
pfw_log "  $PULSAR_HOME/bin/pulsar-client --url ${PULSAR_SERVICE_URL:-pulsar://localhost:6650} consume -s try -p Earliest persistent://public/default/exclamation-out"
wait "$worker"
