# Starting the contenders (sourced after common.sh). Each start_* function
# leaves the new server's port in REPLY_PORT and the pid whose process tree
# does its work in REPLY_PID, and registers its stop for exit.

# start_pg NAME [-c name=value ...]: a throwaway PostgreSQL owned by the
# postgres user, user $BENCH_USER with SCRAM over TCP, on a free port.
start_pg() {
    local name=$1
    shift
    local dir="$WORK/pg-$name" port
    mkdir -p "$dir"
    echo "$BENCH_PASSWORD" >"$WORK/pg-$name.pw"
    chown postgres "$dir" "$WORK/pg-$name.pw"
    runuser -u postgres -- "$PGBIN/initdb" -D "$dir" -U "$BENCH_USER" --pwfile="$WORK/pg-$name.pw" \
        --auth-host=scram-sha-256 --auth-local=trust >"$WORK/pg-$name.initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$WORK/pg-$name.initdb.log")"
    local attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -l "$WORK/pg-$name.log" -w -t 60 \
            -o "-p $port -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
                -c synchronous_commit=off -c shared_buffers=256MB -c max_connections=400 $*" \
            start >/dev/null; then
            on_exit "runuser -u postgres -- '$PGBIN/pg_ctl' -D '$dir' -m immediate stop"
            REPLY_PORT=$port
            REPLY_PID=$(head -1 "$dir/postmaster.pid")
            return 0
        fi
    done
    die "PostgreSQL $name did not start: $(tail -5 "$WORK/pg-$name.log")"
}

# pg_sql PORT DB SQL: runs SQL as $BENCH_USER over the socket, stops on errors.
pg_sql() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$1" -U "$BENCH_USER" -d "$2" -Atc "$3"
}

# start_pgbouncer NAME PG_PORT DB POOL_SIZE MODE: Debian's PgBouncer with
# SCRAM for clients, DB mapped to the same database behind it.
start_pgbouncer() {
    local name=$1 pg_port=$2 db=$3 pool=$4 mode=$5
    need_cmd pgbouncer pgbouncer
    local dir="$WORK/pgbouncer-$name" port
    port=$(free_port)
    mkdir -p "$dir"
    # The SCRAM verifier, as PostgreSQL stores it (what an auth_file or
    # auth_query holds in production): PgBouncer then checks a client's proof
    # without running PBKDF2 per login.
    local verifier
    verifier=$(pg_sql "$pg_port" postgres "SELECT rolpassword FROM pg_authid WHERE rolname = '$BENCH_USER'")
    printf '"%s" "%s"\n' "$BENCH_USER" "$verifier" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
$db = host=127.0.0.1 port=$pg_port dbname=$db user=$BENCH_USER password=$BENCH_PASSWORD
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $mode
default_pool_size = $pool
max_db_connections = $pool
max_client_conn = 12000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
EOF
    chown -R postgres "$dir"
    # PgBouncer refuses to run as root; -d daemonizes, the pidfile names it.
    # setpriv, unlike runuser, keeps our raised descriptor limit (no PAM).
    setpriv --reuid=postgres --regid=postgres --init-groups pgbouncer -d "$dir/pgbouncer.ini" ||
        die "PgBouncer did not start: $(tail -5 "$dir/pgbouncer.log" 2>/dev/null)"
    on_exit "kill \$(cat '$dir/pgbouncer.pid')"
    wait_port "$port" || die "PgBouncer is not listening on $port"
    REPLY_PORT=$port
    REPLY_PID=$(cat "$dir/pgbouncer.pid")
}

# shardwire_global PORT [extra props lines]: a global.yaml with the bench
# user and one PostgreSQL listener.
shardwire_global() {
    local port=$1
    shift
    printf 'authority:\n  users:\n    - user: %s@%%\n      password: %s\n  privilege:\n    type: ALL_PERMITTED\n' \
        "$BENCH_USER" "$BENCH_PASSWORD"
    printf 'props:\n  max-connections-size-per-query: 1\n'
    local line
    for line in "$@"; do printf '  %s\n' "$line"; done
    printf 'listeners:\n  - protocol: postgresql\n    address: 127.0.0.1:%s\n' "$port"
}

# pg_data_source NAME PORT DB POOL: one data source entry of a database yaml.
pg_data_source() {
    printf '  %s:\n    url: jdbc:postgresql://127.0.0.1:%s/%s\n    username: %s\n    password: %s\n    maxPoolSize: %s\n    connectionTimeoutMilliseconds: 10000\n' \
        "$1" "$2" "$3" "$BENCH_USER" "$BENCH_PASSWORD" "$4"
}

# start_shardwire NAME CONF_DIR PORT: the release proxy serving CONF_DIR.
start_shardwire() {
    local name=$1 conf=$2 port=$3
    "$SHARDWIRE_BIN" serve --config "$conf" >"$WORK/shardwire-$name.log" 2>&1 &
    local pid=$!
    on_exit "kill $pid; sleep 0.2; kill -9 $pid"
    wait_port "$port" 100 || die "Shardwire $name did not listen on $port: $(tail -20 "$WORK/shardwire-$name.log")"
    kill -0 "$pid" 2>/dev/null || die "Shardwire $name exited: $(tail -20 "$WORK/shardwire-$name.log")"
    REPLY_PORT=$port
    REPLY_PID=$pid
}
