#!/usr/bin/env bash
# Makes the real Pulumi engine available without downloading any prebuilt binary. What is already
# installed is used first: a `pulumi` on PATH at the SDK's version (with its language host beside
# it), and resource plugins of the SDK versions already in PULUMI_HOME. Whatever is missing is
# built from the Go module proxy, once, into a cache; later runs only check the cache.
#
#   PATH="$(bash scripts/pulumi-engine.sh):$PATH"
#
# The LAST line of stdout is the absolute bin dir to put first on PATH (pulumi,
# pulumi-language-nodejs, pulumi-resource-pulumi-nodejs); all progress goes to stderr. The kafka
# and docker plugins are installed into ${PULUMI_HOME:-~/.pulumi}/plugins (`pulumi plugin install -f`).
#
# Cache: pulumi-v<V>/ in the cache directory (scripts/common.sh)
# (V = the @pulumi/pulumi version pinned in package.json). Go's module and build caches are the
# defaults, so a rebuild after the cache dir is removed is quick too.
#
# The proxy this project can reach does not serve every module version, so some pieces differ
# from the npm pins; scripts/ENGINE_NOTES.md records what is built and why:
#   - CLI: github.com/pulumi/pulumi/pkg/v3 at V, the SDK's version (package.json pins one the proxy serves).
#   - Language host: the separate pulumi-language-nodejs module is not served at all; the newest
#     sdk/v3 release that still contains it (LANGHOST_SDK_VERSION) is built instead.
#   - kafka and docker plugins: the pulumi-kafka and pulumi-docker provider modules are not served;
#     local bridges of the same upstream Terraform providers (providers/kafka, providers/docker),
#     with the tokens and property names of the @pulumi/kafka and @pulumi/docker SDKs (checked by
#     providers/check-schema.ts), are built and installed at the SDKs' versions.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$repo/scripts/common.sh"

# ---- pins: module versions the Go module proxy actually serves (see ENGINE_NOTES.md) ----------
LANGHOST_SDK_VERSION=3.68.0  # newest served sdk/v3 that still holds nodejs/cmd/pulumi-language-nodejs
# Bump to force a rebuild of everything when the recipes below change.
RECIPE_REV=1

t_start=$EPOCHREALTIME
log() { echo "pulumi-engine: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Version of a dependency pinned in package.json (exact x.y.z pins only).
read_pin() {
    local v
    v="$(node -p 'const p = require(process.argv[1]); p.dependencies[process.argv[2]] ?? p.devDependencies[process.argv[2]] ?? ""' "$repo/package.json" "$1")"
    [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json: expected an exact version for $1, got '${v}'"
    echo "$v"
}

need_go() { command -v go >/dev/null 2>&1 || die "Go (1.25.8 or newer) is needed to build $1; or install it (see the README's prerequisites)"; }

# Prints the module cache dir of module@version (downloading it), or fails, printing the proxy's
# answer, when the proxy does not serve that version. Runs in a throwaway module of its own so
# that no go.mod around the cache dir interferes.
module_dir() {
    local out dir
    mkdir -p "$work/dl"
    [ -f "$work/dl/go.mod" ] || printf 'module dl\n' >"$work/dl/go.mod"
    out="$(cd "$work/dl" && GOFLAGS='' go mod download -json "$1" 2>&1)" || true
    dir="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\n.*//' |
            sed "s/^/pulumi-engine:   /" >&2
        return 1
    fi
    echo "$dir"
}

# A writable copy of a (read-only) module cache dir.
copy_module() {
    rm -rf "$2"
    cp -r "$1" "$2"
    chmod -R u+w "$2"
}

# True when $1 exists and its stamp says it was built from recipe $2 (the stamps live outside the
# bin dir, which goes on PATH).
stamp_file() { echo "$engine/stamps/$(basename "$1").recipe"; }
up_to_date() { [ -x "$1" ] && [ "$(cat "$(stamp_file "$1")" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$(stamp_file "$1")"; }

GO_BUILD=(go build -trimpath -buildvcs=false)

# ---- the CLI ---------------------------------------------------------------------------------
# pkg/v3's go.mod replaces sdk/v3 with ../sdk, so both sources are laid side by side.
ensure_cli() {
    local t=$EPOCHREALTIME pkg_dir sdk_dir recipe="pulumi pkg/v3@v$V rev$RECIPE_REV"
    up_to_date "$bin/pulumi" "$recipe" && return
    need_go "the pulumi CLI"
    if ! pkg_dir="$(module_dir "github.com/pulumi/pulumi/pkg/v3@v$V")" ||
        ! sdk_dir="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$V")"; then
        die "the Go module proxy does not serve github.com/pulumi/pulumi/pkg/v3@v$V (or sdk/v3): pin @pulumi/pulumi in package.json to a version whose pkg/v3 zip it serves (see scripts/ENGINE_NOTES.md)"
    fi

    log "building pulumi v$V (cold: several minutes on 2 cores)..."
    copy_module "$pkg_dir" "$work/pkg"
    copy_module "$sdk_dir" "$work/sdk"
    (cd "$work/pkg" && "${GO_BUILD[@]}" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$V" \
        -o "$bin/pulumi" ./cmd/pulumi)
    stamp "$bin/pulumi" "$recipe"
    log "built pulumi v$V in $(elapsed "$t") s"
}

# ---- the Node.js language host ----------------------------------------------------------------
ensure_langhost() {
    local t=$EPOCHREALTIME v="$LANGHOST_SDK_VERSION" dir
    local recipe="pulumi-language-nodejs sdk/v3@v$v rev$RECIPE_REV"
    up_to_date "$bin/pulumi-language-nodejs" "$recipe" && return
    need_go "the Node.js language host"
    log "building pulumi-language-nodejs from sdk/v3@v$v..."
    dir="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$v")" || die "sdk/v3@v$v is not served by the Go module proxy"
    copy_module "$dir" "$work/sdk-langhost"
    (cd "$work/sdk-langhost" && "${GO_BUILD[@]}" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
        -o "$bin/pulumi-language-nodejs" ./nodejs/cmd/pulumi-language-nodejs)
    stamp "$bin/pulumi-language-nodejs" "$recipe"
    log "built pulumi-language-nodejs v$v in $(elapsed "$t") s"
}

# ---- the dynamic-provider shim ------------------------------------------------------------------
# A copy, not a symlink: the cache may outlive this checkout. It resolves @pulumi/pulumi from the
# program's directory at run time.
ensure_shim() {
    local src="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
    [ -f "$src" ] || die "$src not found: run npm ci first"
    cmp -s "$src" "$bin/pulumi-resource-pulumi-nodejs" 2>/dev/null && return
    install -m 0755 "$src" "$bin/pulumi-resource-pulumi-nodejs"
}

# ---- the resource plugins: local bridges -------------------------------------------------------
# providers/NAME is a Go module (go.mod and go.sum committed) bridging an upstream Terraform
# provider onto the tokens and property names of the published @pulumi/NAME SDK, which it must
# match since the SDK is pre-generated. Where providers/NAME/UPSTREAM names a module, a copy of it
# with providers/NAME/upstream-addon added is laid at ./upstream, which go.mod replaces it with.

tree_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

# Builds resource plugin $1 at version $2 into $plugins/ (kept there, so another PULUMI_HOME needs
# no rebuild) and sets plugin_bin. Further arguments: tokens of the SDK's native (not bridged) resources.
build_bridge() {
    local name="$1" version="$2" t=$EPOCHREALTIME
    shift 2
    local src="$repo/providers/$name" bw="$work/$name" upstream upstream_dir
    local recipe
    recipe="$name $version tree $(tree_hash "$src") checker $(sha256sum <"$repo/providers/check-schema.ts" | cut -c1-16) rev$RECIPE_REV"
    plugin_bin="$plugins/pulumi-resource-$name-v$version"
    up_to_date "$plugin_bin" "$recipe" && return
    need_go "the $name plugin"
    log "building the $name $version plugin from providers/$name (cold: minutes on 2 cores)..."
    rm -rf "$bw"
    mkdir -p "$bw"
    cp -r "$src" "$bw/provider"
    if [ -f "$src/UPSTREAM" ]; then
        upstream="$(tr -d '[:space:]' <"$src/UPSTREAM")"
        upstream_dir="$(module_dir "$upstream")" || die "the Go module proxy does not serve $upstream (providers/$name/UPSTREAM)"
        copy_module "$upstream_dir" "$bw/provider/upstream"
        cp -r "$src/upstream-addon/." "$bw/provider/upstream/"
    fi
    local ldflags="-s -w -X jaffle-shop-streaming/$name-provider/info.Version=$version"
    (
        cd "$bw/provider"
        "${GO_BUILD[@]}" -ldflags "$ldflags" -o "$bw/bin/pulumi-tfgen-$name" "./cmd/pulumi-tfgen-$name"
        # schema.json is embedded into the plugin, so it is generated first, as the provider repos'
        # Makefiles do; from the parent, where tfgen finds ./provider/go.mod. Examples would need
        # `pulumi convert` with the terraform converter plugin: skipped.
        cd "$bw"
        PULUMI_HOME="$bw/pulumi-home" PULUMI_CONVERT=0 \
            "$bw/bin/pulumi-tfgen-$name" schema --skip-examples --out "provider/cmd/pulumi-resource-$name" >"$bw/tfgen.log" 2>&1 ||
            {
                cat "$bw/tfgen.log" >&2
                die "tfgen schema failed for $name"
            }
        "$repo/node_modules/.bin/tsx" "$repo/providers/check-schema.ts" \
            "provider/cmd/pulumi-resource-$name/schema.json" "$repo/node_modules/@pulumi/$name" "$@" >&2 ||
            die "the $name bridge does not match @pulumi/$name $version (see above)"
        cd "$bw/provider"
        "${GO_BUILD[@]}" -ldflags "$ldflags" -o "$plugin_bin" "./cmd/pulumi-resource-$name"
    )
    stamp "$plugin_bin" "$recipe"
    log "built the $name $version plugin in $(elapsed "$t") s"
}

# Resource plugin $1 at the version its SDK pins, in PULUMI_HOME: one installed by other means is
# used as it is; else the local bridge is built and installed (replacing an older build of ours).
ensure_plugin() {
    local name="$1" pulumi_bin="$2" version home="${PULUMI_HOME:-$HOME/.pulumi}" listed=0
    shift 2
    version="$(read_pin "@pulumi/$name")"
    local dir="$home/plugins/resource-$name-v$version"
    if "$pulumi_bin" plugin ls --json 2>/dev/null | node -e '
        const [name, version] = process.argv.slice(1);
        const plugins = JSON.parse(require("fs").readFileSync(0, "utf8") || "[]") ?? [];
        process.exit(plugins.some(p => p.name === name && p.kind === "resource" && p.version === version) ? 0 : 1);
    ' "$name" "$version"; then
        listed=1
        if [ ! -f "$dir/.built-by-jaffle-shop-streaming" ]; then
            log "using the installed $name $version plugin"
            return
        fi
    fi
    build_bridge "$name" "$version" "$@"
    if [ "$listed" -eq 1 ]; then
        cmp -s "$plugin_bin" "$dir/pulumi-resource-$name" && return
        log "replacing the stale $name $version plugin this script installed earlier"
        "$pulumi_bin" plugin rm resource "$name" "$version" --yes >&2
    fi
    "$pulumi_bin" plugin install resource "$name" "$version" -f "$plugin_bin" >&2
    touch "$dir/.built-by-jaffle-shop-streaming"
}

main() {
    V="$(read_pin @pulumi/pulumi)"
    engine="$jss_cache_dir/pulumi-v$V"
    bin="$engine/bin"
    plugins="$engine/plugins"
    work="$engine/work"
    mkdir -p "$bin" "$plugins" "$engine/stamps"
    export PULUMI_SKIP_UPDATE_CHECK=1 # no network here but the package registries

    # One builder at a time (test.sh and pulumi.sh may run concurrently).
    exec 9>"$engine/.lock"
    flock 9

    rm -rf "$work"
    mkdir -p "$work"

    local bin_dir ambient ambient_version
    ambient="$(command -v pulumi 2>/dev/null || true)"
    ambient_version=""
    if [ -n "$ambient" ]; then ambient_version="$("$ambient" version 2>/dev/null || true)"; fi
    if [ -n "$ambient" ] && [ "$ambient_version" = "v$V" ] &&
        [ -x "$(dirname "$ambient")/pulumi-language-nodejs" ]; then
        bin_dir="$(cd "$(dirname "$ambient")" && pwd)"
        log "using pulumi $ambient_version from $bin_dir"
    else
        ensure_cli
        ensure_langhost
        ensure_shim
        bin_dir="$bin"
    fi
    ensure_plugin kafka "$bin_dir/pulumi"
    # Image is pulumi-docker's own (buildx) resource, not a bridged one; the program does not use it.
    ensure_plugin docker "$bin_dir/pulumi" docker:index/image:Image

    rm -rf "$work"
    log "ready: pulumi $("$bin_dir/pulumi" version), kafka and docker plugins ($(elapsed "$t_start") s)"
    echo "$bin_dir"
}

main "$@"
