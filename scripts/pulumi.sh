#!/usr/bin/env bash
# Runs a pulumi command on a stack with a local file state backend, no Pulumi account needed:
# `npm run up` (the main job: the whole playground on local Docker), `npm run preview`,
# `npm run refresh`, `npm run destroy`, `npm run output` (and the producer commands, which read
# the outputs through it). STACK picks the stack (default dev); extra arguments go to pulumi.
# The one place that says where the state is.
#
# Every pulumi command names its stack (--stack), and none selects one: two commands on two stacks
# at once never act on each other's, whatever stack the workspace has selected.
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

say() { echo "[pulumi.sh] $*" >&2; }

# Creates the stack where it does not exist yet; selects nothing (see above).
ensure_stack() {
    local out
    out="$(pulumi stack init "$stack" --no-select 2>&1)" && return 0
    # A locked stack exists too; the command itself says whose lock it is.
    grep -q -e "already exists" -e "is currently locked" <<<"$out" && return 0
    echo "$out" >&2
    return 1
}

# Prints what the stack's state says, one line per fact: "docker <urn>" for each Docker resource,
# "pending <op> <type> <name> <urn>" for each operation an interrupted run left unfinished.
state_facts() {
    pulumi stack export --stack "$stack" | node -e '
        const deployment = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment ?? {};
        for (const r of deployment.resources ?? []) if (r.type.startsWith("docker:")) console.log("docker " + r.urn);
        for (const p of deployment.pending_operations ?? []) {
            const r = p.resource;
            console.log(["pending", p.type, r.type, r.inputs?.name ?? "-", r.urn].join(" "));
        }'
}

# Whether a process runs: one killed but not yet reaped by its parent (a zombie) does not.
running() {
    local state
    state="$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)"
    [ -n "$state" ] && [ "$state" != Z ]
}

# A lock left by a pulumi process of this machine that no longer runs (killed, laptop closed) is
# released with `pulumi cancel`. A live process's lock, or another machine's, stays.
release_stale_lock() {
    [[ "$PULUMI_BACKEND_URL" == file://* ]] || return 0
    local project lock_dir lock pid lock_host stale=()
    project="$(node -p 'require("js-yaml").load(require("fs").readFileSync("Pulumi.yaml", "utf8")).name')"
    lock_dir="${PULUMI_BACKEND_URL#file://}/.pulumi/locks/organization/$project/$stack"
    for lock in "$lock_dir"/*.json; do
        [ -e "$lock" ] || continue
        read -r pid lock_host < <(node -p 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); l.pid + " " + l.hostname' "$lock")
        if [ "$lock_host" != "$(hostname)" ] || running "$pid"; then
            return 0
        fi
        stale+=("$pid")
    done
    [ "${#stale[@]}" -gt 0 ] || return 0
    say "releasing the lock of an earlier run on $stack (process ${stale[*]} is gone)"
    pulumi cancel --yes --stack "$stack" >/dev/null
}

# Plugins of a killed run keep running (each in a process group of its own): those started in this
# project directory whose parent is no longer a pulumi process are stopped, with their children.
stop_orphaned_plugins() {
    local here proc pid ppid
    here="$(pwd -P)"
    for proc in /proc/[0-9]*; do
        pid="${proc#/proc/}"
        tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -e 'pulumi-resource-' -e 'pulumi-language-' || continue
        [ "$(readlink "$proc/cwd" 2>/dev/null)" = "$here" ] || continue
        ppid="$(awk '/^PPid:/ { print $2 }' "$proc/status" 2>/dev/null)"
        [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" != pulumi ] || continue
        say "stopping plugin process $pid, left running by an interrupted run"
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done
}

# An interrupted up may have created containers, networks or volumes it never recorded (pending
# creates): those that carry this stack's label are removed, so that the up creates them again.
# Anything else is left, with the commands to finish by hand. Prints "pending" when there were some.
remove_pending_creates() {
    local facts="$1" op type name urn other=()
    grep -q '^pending ' <<<"$facts" || return 0
    while read -r _ op type name urn; do
        if [ "$op" = creating ] && [[ "$type" =~ ^docker:index/(container|network|volume): ]] && [ "$name" != - ]; then
            local kind="${BASH_REMATCH[1]}" labels='.Labels'
            [ "$kind" = container ] && labels='.Config.Labels'
            if [ "$(docker "$kind" inspect --format "{{index $labels \"jaffle-shop-streaming.stack\"}}" "$name" 2>/dev/null)" = "jaffle-$stack" ]; then
                say "removing $kind $name: an interrupted run created it but never recorded it"
                docker "$kind" rm -f "$name" >/dev/null
            fi
        else
            other+=("$op $urn")
        fi
    done < <(grep '^pending ' <<<"$facts")
    if [ "${#other[@]}" -gt 0 ]; then
        say "an interrupted run left operations this script does not undo by itself:"
        printf '  %s\n' "${other[@]}" >&2
        say "check each (does it exist?), then: STACK=$stack npm run refresh -- --clear-pending-creates"
        exit 1
    fi
    echo pending
}

# Containers removed by hand, or gone with a restarted Docker daemon, are noticed before the up,
# which then brings them back. Only the Docker resources are read: a read of the topics would fail
# while their broker is missing.
refresh_containers() {
    local facts="$1" extra=("${@:2}") targets
    targets="$(sed -n 's/^docker /--target /p' <<<"$facts")"
    [ -n "$targets" ] || [ "${#extra[@]}" -gt 0 ] || return 0
    # shellcheck disable=SC2086 # one --target and one URN per word
    pulumi refresh --yes --skip-preview --stack "$stack" "${extra[@]}" $targets
}

case "$command" in
    # Reading a stack never creates one.
    # The stack after the subcommand, so that a --stack of the user's, later, wins.
    stack) pulumi stack "${@:1:1}" --stack "$stack" "${@:2}" ;;
    up)
        release_stale_lock
        stop_orphaned_plugins
        ensure_stack
        facts="$(state_facts)"
        pending="$(remove_pending_creates "$facts")"
        refresh_containers "$facts" ${pending:+--clear-pending-creates}
        pulumi up --yes --stack "$stack" "$@"
        ;;
    destroy)
        ensure_stack
        pulumi destroy --yes --stack "$stack" "$@"
        ;;
    # Without its preview: refresh's preview fails where a read fails, and would record nothing.
    refresh)
        ensure_stack
        pulumi refresh --yes --skip-preview --stack "$stack" "$@"
        ;;
    *)
        ensure_stack
        pulumi "$command" --stack "$stack" "$@"
        ;;
esac
