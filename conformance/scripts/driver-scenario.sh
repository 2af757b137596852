#!/bin/sh
# Runs one driver scenario of tests/drivers (the scenarios tests/pg_drivers.rs
# and tests/mysql_drivers.rs run through Shardwire) against a plain server,
# for recording: usage `driver-scenario.sh DRIVER`.
#
# Connection settings come from libpq's PG* variables for PostgreSQL
# drivers and MYSQL_* for MySQL drivers (as the other scripts here), and
# are handed to the scenario as SW_HOST / SW_PORT / SW_USER / SW_PASSWORD /
# SW_DATABASE. SW_DIRECT=1: no proxy generates keys, so the database does
# (IDENTITY / AUTO_INCREMENT). SW_PREFIX is empty: PostgreSQL scenarios use
# tables `orders` and `regions`, MySQL ones `t_order` and `t_region`, the
# tables the replay tier's sharded configuration shards and broadcasts.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
drivers=$here/../../tests/drivers
py=${PYTHON:-$drivers/.venv/bin/python}
export SW_DIRECT=1 SW_PREFIX=
pg() {
    export SW_HOST="$PGHOST" SW_PORT="$PGPORT" SW_USER="$PGUSER" \
        SW_PASSWORD="$PGPASSWORD" SW_DATABASE="$PGDATABASE"
    cd "$drivers"
}
my() {
    export SW_HOST="$MYSQL_HOST" SW_PORT="$MYSQL_PORT" SW_USER="$MYSQL_USER" \
        SW_PASSWORD="$MYSQL_PASSWORD" SW_DATABASE="$MYSQL_DATABASE"
    cd "$drivers/mysql"
}
# The MySQL scenarios leave their tables behind (each test has its own
# servers); a last connection drops them, so the capture leaves its server
# as it found it and replays on it again.
my_cleanup() {
    mariadb --no-defaults --skip-ssl -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" \
        -p"$MYSQL_PASSWORD" "$MYSQL_DATABASE" -e "DROP TABLE t_order, t_region"
}
case "${1:?usage: driver-scenario.sh DRIVER}" in
    psql) pg; exec bash psql/run.sh ;;
    psycopg3 | psycopg2 | asyncpg | pg8000) pg; exec "$py" "python/${1}_scenario.py" ;;
    node-pg) pg; exec node node/pg_scenario.js ;;
    postgresjs) pg; exec node node/postgresjs_scenario.js ;;
    pgjdbc) pg; exec java -cp /usr/share/java/postgresql.jar java/Scenario.java ;;
    pymysql | mysqlclient | aiomysql) my; "$py" "${1}_scenario.py"; my_cleanup ;;
    mysqlconnector-prepared) my; "$py" mysql_connector_scenario.py prepared; my_cleanup ;;
    mysqlconnector-text) my; "$py" mysql_connector_scenario.py text; my_cleanup ;;
    mysql2-execute) my; SW_MYSQL2_API=execute node node/mysql2_scenario.js; my_cleanup ;;
    mysql2-query) my; SW_MYSQL2_API=query node node/mysql2_scenario.js; my_cleanup ;;
    connectorj-server-prep)
        my; SW_SERVER_PREP_STMTS=true java -cp /usr/share/java/mariadb-java-client.jar java/Scenario.java
        my_cleanup ;;
    connectorj-client-prep)
        my; SW_SERVER_PREP_STMTS=false java -cp /usr/share/java/mariadb-java-client.jar java/Scenario.java
        my_cleanup ;;
    *) echo "driver-scenario.sh: unknown driver $1" >&2; exit 2 ;;
esac
