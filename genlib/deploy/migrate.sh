#!/bin/sh
# genlib's migrations job (the release's <database>-migrate image): apply each .sql file of ORDER that the
# database has not applied, each in one transaction together with its record in genlib_migrations, the ledger
# `doit up` keeps too (genlib/stack/migrations.py). A file applied before must not have changed.
# Connection: PGHOST, PGUSER, PGDATABASE, and the password in PGPASSWORD (from a secret).
set -eu
cd /genlib/migrations
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
tries=0
until pg_isready -q; do
    tries=$((tries + 1))
    [ "$tries" -le 150 ] || { echo "genlib: $PGHOST did not answer within 300s" >&2; exit 1; }
    sleep 2
done
psql -c "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS genlib_migrations (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
while read -r sha name; do
    applied=$(psql -A -t -c "SELECT sha256 FROM genlib_migrations WHERE name = '$name'")
    if [ -n "$applied" ]; then
        if [ "$applied" != "$sha" ]; then
            echo "genlib: $name was applied with other content; put the change in a new file" >&2
            exit 1
        fi
        continue
    fi
    { cat "files/$name"; printf "\n;\nINSERT INTO genlib_migrations (name, sha256) VALUES ('%s', '%s');\n" "$name" "$sha"; } \
        | psql --single-transaction -f -
    echo "genlib: applied $name"
done < ORDER
echo "genlib: migrations done"
