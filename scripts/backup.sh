#!/bin/sh
# Back up one database to a custom-format dump (pg_dump -Fc): scripts/backup.sh DBNAME FILE
#
# Connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD) as a role that
# sees every row: a superuser, or a backup role with BYPASSRLS that can read every table
# (e.g. member of pg_read_all_data). Not the owner role: the tables FORCE row-level security,
# so pg_dump as crm_owner stops with "query would be affected by row-level security policy"
# (and with --enable-row-security it would dump no tenant rows at all, silently).
#
# pg_dump must be of the server's major version or newer: PG_BINDIR, else the binaries the
# local servers use (scripts/dev.py: PATH, /usr/lib/postgresql/*/bin or the pgserver wheel).
# Details and the local example: docs/OPERATIONS.md.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: scripts/backup.sh DBNAME FILE   (connection from PGHOST/PGPORT/PGUSER/PGPASSWORD)" >&2
    exit 2
fi
db=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PG_BINDIR:-}" ]; then
    py="$root/.venv/bin/python"
    [ -x "$py" ] || py=python3
    PG_BINDIR=$("$py" -c "import sys; sys.path.insert(0, '$root/scripts'); import dev; print(dev.pg_bindir())")
fi

# Write next to the target and rename at the end: a failed dump never looks like a backup.
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT
"$PG_BINDIR/pg_dump" --format=custom --dbname="$db" --file="$tmp"
"$PG_BINDIR/pg_restore" --list "$tmp" >/dev/null   # readable: the archive's table of contents
mv "$tmp" "$out"
trap - EXIT
echo "backup of $db written to $out ($(wc -c <"$out") bytes)"
