#!/usr/bin/env bash
# Back up Code Tutor: the PostgreSQL databases (judge: submissions, problems,
# verdicts; Hub: users, tokens), a Redis snapshot, the LLM models, with checksums;
# keeps the last days of backups and can copy each one to object storage.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<USAGE
usage: $(basename "$0") [options]

Writes DEST/<UTC timestamp>/ with postgres-<db>.dump (pg_dump custom format),
redis.rdb, models.tar.gz and MANIFEST (sha256 of each file), atomically: a backup
that failed half-way leaves nothing behind but the log.

  -d, --dest DIR        backup root (default: \$BACKUP_ROOT or /backups)
  --database-url URL    dump this database with the local pg_dump (repeatable);
                        default: databases codetutor and jupyterhub of the Compose
                        stack's db service, dumped inside it
  --redis-url URL       snapshot this Redis with the local redis-cli --rdb;
                        default: the Compose stack's redis service
  --no-redis            skip Redis
  --models DIR          archive this folder of models (default: \$MODELS_DIR if set)
  --keep-days N         delete backups older than N days (default: 7; 0 keeps all)
  --upload URI          copy the backup to s3://bucket/prefix with the aws CLI
  -h, --help            this help
USAGE
}

dest="${BACKUP_ROOT:-/backups}"
database_urls=()
redis_url=""
with_redis=1
models="${MODELS_DIR:-}"
keep_days=7
upload=""

while [ $# -gt 0 ]; do
    case "$1" in
        -d | --dest) [ $# -ge 2 ] || usage_error "$1 needs a value"; dest="$2"; shift 2 ;;
        --database-url) [ $# -ge 2 ] || usage_error "$1 needs a value"; database_urls+=("$2"); shift 2 ;;
        --redis-url) [ $# -ge 2 ] || usage_error "$1 needs a value"; redis_url="$2"; shift 2 ;;
        --no-redis) with_redis=0; shift ;;
        --models) [ $# -ge 2 ] || usage_error "$1 needs a value"; models="$2"; shift 2 ;;
        --keep-days) [ $# -ge 2 ] || usage_error "$1 needs a value"; keep_days="$2"; shift 2 ;;
        --upload) [ $# -ge 2 ] || usage_error "$1 needs a value"; upload="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "unknown argument: $1" ;;
    esac
done

[[ "$keep_days" =~ ^[0-9]+$ ]] || usage_error "--keep-days must be a whole number of days"
[ -z "$models" ] || [ -d "$models" ] || usage_error "models folder not found: $models"
case "$upload" in "" | s3://*) ;; *) usage_error "--upload takes s3://bucket/prefix" ;; esac
need sha256sum tar gzip flock
if [ ${#database_urls[@]} -gt 0 ]; then need pg_dump; fi
if [ "$with_redis" = 1 ] && [ -n "$redis_url" ]; then need redis-cli; fi
if [ -n "$upload" ]; then need aws; fi

mkdir -p "$dest"
# one backup at a time
exec 9>"$dest/.backup.lock"
flock -n 9 || die "another backup is running in $dest"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
partial="$dest/.partial-$stamp"
final="$dest/$stamp"
[ ! -e "$final" ] || die "$final already exists"
trap 'rm -rf "$partial"' EXIT
mkdir -p "$partial"
chmod 700 "$partial"

if [ ${#database_urls[@]} -gt 0 ]; then
    for url in "${database_urls[@]}"; do
        url="$(libpq_url "$url")"
        name="$(url_database "$url")"
        log "PostgreSQL: dumping $name"
        pg_dump --format=custom --no-password --file="$partial/postgres-$name.dump" "$url"
    done
else
    for name in codetutor jupyterhub; do
        log "PostgreSQL: dumping $name (Compose service db)"
        compose exec -T db pg_dump --format=custom -U codetutor "$name" >"$partial/postgres-$name.dump"
    done
fi

if [ "$with_redis" = 1 ]; then
    if [ -n "$redis_url" ]; then
        log "Redis: snapshot of $(printf '%s' "$redis_url" | sed -E 's#//[^@/]*@#//#')"
        redis-cli -u "$redis_url" --no-auth-warning --rdb "$partial/redis.rdb" >/dev/null
    else
        log "Redis: snapshot (Compose service redis)"
        compose exec -T redis redis-cli --no-auth-warning --rdb /data/backup.rdb >/dev/null
        compose cp redis:/data/backup.rdb "$partial/redis.rdb"
        compose exec -T redis rm -f /data/backup.rdb
    fi
fi

if [ -n "$models" ]; then
    log "models: archiving $models"
    tar -C "$models" -czf "$partial/models.tar.gz" .
fi

{
    echo "created $stamp"
    echo "host $(hostname)"
    echo "release ${CODETUTOR_TAG:-unknown}"
} >"$partial/INFO"
(cd "$partial" && sha256sum -- * >MANIFEST)
mv "$partial" "$final"
trap - EXIT
log "backup written: $final"

if [ -n "$upload" ]; then
    log "uploading to ${upload%/}/$stamp/"
    aws s3 cp --recursive --only-show-errors "$final" "${upload%/}/$stamp/"
fi

if [ "$keep_days" -gt 0 ]; then
    find "$dest" -mindepth 1 -maxdepth 1 -type d -name '20*T*Z' -mtime +"$keep_days" -print |
        while read -r old; do
            log "retention: removing $old"
            rm -rf -- "$old"
        done
fi

printf '%s\n' "$final"
