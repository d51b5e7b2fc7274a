#!/usr/bin/env bash
# Restore Code Tutor from a folder written by backup.sh: checks every checksum,
# recreates each PostgreSQL database from its dump, puts the Redis snapshot back.
# Destructive: the databases are dropped first. Asks unless --yes.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<USAGE
usage: $(basename "$0") [options] BACKUP_DIR

  --database-url URL    restore into this database with the local pg_restore
                        (repeatable); its name picks the dump (postgres-<name>.dump).
                        Default: every dump, into the Compose stack's db service, with
                        the Hub and judge workers stopped meanwhile
  --redis-data-dir DIR  put the Redis snapshot into this Redis data folder, with
                        a new append-only file made from it by the local
                        redis-server (the Redis there must be stopped; start it
                        afterwards).
                        Default: the Compose stack's redis service, restarted
  --no-redis            leave Redis alone
  --yes                 do not ask for confirmation
  -h, --help            this help
USAGE
}

database_urls=()
redis_dir=""
with_redis=1
assume_yes=0
backup=""

while [ $# -gt 0 ]; do
    case "$1" in
        --database-url) [ $# -ge 2 ] || usage_error "$1 needs a value"; database_urls+=("$2"); shift 2 ;;
        --redis-data-dir) [ $# -ge 2 ] || usage_error "$1 needs a value"; redis_dir="$2"; shift 2 ;;
        --no-redis) with_redis=0; shift ;;
        --yes) assume_yes=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage_error "unknown option: $1" ;;
        *) [ -z "$backup" ] || usage_error "one BACKUP_DIR only"; backup="$1"; shift ;;
    esac
done

[ -n "$backup" ] || usage_error "BACKUP_DIR is required"
[ -d "$backup" ] || usage_error "not a folder: $backup"
[ -f "$backup/MANIFEST" ] || die "$backup has no MANIFEST: not a complete backup"
need sha256sum

log "checking checksums"
(cd "$backup" && sha256sum --check --quiet MANIFEST) || die "checksums do not match: $backup is damaged"

if [ "$assume_yes" != 1 ]; then
    [ -t 0 ] || die "refusing to overwrite databases without --yes (no terminal to ask)"
    read -r -p "Overwrite the databases with $backup? [y/N] " answer
    [ "$answer" = y ] || [ "$answer" = Y ] || die "cancelled"
fi

dumps=("$backup"/postgres-*.dump)
[ -e "${dumps[0]}" ] || die "no PostgreSQL dump in $backup"

if [ ${#database_urls[@]} -gt 0 ]; then
    need psql pg_restore
    for url in "${database_urls[@]}"; do
        url="$(libpq_url "$url")"
        name="$(url_database "$url")"
        dump="$backup/postgres-$name.dump"
        [ -f "$dump" ] || die "no dump of database $name in $backup"
        admin="$(url_with_database "$url" postgres)"
        log "PostgreSQL: recreating $name"
        psql --no-password --quiet -v ON_ERROR_STOP=1 "$admin" \
            -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\""
        pg_restore --no-password --exit-on-error --no-owner --dbname="$url" "$dump"
    done
else
    log "stopping the Hub and the judge workers"
    compose stop hub judge-worker
    for dump in "${dumps[@]}"; do
        name="$(basename "$dump" .dump)"
        name="${name#postgres-}"
        log "PostgreSQL: recreating $name (Compose service db)"
        compose exec -T db psql -U codetutor -d postgres -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\" OWNER codetutor"
        compose exec -T db pg_restore -U codetutor --exit-on-error --dbname="$name" <"$dump"
    done
fi

# Loads dump.rdb from folder $1 into a private redis-server and has it write a new
# append-only file from it, then shuts it down. Redis loads its AOF in preference to
# dump.rdb, so a snapshot put back under an old (or no) AOF would be ignored.
# shellcheck disable=SC2016  # expanded by the sh that runs it
REBUILD_AOF='set -eu
data="$1"
rm -rf "$data/appendonlydir" "$data/appendonly.aof"
sock="$(mktemp -d)/restore.sock"
redis-server --dir "$data" --dbfilename dump.rdb --appendonly no --save "" --port 0 \
    --unixsocket "$sock" --daemonize yes --pidfile "$data/restore.pid" --logfile ""
tries=0
until redis-cli -s "$sock" ping >/dev/null 2>&1; do
    tries=$((tries + 1)); [ "$tries" -lt 300 ] || { echo "redis did not start" >&2; exit 1; }
    sleep 0.1
done
redis-cli -s "$sock" config set appendonly yes >/dev/null
while redis-cli -s "$sock" info persistence | grep -Eq "^aof_rewrite_(in_progress|scheduled):1"; do
    sleep 0.1
done
redis-cli -s "$sock" info persistence | grep -q "^aof_last_bgrewrite_status:ok" || {
    echo "redis could not write the append-only file" >&2; exit 1; }
redis-cli -s "$sock" shutdown >/dev/null 2>&1 || true
while [ -e "$data/restore.pid" ]; do sleep 0.1; done
rm -rf "$(dirname "$sock")"'

if [ "$with_redis" = 1 ] && [ -f "$backup/redis.rdb" ]; then
    if [ -n "$redis_dir" ]; then
        [ -d "$redis_dir" ] || usage_error "not a folder: $redis_dir"
        need redis-server redis-cli
        log "Redis: snapshot into $redis_dir"
        cp -- "$backup/redis.rdb" "$redis_dir/dump.rdb.restoring"
        mv -- "$redis_dir/dump.rdb.restoring" "$redis_dir/dump.rdb"
        sh -c "$REBUILD_AOF" sh "$redis_dir"
    else
        log "Redis: snapshot into the Compose service redis"
        compose stop redis
        compose cp "$backup/redis.rdb" redis:/data/dump.rdb
        compose run --rm --no-deps -T --entrypoint sh redis -c "$REBUILD_AOF" sh /data
        compose start redis
    fi
fi

if [ ${#database_urls[@]} -eq 0 ]; then
    log "starting the Hub and the judge workers"
    compose up -d hub judge-worker
fi
log "restore completed from $backup"
