#!/bin/sh
# Runs once, when the PostgreSQL volume is first created: the read model's own database and
# role, apart from Temporal's (auto-setup creates `temporal` and `temporal_visibility`). The
# password goes in as a psql variable (:'pw' quotes it), never spliced into the SQL.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$ENROLL_DB_PASSWORD" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE enroll LOGIN PASSWORD :'pw';
CREATE DATABASE enroll OWNER enroll;
SQL
