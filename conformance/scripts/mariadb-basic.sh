#!/bin/sh
# Runs the mariadb CLI scenario (mariadb-basic.sql) against
# $MYSQL_HOST:$MYSQL_PORT as $MYSQL_USER / $MYSQL_PASSWORD, database
# $MYSQL_DATABASE. --force goes on past the scenario's error paths;
# --skip-ssl keeps the capture readable.
set -eu
here=$(dirname "$0")
exec mariadb --no-defaults --skip-ssl --force --table \
    -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" \
    "$MYSQL_DATABASE" < "$here/mariadb-basic.sql"
