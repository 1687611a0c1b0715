#!/usr/bin/env bash
# What the tests' real services need on this machine, installed once (idempotent, safe to run
# concurrently). test/global-setup.ts starts the services themselves on loopback.
#   (a) PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql,
#       leaving the Debian default cluster stopped (the tests run throwaway clusters of their own).
#   (b) The jars of the Kafka broker testkit/services/kafka/pom.xml pins, copied by Maven into
#       the cache (kafka_libs in scripts/common.sh).
#   (c) A Docker engine: none is installed when one answers (DOCKER_HOST, else the default
#       socket); else Debian's docker.io, not started (the tests start a dockerd of their own);
#       mmdebstrap, which builds the test images; shellcheck, which lints the shell scripts.
# Timings go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/common.sh
source scripts/common.sh
pom="$PWD/testkit/services/kafka/pom.xml"

t_start=$EPOCHREALTIME
elapsed() { # seconds since $1, e.g. 1.234
    local now=$EPOCHREALTIME
    awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}
log() { echo "test-services: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

have_postgres_server() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

# Installs Debian packages without letting them start services: invoke-rc.d asks policy-rc.d,
# and exit status 101 means "action not allowed". Only a policy-rc.d of ours is removed afterwards.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "no apt-get to install: $*"
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        own_policy=1
    fi
    local status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 || status=$?
    if [ "$own_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
    [ "$status" -eq 0 ] || die "apt-get install $* failed (exit $status)"
}

# --- (a) PostgreSQL server binaries -------------------------------------------------------------
t=$EPOCHREALTIME
if have_postgres_server; then
    log "postgresql: $(printf '%s ' /usr/lib/postgresql/*/bin/initdb)already installed ($(elapsed "$t")s)"
else
    log "postgresql: installing with apt-get ..."
    apt_install postgresql
    # Belt and braces, in case a cluster was started anyway (no policy-rc.d support, systemd).
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header 2>/dev/null | while read -r ver name _port status _rest; do
            if [ "$status" = online ]; then
                log "postgresql: stopping the default cluster $ver/$name"
                as_root pg_ctlcluster "$ver" "$name" stop || true
            fi
        done
    fi
    have_postgres_server || die "apt-get installed postgresql but there is still no /usr/lib/postgresql/*/bin/initdb"
    log "postgresql: installed ($(elapsed "$t")s)"
fi

# --- (b) Kafka broker jars ----------------------------------------------------------------------
t=$EPOCHREALTIME
kafka_dir="$(dirname "$kafka_libs")"
libs="$kafka_libs"
marker="$libs/.jss-complete"
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
mkdir -p "$kafka_dir"

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$pom_sum" ]; then
    log "kafka $kafka_version: jars already in $libs ($(elapsed "$t")s)"
else
    command -v java >/dev/null 2>&1 || die "no java on PATH (the Kafka broker needs a JDK/JRE 17+)"
    command -v mvn >/dev/null 2>&1 || die "no mvn on PATH (needed once to fetch the Kafka jars)"
    # One fetch at a time: concurrent runs wait here, then find the marker.
    exec 9>"$kafka_dir/.lock"
    flock 9
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$pom_sum" ]; then
        log "kafka $kafka_version: jars fetched by a concurrent run into $libs ($(elapsed "$t")s)"
    else
        log "kafka $kafka_version: fetching jars with Maven into $libs ..."
        staging="$kafka_dir/libs.tmp.$$"
        rm -rf "$staging"
        mvn_log="$kafka_dir/mvn.log"
        if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$staging" >"$mvn_log" 2>&1; then
            cat "$mvn_log" >&2
            rm -rf "$staging"
            die "mvn dependency:copy-dependencies failed for $pom (output above, also in $mvn_log)"
        fi
        for jar in kafka_2.13-$kafka_version.jar kafka-tools-$kafka_version.jar slf4j-reload4j-1.7.36.jar; do
            [ -f "$staging/$jar" ] || { rm -rf "$staging"; die "Maven did not copy $jar"; }
        done
        echo "$pom_sum" >"$staging/.jss-complete"
        rm -rf "$libs"
        mv "$staging" "$libs"
        log "kafka $kafka_version: $(find "$libs" -name '*.jar' | wc -l) jars in $libs ($(elapsed "$t")s)"
    fi
    flock -u 9
fi

# --- (c) Docker engine and mmdebstrap -----------------------------------------------------------
t=$EPOCHREALTIME
missing=()
if command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    log "docker: a daemon answers at ${DOCKER_HOST:-the default socket}; the tests use it"
elif ! command -v docker >/dev/null 2>&1 || { [ ! -x /usr/sbin/dockerd ] && [ ! -x /usr/bin/dockerd ]; }; then
    missing+=(docker.io)
fi
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck) # the suite lints the scripts
if [ "${#missing[@]}" -gt 0 ]; then
    log "docker: installing ${missing[*]} with apt-get ..."
    apt_install "${missing[@]}"
    log "docker: installed ($(elapsed "$t")s)"
else
    log "docker: dockerd, mmdebstrap and shellcheck already installed ($(elapsed "$t")s)"
fi

log "ready ($(elapsed "$t_start")s in all)"
