#!/bin/sh
# Restore a dump of scripts/backup.sh into a NEW database: scripts/restore.sh FILE NEWDB
#
# Never restores over an existing database: it refuses if NEWDB exists. Creates NEWDB owned by
# RESTORE_OWNER (default crm_owner), connectable by RESTORE_APP_ROLE (default crm_app) only,
# as deploy/postgres/10-roles.sh does, then restores tables, data, row-level security policies
# and the app role's grants in one transaction (all or nothing). Both roles must exist on the
# server. Connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD) as a
# superuser (or a CREATEDB role with BYPASSRLS that is a member of RESTORE_OWNER).
# Then point DATABASE_URL / DATABASE_OWNER_URL at NEWDB (docs/OPERATIONS.md).
set -eu

if [ $# -ne 2 ]; then
    echo "usage: scripts/restore.sh FILE NEWDB   (connection from PGHOST/PGPORT/PGUSER/PGPASSWORD)" >&2
    exit 2
fi
dump=$1
newdb=$2
owner=${RESTORE_OWNER:-crm_owner}
app=${RESTORE_APP_ROLE:-crm_app}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PG_BINDIR:-}" ]; then
    py="$root/.venv/bin/python"
    [ -x "$py" ] || py=python3
    PG_BINDIR=$("$py" -c "import sys; sys.path.insert(0, '$root/scripts'); import dev; print(dev.pg_bindir())")
fi
psql() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

[ -r "$dump" ] || { echo "cannot read $dump" >&2; exit 1; }
"$PG_BINDIR/pg_restore" --list "$dump" >/dev/null
exists=$(echo "SELECT 1 FROM pg_database WHERE datname = :'db'" | psql -d postgres -tA -v db="$newdb")
if [ -n "$exists" ]; then
    echo "database $newdb exists: restore.sh only restores into a new database" >&2
    exit 1
fi
psql -d postgres -v db="$newdb" -v owner="$owner" -v app="$app" <<'EOSQL'
CREATE DATABASE :"db" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
EOSQL
if ! "$PG_BINDIR/pg_restore" --exit-on-error --single-transaction --dbname="$newdb" "$dump"; then
    echo 'DROP DATABASE :"db"' | psql -d postgres -v db="$newdb"
    echo "restore failed; $newdb dropped again" >&2
    exit 1
fi
echo "restored $dump into $newdb"
