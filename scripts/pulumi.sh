#!/usr/bin/env bash
# Runs a pulumi command on a stack with a local file state backend, no Pulumi account needed:
# `npm run up` (the main job: the whole playground on local Docker), `npm run preview`,
# `npm run destroy`, `npm run output` (and the producer commands, which read the outputs through
# it). STACK picks the stack (default dev); extra arguments go to pulumi. The one place that
# says where the state is.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x node_modules/.bin/node ] || npm ci --no-audit --no-fund
export PATH="$PWD/node_modules/.bin:$PATH"
if ! command -v pulumi >/dev/null 2>&1; then
    PATH="$(bash scripts/pulumi-engine.sh):$PATH"
fi

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
# Local stacks hold no secrets; set a real passphrase for stacks that do.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"

stack="${STACK:-dev}"
command="$1"
shift
case "$command" in
    # Reading a stack never creates one.
    # The stack after the subcommand, so that a --stack of the user's, later, wins.
    stack) pulumi stack "${@:1:1}" --stack "$stack" "${@:2}" ;;
    up | destroy)
        pulumi stack select "$stack" --create
        pulumi "$command" --yes "$@"
        ;;
    *)
        pulumi stack select "$stack" --create
        pulumi "$command" "$@"
        ;;
esac
