# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Source it; it defines functions and a few variables only.

# PFW_REPO_ROOT is the repository's top directory (the parent of scripts/).
# shellcheck disable=SC2034 # used by the scripts that source this file
PFW_REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)

# pfw_log prints a progress line on stderr, prefixed with the calling script's name.
pfw_log() {
	printf '%s: %s\n' "${PFW_LOG_PREFIX:-${0##*/}}" "$*" >&2
}

# pfw_die prints an error on stderr and exits non-zero.
pfw_die() {
	printf '%s: error: %s\n' "${PFW_LOG_PREFIX:-${0##*/}}" "$*" >&2
	exit 1
}

# pfw_now prints the seconds since the epoch (integer).
pfw_now() {
	date +%s
}
