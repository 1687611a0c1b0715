#!/usr/bin/env bash
# Builds the Docker images that stand in for Redpanda's and Materialize's in the tests (no image
# can be pulled here), into the daemon DOCKER_HOST names. Each is a Debian bookworm root file
# system made by mmdebstrap from test/images/NAME/packages, with test/images/NAME/rootfs laid over
# it, imported with `docker import`. What each implements is said in its scripts and the README.
#
#   bash scripts/test-images.sh   ->  stdout: "broker=jss-test/redpanda:<hash>" and
#                                     "materialize=jss-test/materialize:<hash>"
#
# The tag is a hash of the recipe (and, for the broker, of the Kafka jars' pom), so a changed
# recipe makes a new image. Root file systems are cached as tarballs in the images directory of
# the cache (scripts/common.sh), so a fresh
# daemon only imports them (seconds). Needs root (or sudo) for mmdebstrap and its apt sources.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/common.sh
source scripts/common.sh
log() { echo "test-images: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else die "need root (or sudo) to run: $*"; fi
}

# The host's own apt sources, so the images come from the mirror this machine already uses.
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
        [ -f "$f" ] && grep -qE '^(Types: *deb|deb )' "$f" && { echo "$f"; return; }
    done
    die "no Debian apt sources found in /etc/apt"
}

recipe_hash() { # $1 = image dir
    {
        (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        sha256sum <"$0"
        [ "$(basename "$1")" != broker ] || cat "$kafka_libs/.jss-complete"
    } | sha256sum | cut -c1-12
}

build_rootfs() { # $1 = image dir, $2 = tarball
    local dir="$1" tar="$2" extra=()
    command -v mmdebstrap >/dev/null 2>&1 || {
        log "installing mmdebstrap with apt-get ..."
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2
    }
    if [ "$(basename "$dir")" = broker ]; then
        [ -f "$kafka_libs/.jss-complete" ] || die "no Kafka jars in $kafka_libs: run bash scripts/test-services.sh first"
        extra+=(--customize-hook="mkdir -p \"\$1/opt/kafka\"" --customize-hook="copy-in $kafka_libs /opt/kafka")
    fi
    as_root mmdebstrap --variant=essential --quiet \
        --include="$(paste -sd, "$dir/packages")" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        "${extra[@]}" \
        --customize-hook="sync-in $dir/rootfs /" \
        bookworm "${tar%.tar}.partial.tar" "$(apt_sources)" >&2
    mv "${tar%.tar}.partial.tar" "$tar"
}

ensure_image() { # $1 = image dir, $2 = repository, $3... = docker import --change lines
    local dir="$1" repository="$2" hash tar t=$EPOCHREALTIME
    shift 2
    hash="$(recipe_hash "$dir")"
    local image="$repository:$hash"
    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image: already in the daemon"
    else
        tar="$jss_cache_dir/images/$(basename "$dir")-$hash.tar"
        if [ ! -f "$tar" ]; then
            log "$image: building the root file system with mmdebstrap (about a minute) ..."
            mkdir -p "$jss_cache_dir/images"
            rm -f "$jss_cache_dir/images/$(basename "$dir")"-*.tar
            build_rootfs "$dir" "$tar"
        fi
        local changes=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            --change "LABEL jaffle-shop-streaming.test-image=$(basename "$dir")")
        for change in "$@"; do changes+=(--change "$change"); done
        docker import "${changes[@]}" "$tar" "$image" >/dev/null
        log "$image: imported ($(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"
    fi
    echo "$(basename "$dir")=$image"
}

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker daemon at ${DOCKER_HOST:-the default socket}"
ensure_image test/images/broker jss-test/redpanda
ensure_image test/images/materialize jss-test/materialize 'CMD ["/usr/local/bin/materialized"]'
