#!/usr/bin/env bash
# Install and start the real peers the test suite talks to (idempotent; needs root for apt).
# - PostgreSQL (Debian's package): a private cluster on 127.0.0.1 with a `kite` role and
#   database, exported as KITE_TEST_POSTGRES_DSN through .ci/env for the tests;
# - Chromium (Debian's `chromium` and `chromium-driver`) for the browser test of examples/browser;
# - node/npm and go are used when present (dev.py installs the npm peers and tests build Go peers).
set -euo pipefail
cd "$(dirname "$0")/.."
: > .ci/env

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a scratch cluster of our own (data dir under /tmp, own port), so it neither needs
# nor disturbs the distribution's cluster. Admin work goes over the cluster's Unix socket (inside
# the 0700 data dir, trust); TCP on 127.0.0.1 requires a password (scram). Re-running reuses
# a running cluster, restarts a stopped one and re-creates a broken data dir.
# Tunables: KITE_PG_DATA (default /tmp/kite-ci-postgres), KITE_PG_PORT (default 54329).
# ---------------------------------------------------------------------------------------------
PG_DATA="${KITE_PG_DATA:-/tmp/kite-ci-postgres}"
PG_PORT="${KITE_PG_PORT:-54329}"

pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    fi
}

PG_BIN=$(pg_bindir)
if [ -z "$PG_BIN" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-peers: PostgreSQL is missing and we are not root; cannot apt-get install it" >&2
        exit 1
    fi
    echo "install-peers: installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q postgresql
    PG_BIN=$(pg_bindir)
    if [ -z "$PG_BIN" ]; then
        echo "install-peers: postgresql installed but no /usr/lib/postgresql/*/bin/initdb" >&2
        exit 1
    fi
fi
PG_MAJOR=$(basename "$(dirname "$PG_BIN")")

# initdb and the server refuse to run as root: use the `postgres` account then.
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    PG_USER=postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

if [ -f "$PG_DATA/PG_VERSION" ] && [ "$(cat "$PG_DATA/PG_VERSION")" != "$PG_MAJOR" ]; then
    echo "install-peers: $PG_DATA is from PostgreSQL $(cat "$PG_DATA/PG_VERSION"), re-creating"
    pg_running && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop || true
    rm -rf "$PG_DATA"
fi
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DATA"
    chown "$PG_USER" "$PG_DATA"
    chmod 0700 "$PG_DATA"
    echo "install-peers: initdb $PG_DATA (PostgreSQL $PG_MAJOR)"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DATA.initdb.log" 2>&1 || {
        cat "$PG_DATA.initdb.log" >&2
        exit 1
    }
fi

start_pg() {
    # Test-only durability settings: a CI scratch cluster need not survive a power cut.
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
        start >/dev/null 2>&1
}
pg_ready() { as_pg "$PG_BIN/pg_isready" -q -h "$PG_DATA" -p "$PG_PORT"; }
# Start if needed and wait until the server accepts connections. After an unclean stop the old
# server's children may linger for a moment and make a start fail: then try again.
pg_ok=no
for attempt in 1 2 3 4; do
    if ! pg_running; then
        echo "install-peers: starting PostgreSQL on 127.0.0.1:$PG_PORT (attempt $attempt)"
        start_pg || true
    fi
    for _ in $(seq 1 40); do
        if pg_ready; then
            pg_ok=yes
            break 2
        fi
        pg_running || break
        sleep 0.5
    done
    sleep 2
done
if [ "$pg_ok" != yes ]; then
    echo "install-peers: PostgreSQL did not start; its log says:" >&2
    tail -n 30 "$PG_DATA/server.log" >&2 || true
    exit 1
fi

pg_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DATA" -p "$PG_PORT" -U postgres -d postgres "$@"; }
pg_admin -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kite') THEN
        CREATE ROLE kite LOGIN PASSWORD 'kite';
    END IF;
END \$\$;"
if [ -z "$(pg_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = 'kite'")" ]; then
    pg_admin -c "CREATE DATABASE kite OWNER kite"
fi

{
    echo "export KITE_TEST_POSTGRES_DSN=postgresql://kite:kite@127.0.0.1:$PG_PORT/kite"
    echo "export KITE_TEST_PG_BIN=$PG_BIN"
} >> .ci/env
echo "install-peers: PostgreSQL $PG_MAJOR ready on 127.0.0.1:$PG_PORT (database kite)"

# ---------------------------------------------------------------------------------------------
# Chromium: the browser test (tests/test_browser.py) drives Debian's headless `chromium` over
# its DevTools protocol; `chromium-driver` comes along for WebDriver users. Installed once;
# without root or apt the browser test skips with the reason.
# ---------------------------------------------------------------------------------------------
install_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        echo "install-peers: chromium $(chromium --version 2>/dev/null | awk '{print $2}') present"
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install-peers: chromium is missing and cannot be apt-get installed here: the browser test will be skipped"
        return 0
    fi
    echo "install-peers: installing chromium and chromium-driver (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q chromium chromium-driver
}
install_chromium

# ---------------------------------------------------------------------------------------------
# Go peers (conformance/go): the real koding/kite programs gomath, goclient, gokontrol, goquery.
# With `go` present: download the pinned modules (warms the module cache) and build the programs
# into conformance/go/bin/ with Go 1.19.13 (GOTOOLCHAIN; the family that recorded the captures),
# falling back to the local toolchain. Without `go`, or when the build fails, tests marked `go`
# skip with the reason. Tunable: KITE_GO_TOOLCHAIN (e.g. `local`).
# ---------------------------------------------------------------------------------------------
install_go_peers() {
    local go
    go=$(command -v go || true)
    if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then
        go=/usr/local/go/bin/go
    fi
    if [ -z "$go" ]; then
        echo "install-peers: go not found: tests marked go will be skipped"
        return 0
    fi
    local want="${KITE_GO_TOOLCHAIN:-go1.19.13}" toolchain
    for toolchain in "$want" local; do
        echo "install-peers: building the Go peers with GOTOOLCHAIN=$toolchain"
        if (cd conformance/go &&
            export GOTOOLCHAIN="$toolchain" GOFLAGS=-mod=readonly &&
            "$go" mod download &&
            "$go" build -o bin/ ./cmd/... &&
            echo "$toolchain" > bin/.toolchain); then
            echo "install-peers: Go peers built in conformance/go/bin ($toolchain)"
            return 0
        fi
        [ "$toolchain" = local ] && break
    done
    echo "install-peers: building the Go peers failed: tests marked go will be skipped" >&2
}
install_go_peers

# ---------------------------------------------------------------------------------------------
# libfaketime (Debian's `faketime`): the tests that run the replay with the machine's clock years
# ahead preload it into a child process (conformance/tests/test_replay_clock.py).
# ---------------------------------------------------------------------------------------------
if ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "install-peers: installing libfaketime (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q faketime || { apt-get update -q && apt-get install -y -q faketime; } ||
            echo "install-peers: could not install libfaketime: the clock tests will fail" >&2
    else
        echo "install-peers: libfaketime is missing and we are not root: the clock tests will skip"
    fi
fi

echo "install-peers: done"
