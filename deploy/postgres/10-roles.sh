#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (/docker-entrypoint-initdb.d). Creates the two roles and the database:
#
#   crm_owner  owns the tables, runs migrations (CREATEDB: it also creates the test database
#              when the suite runs against this server). Not a superuser: FORCE ROW LEVEL
#              SECURITY applies to it too.
#   crm_app    what web, worker and beat connect as: not a superuser, not the owner,
#              NOBYPASSRLS, so every query is filtered by the row-level security policies.
#              Its table privileges are granted by `manage.py migrate` (post_migrate signal).
set -eu

: "${CRM_OWNER_PASSWORD:?set CRM_OWNER_PASSWORD}"
: "${CRM_APP_PASSWORD:?set CRM_APP_PASSWORD}"
CRM_DB_NAME="${CRM_DB_NAME:-referral_crm}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_pw="$CRM_OWNER_PASSWORD" -v app_pw="$CRM_APP_PASSWORD" -v db="$CRM_DB_NAME" <<'EOSQL'
CREATE ROLE crm_owner LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOBYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE crm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER crm_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO crm_app;
EOSQL
