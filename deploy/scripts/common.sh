# Shared by backup.sh, restore.sh and rollback.sh (sourced, not run).
# shellcheck shell=bash

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_FILE="${COMPOSE_FILE:-$DEPLOY_DIR/docker-compose.yml}"
# The docker CLI; tests point it at a stand-in that records what it was asked to do.
DOCKER="${DOCKER:-docker}"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

die() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

usage_error() {
    printf '%s: %s (see --help)\n' "$(basename "$0")" "$*" >&2
    exit 2
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
    done
}

# The Compose stack's CLI: `docker compose -f deploy/docker-compose.yml ...`.
compose() {
    # shellcheck disable=SC2086  # DOCKER may be a command with arguments
    $DOCKER compose -f "$COMPOSE_FILE" "$@"
}

# A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it (postgresql://...).
libpq_url() {
    printf '%s' "$1" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#'
}

# The database name of a PostgreSQL URL.
url_database() {
    local rest="${1#*://}"
    rest="${rest#*/}"
    rest="${rest%%\?*}"
    [ -n "$rest" ] || die "no database name in the URL"
    printf '%s' "$rest"
}

# The same URL pointing at another database of the same server.
url_with_database() {
    local url="$1" database="$2" query=""
    case "$url" in *\?*) query="?${url#*\?}" ;; esac
    local base="${url%%\?*}"
    printf '%s/%s%s' "${base%/*}" "$database" "$query"
}
