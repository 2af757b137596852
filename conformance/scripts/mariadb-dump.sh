#!/bin/sh
# `mariadb-dump --no-data` of two tables the script creates first and
# drops after (three connections: the mariadb CLI, mariadb-dump, the CLI),
# MYSQL_* environment. --skip-ssl keeps the capture readable.
set -eu
cli() {
    mariadb --no-defaults --skip-ssl -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" \
        -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -e "$1"
}
cli "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id INT NOT NULL,
        amount DECIMAL(10,2), status VARCHAR(20), KEY by_user (user_id));
     CREATE TABLE t_region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20))"
mariadb-dump --no-defaults --skip-ssl --no-data --skip-dump-date -h "$MYSQL_HOST" -P "$MYSQL_PORT" \
    -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE"
cli "DROP TABLE t_order, t_region"
