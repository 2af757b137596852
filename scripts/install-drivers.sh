#!/usr/bin/env bash
# Installs the client drivers of the PostgreSQL driver suite (tests/pg_drivers.rs)
# and of the MySQL one (tests/mysql_drivers.rs):
#   apt:  psql (via install-deps.sh), a JDK able to run a single-file Java
#         program, Debian's pgjdbc and MariaDB Connector/J, Node.js + npm,
#         python3-venv
#   PyPI: psycopg 3, psycopg2, asyncpg, pg8000 into tests/drivers/.venv,
#         with SQLAlchemy and Django for the conformance corpus's ORM
#         scenarios (conformance/scripts), all from
#         tests/drivers/python/requirements.txt
#         PyMySQL, mysql-connector-python, aiomysql into the same venv, and
#         mysqlclient built from source against libmariadb-dev; py-opengauss
#         (source only, pure Python) from requirements-opengauss.txt
#   npm:  pg (node-postgres), postgres (postgres.js) into tests/drivers/node/node_modules,
#         mysql2 into tests/drivers/mysql/node/node_modules
# tokio-postgres is a Cargo dev-dependency and needs nothing here.
#
# Idempotent and quick when nothing changed: apt runs only for what is
# missing, and the venv / node_modules are rebuilt only when their pinned
# manifest (requirements.txt / package-lock.json) differs from the one they
# were built from.
set -euo pipefail
cd "$(dirname "$0")/.."
drivers=tests/drivers

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "error: run as root or install sudo" >&2
    exit 1
fi

# The JDK, not the JRE: `java File.java` compiles in memory with jdk.compiler.
have_jdk() { command -v java >/dev/null && command -v javac >/dev/null; }
have_pgjdbc() { [ -r /usr/share/java/postgresql.jar ]; }
have_mariadb_jdbc() { [ -r /usr/share/java/mariadb-java-client.jar ]; }
have_node() { command -v node >/dev/null && command -v npm >/dev/null; }
have_venv() { /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }

missing=()
have_jdk || missing+=(default-jdk-headless)
have_pgjdbc || missing+=(libpostgresql-jdbc-java)
have_mariadb_jdbc || missing+=(libmariadb-java)
# mysqlclient has no Linux wheel: it builds against libmariadb's headers.
[ -r /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev gcc pkg-config python3-dev)
# A machine with Node from elsewhere (e.g. NodeSource, which bundles npm)
# keeps it; Debian splits npm into its own package.
have_node || missing+=(nodejs npm)
have_venv || missing+=(python3 python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-drivers: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# stamp_ok <dir> <manifest>: the dir was built from exactly this manifest.
stamp_ok() { [ -f "$1/.installed-from" ] && cmp -s "$1/.installed-from" "$2"; }
# ...and still loads: an interpreter upgraded under the venv breaks it
# without touching the stamp.
python_ok() {
    stamp_ok "$venv" "$requirements" &&
        "$venv/bin/python" -c 'from psycopg import connect; from psycopg2 import connect; from asyncpg import connect; from pg8000.native import Connection; import sqlalchemy, django' >/dev/null 2>&1
}
node_ok() {
    stamp_ok "$node_dir/node_modules" "$lock" &&
        (cd "$node_dir" && node -e 'require("pg"); require("postgres")') >/dev/null 2>&1
}

venv=$drivers/.venv
requirements=$drivers/python/requirements.txt
node_dir=$drivers/node
lock=$node_dir/package-lock.json

if python_ok; then
    echo "install-drivers: Python drivers up to date"
else
    echo "install-drivers: creating $venv"
    rm -rf "$venv"
    # Debian's interpreter, which python3-venv above is for.
    /usr/bin/python3 -m venv "$venv"
    # Wheels only: building psycopg2 or asyncpg from source would need
    # compilers and headers, and minutes of CI time.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
        -r "$requirements"
    cp "$requirements" "$venv/.installed-from"
fi

# The MySQL drivers, in the same venv, stamped on their own manifest.
mysql_requirements=$drivers/mysql/requirements.txt
mysql_source_requirements=$drivers/mysql/requirements-source.txt
mysql_manifest() { cat "$mysql_requirements" "$mysql_source_requirements"; }
mysql_ok() {
    [ -f "$venv/.installed-mysql-from" ] && mysql_manifest | cmp -s "$venv/.installed-mysql-from" - &&
        "$venv/bin/python" -c 'import pymysql, mysql.connector, aiomysql, MySQLdb' >/dev/null 2>&1
}
if mysql_ok; then
    echo "install-drivers: Python MySQL drivers up to date"
else
    echo "install-drivers: installing the Python MySQL drivers into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
        -r "$mysql_requirements"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$mysql_source_requirements"
    mysql_manifest >"$venv/.installed-mysql-from"
fi

# openGauss's Python driver, a source-only package (pure Python), in the
# same venv, stamped on its own manifest.
opengauss_requirements=$drivers/python/requirements-opengauss.txt
stamp_ok_file() { [ -f "$1" ] && cmp -s "$1" "$2"; }
opengauss_ok() {
    stamp_ok_file "$venv/.installed-opengauss-from" "$opengauss_requirements" &&
        "$venv/bin/python" -c 'import py_opengauss' >/dev/null 2>&1
}
if opengauss_ok; then
    echo "install-drivers: py-opengauss up to date"
else
    echo "install-drivers: installing py-opengauss into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$opengauss_requirements"
    cp "$opengauss_requirements" "$venv/.installed-opengauss-from"
fi

if node_ok; then
    echo "install-drivers: Node drivers up to date"
else
    echo "install-drivers: npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$lock" "$node_dir/node_modules/.installed-from"
fi

# The Node MySQL driver, in its own node_modules beside the scenario.
mysql_node_dir=$drivers/mysql/node
mysql_lock=$mysql_node_dir/package-lock.json
if stamp_ok "$mysql_node_dir/node_modules" "$mysql_lock" &&
    (cd "$mysql_node_dir" && node -e 'require("mysql2")') >/dev/null 2>&1; then
    echo "install-drivers: Node MySQL driver up to date"
else
    echo "install-drivers: npm ci in $mysql_node_dir"
    (cd "$mysql_node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$mysql_lock" "$mysql_node_dir/node_modules/.installed-from"
fi

echo "install-drivers: done"
