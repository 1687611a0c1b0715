#!/usr/bin/env bash
# The test command (`npm test`): sets up everything the suite needs on a fresh machine, then runs
# the type check and every test. Services (Kafka, PostgreSQL) are started by vitest's globalSetup.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/vitest ] || [ ! -x node_modules/.bin/node ]; then
    npm ci --no-audit --no-fund
fi
# Node 22 ships inside the `node` dev dependency; the system's may be older.
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/test-services.sh                 # PostgreSQL server binaries, Kafka jars
engine_bin="$(bash scripts/pulumi-engine.sh)" # Pulumi CLI, language host, plugins
export PATH="$engine_bin:$PATH"

echo "type check: tsc --noEmit" >&2
tsc --noEmit -p .
exec vitest run "$@"
