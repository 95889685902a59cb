#!/bin/sh
# The official postgres image's first start, in short: a new PGDATA gets a cluster owned by
# POSTGRES_USER with POSTGRES_PASSWORD (scram over TCP, trust on the local socket) and POSTGRES_DB.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
want_help() {  # as the official image: `postgres --version` and friends only print
    for arg; do
        case "$arg" in -'?'|--help|--describe-config|-V|--version|-C|--*-config) return 0 ;; esac
    done
    return 1
}
if [ "${1:-}" = postgres ] && ! want_help "$@" && [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}" > "$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "genlib: new database $POSTGRES_DB created in $PGDATA"
fi
exec "$@"
