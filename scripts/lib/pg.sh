# shellcheck shell=bash disable=SC2034  # PG_ADMIN_URL is read by the sourcing script
# PostgreSQL for scripts/test: use the server on 127.0.0.1:5432 (HANGAR_TEST_PG_PORT), start the
# machine's cluster, or run a throwaway cluster for the duration of the test run.
# Sourced, not run. Needs common.sh.
#
# After ensure_postgres:
#   PG_PORT       the port of a server that accepts `postgres` without a password
#   PG_ADMIN_URL  postgres://postgres@127.0.0.1:$PG_PORT/postgres
# pg_cleanup (call from the EXIT trap) drops the databases made by pg_create_db and stops the
# throwaway cluster if this run started one.

PG_PORT=''
PG_ADMIN_URL=''
_PG_TMP=''          # throwaway cluster folder, when we started one
_PG_AS=()           # command prefix to run cluster tools as the postgres OS user
_PG_DATABASES=()    # databases created by pg_create_db, dropped by pg_cleanup

_pg_bin_dir() {
    local d
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1)
    [[ -n $d ]] && echo "$d"
}

# Client tools (pg_isready, psql, createdb, dropdb) from the server's own bin dir when present.
_pg_tool() {
    local tool=$1 dir
    shift
    dir=$(_pg_bin_dir || true)
    if [[ -n $dir && -x $dir/$tool ]]; then "$dir/$tool" "$@"; else "$tool" "$@"; fi
}

# _pg_usable PORT: the server answers and lets `postgres` in without a password.
_pg_usable() {
    _pg_tool pg_isready -h 127.0.0.1 -p "$1" -q -t 3 >/dev/null 2>&1 &&
        PGCONNECT_TIMEOUT=5 _pg_tool psql -X -w -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres \
            -c 'select 1' >/dev/null 2>&1
}

_pg_wait_usable() {
    local port=$1 tries=${2:-30}
    while ((tries-- > 0)); do
        _pg_usable "$port" && return 0
        sleep 0.5
    done
    return 1
}

_pg_port_free() {
    # Free when nothing accepts a TCP connection there.
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_pg_start_throwaway() {
    local bin port
    bin=$(_pg_bin_dir) || die "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"
    for port in $(seq 5433 5499); do
        _pg_port_free "$port" && break
    done
    _pg_port_free "$port" || die "no free port for a throwaway PostgreSQL cluster"
    _PG_TMP=$(mktemp -d /tmp/hangar-test-pg.XXXXXX)
    if [[ $(id -u) == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user to run initdb"
        chown postgres: "$_PG_TMP"
        _PG_AS=(runuser -u postgres --)
    fi
    log "starting a throwaway PostgreSQL cluster in $_PG_TMP on port $port"
    "${_PG_AS[@]}" "$bin/initdb" -D "$_PG_TMP/data" -A trust -U postgres --no-sync >"$_PG_TMP/initdb.log" 2>&1 ||
        { cat "$_PG_TMP/initdb.log" >&2; die "initdb failed"; }
    "${_PG_AS[@]}" "$bin/pg_ctl" -D "$_PG_TMP/data" -l "$_PG_TMP/server.log" -w -t 60 \
        -o "-p $port -k $_PG_TMP -c fsync=off -c listen_addresses=127.0.0.1 -c max_connections=200" start \
        >/dev/null || { cat "$_PG_TMP/server.log" >&2; die "pg_ctl start failed"; }
    _pg_wait_usable "$port" 20 || { cat "$_PG_TMP/server.log" >&2; die "throwaway PostgreSQL does not answer"; }
    PG_PORT=$port
}

ensure_postgres() {
    local v port=${HANGAR_TEST_PG_PORT:-5432}
    if _pg_usable "$port"; then
        PG_PORT=$port
    else
        if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
            for v in /etc/postgresql/*/; do
                v=$(basename "$v")
                [[ $v == '*' ]] && continue
                log "PostgreSQL on 127.0.0.1:$port does not answer; trying: pg_ctlcluster $v main start"
                pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>&1 || true
            done
            if _pg_wait_usable "$port" 20; then PG_PORT=$port; fi
        fi
        [[ -n $PG_PORT ]] || _pg_start_throwaway
    fi
    PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

# pg_create_db NAME: a fresh, empty database (dropped by pg_cleanup if still there).
pg_create_db() {
    _pg_tool dropdb -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists --force "$1" >/dev/null 2>&1 || true
    _pg_tool createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
    _PG_DATABASES+=("$1")
}

pg_drop_db() {
    _pg_tool dropdb -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists --force "$1"
}

pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }

pg_cleanup() {
    local db
    if [[ -n $PG_PORT ]]; then
        for db in "${_PG_DATABASES[@]}"; do
            pg_drop_db "$db" >/dev/null 2>&1 || true
        done
    fi
    if [[ -n $_PG_TMP ]]; then
        log "stopping the throwaway PostgreSQL cluster"
        "${_PG_AS[@]}" "$(_pg_bin_dir)/pg_ctl" -D "$_PG_TMP/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
        rm -rf "$_PG_TMP"
        _PG_TMP=''
    fi
}
