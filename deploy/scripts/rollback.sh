#!/usr/bin/env bash
# Roll Code Tutor's application images (hub, judge-worker, and llm with the gpu
# profile) back to an earlier release from the release log, restart them, and check
# health. Database migrations are not undone: if the newer release changed the
# schema, restore the backup taken before its deploy (restore.sh, deploy/RUNBOOK.md).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<USAGE
usage: $(basename "$0") [options]

  --to TAG              release to go back to; it must be in the release log
                        (default: the newest logged release other than the current)
  --env-file FILE       the stack's settings (default: deploy/.env); its
                        CODETUTOR_TAG is the current release and is rewritten
  --releases FILE       release log, one "UTC-time TAG [note]" line per deploy
                        (default: deploy/releases.log, appended by each deploy)
  --health-url URL      checked after the restart (default:
                        https://CODETUTOR_DOMAIN/hub/health, resolved to this host)
  --health-timeout S    seconds to wait for health (default: 120)
  --dry-run             print what would be done and change nothing
  -h, --help            this help
USAGE
}

env_file="$DEPLOY_DIR/.env"
releases="$DEPLOY_DIR/releases.log"
target=""
health_url=""
health_timeout=120
dry_run=0

while [ $# -gt 0 ]; do
    case "$1" in
        --to) [ $# -ge 2 ] || usage_error "$1 needs a value"; target="$2"; shift 2 ;;
        --env-file) [ $# -ge 2 ] || usage_error "$1 needs a value"; env_file="$2"; shift 2 ;;
        --releases) [ $# -ge 2 ] || usage_error "$1 needs a value"; releases="$2"; shift 2 ;;
        --health-url) [ $# -ge 2 ] || usage_error "$1 needs a value"; health_url="$2"; shift 2 ;;
        --health-timeout) [ $# -ge 2 ] || usage_error "$1 needs a value"; health_timeout="$2"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "unknown argument: $1" ;;
    esac
done

[[ "$health_timeout" =~ ^[0-9]+$ ]] || usage_error "--health-timeout must be whole seconds"
[ -f "$env_file" ] || usage_error "env file not found: $env_file"
[ -f "$releases" ] || usage_error "release log not found: $releases"
need curl

env_value() {
    sed -n "s/^$1=//p" "$env_file" | tail -n 1
}

current="$(env_value CODETUTOR_TAG)"
[ -n "$current" ] || die "no CODETUTOR_TAG in $env_file"
mapfile -t logged < <(awk 'NF >= 2 { print $2 }' "$releases")

if [ -n "$target" ]; then
    printf '%s\n' "${logged[@]}" | grep -Fxq -- "$target" ||
        die "release $target is not in $releases; only logged releases can be rolled back to"
else
    for ((i = ${#logged[@]} - 1; i >= 0; i--)); do
        if [ "${logged[$i]}" != "$current" ]; then
            target="${logged[$i]}"
            break
        fi
    done
    [ -n "$target" ] || die "no earlier release than $current in $releases"
fi
[ "$target" != "$current" ] || die "$target is already the current release"

services=(hub judge-worker)
case ",$(env_value COMPOSE_PROFILES)," in *,gpu,*) services+=(llm) ;; esac

if [ -z "$health_url" ]; then
    domain="$(env_value CODETUTOR_DOMAIN)"
    [ -n "$domain" ] || die "no CODETUTOR_DOMAIN in $env_file; give --health-url"
    port="$(env_value HTTPS_PORT)"
    health_url="https://$domain:${port:-443}/hub/health"
    curl_extra=(--resolve "$domain:${port:-443}:127.0.0.1")
else
    curl_extra=()
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
saved="$env_file.before-rollback-$stamp"

log "rollback: $current -> $target (services: ${services[*]})"
run() {
    if [ "$dry_run" = 1 ]; then
        printf '+ %s\n' "$*"
    else
        "$@"
    fi
}

run cp -p -- "$env_file" "$saved"
run sed -i "s/^CODETUTOR_TAG=.*/CODETUTOR_TAG=$target/" "$env_file"
read -r -a docker_argv <<<"$DOCKER"
stack=("${docker_argv[@]}" compose -f "$COMPOSE_FILE" --env-file "$env_file")
run "${stack[@]}" pull "${services[@]}"
run "${stack[@]}" up -d --no-deps "${services[@]}"

if [ "$dry_run" = 1 ]; then
    printf '+ wait up to %ss for %s\n' "$health_timeout" "$health_url"
    log "dry run: nothing was changed"
    exit 0
fi

log "waiting up to ${health_timeout}s for $health_url"
deadline=$((SECONDS + health_timeout))
until curl -fsS -o /dev/null --max-time 5 "${curl_extra[@]}" "$health_url"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        die "release $target is not healthy after ${health_timeout}s; the settings before the rollback are in $saved"
    fi
    sleep 2
done
printf '%s %s rollback-from-%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$target" "$current" >>"$releases"
log "rolled back to $target; healthy"
