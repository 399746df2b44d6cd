#!/usr/bin/env bash
# Install and start the real peers the test suite talks to (idempotent; needs root for apt).
# - PostgreSQL (Debian's package) on 127.0.0.1:5432 with a `kite` database, exported as
#   KITE_TEST_POSTGRES_DSN through .ci/env for the tests;
# - node/npm and go are used when present (dev.py installs the npm peers and tests build Go peers).
set -euo pipefail
cd "$(dirname "$0")/.."
: > .ci/env

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

echo "install-peers: done"
