#!/usr/bin/env bash
# Installs what Shardwire's tests need on a fresh Debian machine: the
# PostgreSQL and MariaDB servers and clients that shardwire-testkit starts
# throwaway instances of. Idempotent: installs only what is missing, and runs
# `apt-get update` only then.
#
# The system services are not started: the harness runs its own servers on
# free ports and does not use (or mind) ones on 5432 / 3306.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust first (https://rustup.rs), then rerun" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "error: run as root or install sudo" >&2
    exit 1
fi

# Each package is checked by the programs the harness uses from it, not by
# dpkg status: Debian's `postgresql-client` is a metapackage over
# `postgresql-client-15`, which can be installed without it.
have_pg_server() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_pg_client() { compgen -G '/usr/lib/postgresql/*/bin/pg_isready' >/dev/null && command -v psql >/dev/null; }
have_mariadb_server() {
    command -v mariadb-install-db >/dev/null && { [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null; }
}
have_mariadb_client() { command -v mariadb >/dev/null; }
have_procps() { [ -x /bin/kill ] || [ -x /usr/bin/kill ]; }
have_getent() { command -v getent >/dev/null; }
# The eBPF fast path: ebpf-fastpath/build.rs compiles bpf/*.c with clang
# against the kernel UAPI headers (<linux/bpf.h>). Without them the crate
# still builds, with the kernel splice reported unavailable.
have_clang() { command -v clang >/dev/null; }
have_bpf_headers() { [ -e /usr/include/linux/bpf.h ]; }

missing=()
have_pg_server || missing+=(postgresql)
have_pg_client || missing+=(postgresql-client)
have_mariadb_server || missing+=(mariadb-server)
have_mariadb_client || missing+=(mariadb-client)
have_procps || missing+=(procps)      # `kill`: the harness signals its servers
have_getent || missing+=(libc-bin)    # `getent`: finds the postgres account
have_clang || missing+=(clang)        # builds the sk_skb programs
have_bpf_headers || missing+=(linux-libc-dev)
command -v openssl >/dev/null || missing+=(openssl)  # test certificates for frontend TLS
command -v sysbench >/dev/null || missing+=(sysbench)  # tests/mysql_sysbench.rs, benches/suites/mysql-*
# cargo-nextest is not needed yet: `cargo test` runs every tier today.

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: everything is already installed"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
# policy-rc.d exit code 101 tells invoke-rc.d not to start services; only
# put it in place if the machine has none, and remove only our own.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    ours=1
fi
cleanup() { if [ "$ours" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
