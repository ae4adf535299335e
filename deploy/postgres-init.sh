#!/bin/sh
# Runs once, when the PostgreSQL volume is first created: the read model's own database and
# role, apart from Temporal's (auto-setup creates `temporal` and `temporal_visibility`).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE enroll LOGIN PASSWORD '${ENROLL_DB_PASSWORD}';
CREATE DATABASE enroll OWNER enroll;
SQL
