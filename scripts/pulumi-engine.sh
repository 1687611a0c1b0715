#!/usr/bin/env bash
# Makes the real Pulumi engine available without downloading any prebuilt binary: the CLI, the
# Node.js language host and the Kafka resource plugin are built from the Go module proxy, once,
# into a cache; later runs only check the cache.
#
#   PATH="$(bash scripts/pulumi-engine.sh):$PATH"
#
# The LAST line of stdout is the absolute bin dir to put first on PATH (pulumi,
# pulumi-language-nodejs, pulumi-resource-pulumi-nodejs); all progress goes to stderr. The Kafka
# plugin is installed into ${PULUMI_HOME:-~/.pulumi}/plugins (`pulumi plugin install -f`).
#
# Cache: ${JSS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jaffle-shop-streaming}/pulumi-v<V>/
# (V = the @pulumi/pulumi version pinned in package.json). Go's module and build caches are the
# defaults, so a rebuild after the cache dir is removed is quick too.
#
# The proxy this project can reach does not serve every module version, so some pieces differ
# from the npm pins; scripts/ENGINE_NOTES.md records what is built and why:
#   - CLI: github.com/pulumi/pulumi/pkg/v3 at V, the SDK's version (package.json pins one the proxy serves).
#   - Language host: the separate pulumi-language-nodejs module is not served at all; the newest
#     sdk/v3 release that still contains it (LANGHOST_SDK_VERSION) is built instead.
#   - Kafka plugin: github.com/pulumi/pulumi-kafka/provider/v3 is not served at all; a small
#     local bridge of the same upstream Terraform provider, with the same tokens and property
#     names as the @pulumi/kafka SDK, is built and installed as kafka <K>.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- pins: module versions the Go module proxy actually serves (see ENGINE_NOTES.md) ----------
LANGHOST_SDK_VERSION=3.68.0  # newest served sdk/v3 that still holds nodejs/cmd/pulumi-language-nodejs
# @pulumi/kafka version -> upstream github.com/Mongey/terraform-provider-kafka version it wraps.
declare -A KAFKA_UPSTREAM=([3.13.2]=v0.13.1)
KAFKA_BRIDGE_VERSION=v3.127.0 # github.com/pulumi/pulumi-terraform-bridge/v3
# The bridge needs Pulumi's fork of terraform-plugin-sdk/v2: the replace from the bridge's go.mod.
KAFKA_TF_SDK_FORK=v2.0.0-20260318212141-5525259d096b
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
    local name="$1" v
    v="$(sed -n "s/^ *\"${name//\//\\/}\": *\"\\([^\"]*\\)\".*/\\1/p" "$repo/package.json" | head -n1)"
    [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json: expected an exact version for $name, got '${v}'"
    echo "$v"
}

# Prints the module cache dir of module@version (downloading it), or fails, printing the proxy's
# answer, when the proxy does not serve that version. Runs in a throwaway module of its own so
# that no go.mod around the cache dir interferes.
module_dir() {
    local out dir
    mkdir -p "$work/dl"
    [ -f "$work/dl/go.mod" ] || printf 'module dl\n' >"$work/dl/go.mod"
    out="$(cd "$work/dl" && GOFLAGS= go mod download -json "$1" 2>&1)" || true
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
    pkg_dir="$(module_dir "github.com/pulumi/pulumi/pkg/v3@v$V")" &&
        sdk_dir="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$V")" ||
        die "the Go module proxy does not serve github.com/pulumi/pulumi/pkg/v3@v$V (or sdk/v3): pin @pulumi/pulumi in package.json to a version whose pkg/v3 zip it serves (see scripts/ENGINE_NOTES.md)"

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

# ---- the Kafka resource plugin ------------------------------------------------------------------
# Writes the Go module of the local bridge into $1: the upstream Terraform provider mapped onto the
# tokens and property names of the published @pulumi/kafka SDK (which it must match, since the SDK
# is pre-generated).
write_kafka_module() {
    local dir="$1" upstream="$2"
    mkdir -p "$dir/info" "$dir/cmd/pulumi-tfgen-kafka" "$dir/cmd/pulumi-resource-kafka"
    cat >"$dir/go.mod" <<EOF
module jaffle-shop-streaming/kafka-provider

go 1.25.8

require (
	github.com/Mongey/terraform-provider-kafka $upstream
	github.com/pulumi/pulumi-terraform-bridge/v3 $KAFKA_BRIDGE_VERSION
)

replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 $KAFKA_TF_SDK_FORK
EOF
    cat >"$dir/info/info.go" <<'EOF'
// Package info maps the Terraform Kafka provider onto the Pulumi tokens and property names of the
// published @pulumi/kafka SDK.
package info

import (
	kafka "github.com/Mongey/terraform-provider-kafka/kafka"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is set with -ldflags "-X jaffle-shop-streaming/kafka-provider/info.Version=...".
var Version = "0.0.1-dev"

func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(kafka.Provider()),
		Name:        "kafka",
		Version:     Version,
		DisplayName: "Kafka",
		Description: "Kafka resources: a local build bridging Mongey/terraform-provider-kafka.",
		License:     "Apache-2.0",
		GitHubOrg:   "Mongey",
		Resources: map[string]*tfbridge.ResourceInfo{
			"kafka_topic": {Tok: "kafka:index/topic:Topic"},
			"kafka_acl": {
				Tok: "kafka:index/acl:Acl",
				Fields: map[string]*tfbridge.SchemaInfo{
					"resource_name": {Name: "aclResourceName"},
					"resource_type": {Name: "aclResourceType"},
				},
			},
			"kafka_quota":                 {Tok: "kafka:index/quota:Quota"},
			"kafka_user_scram_credential": {Tok: "kafka:index/userScramCredential:UserScramCredential"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"kafka_topic":  {Tok: "kafka:index:getTopic"},
			"kafka_topics": {Tok: "kafka:index:getTopics"},
		},
	}
	// The SDK's Topic.name is optional: Pulumi auto-names topics.
	prov.SetAutonaming(255, "-")
	return prov
}
EOF
    cat >"$dir/cmd/pulumi-tfgen-kafka/main.go" <<'EOF'
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"jaffle-shop-streaming/kafka-provider/info"
)

func main() { tfgen.Main("kafka", info.Version, info.Provider()) }
EOF
    cat >"$dir/cmd/pulumi-resource-kafka/main.go" <<'EOF'
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"jaffle-shop-streaming/kafka-provider/info"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.Main("kafka", info.Version, info.Provider(), schema) }
EOF
}

# Builds the plugin binary into $plugins/ (kept there, so another PULUMI_HOME needs no rebuild).
build_kafka() {
    local t=$EPOCHREALTIME upstream="${KAFKA_UPSTREAM[$K]:-}" kw="$work/kafka"
    [ -n "$upstream" ] || die "no upstream Terraform provider version known for @pulumi/kafka $K: add it to KAFKA_UPSTREAM"
    local recipe="kafka $K upstream $upstream bridge $KAFKA_BRIDGE_VERSION fork $KAFKA_TF_SDK_FORK rev$RECIPE_REV"
    kafka_bin="$plugins/pulumi-resource-kafka-v$K"
    up_to_date "$kafka_bin" "$recipe" && return
    log "building the kafka $K plugin (terraform-provider-kafka $upstream, bridge $KAFKA_BRIDGE_VERSION)..."
    rm -rf "$kw"
    write_kafka_module "$kw/provider" "$upstream"
    local ldflags="-X jaffle-shop-streaming/kafka-provider/info.Version=$K"
    (
        cd "$kw/provider"
        # No go.sum is shipped: resolve it (checked against the checksum database as usual).
        go mod tidy
        "${GO_BUILD[@]}" -ldflags "-s -w $ldflags" -o "$kw/bin/pulumi-tfgen-kafka" ./cmd/pulumi-tfgen-kafka
        # schema.json is embedded into the plugin, so generate it first, as the provider repos'
        # Makefiles do. Run from the parent so tfgen finds ./provider/go.mod to locate the upstream
        # docs; examples would need `pulumi convert` with the terraform converter plugin: skipped.
        cd "$kw"
        PULUMI_HOME="$kw/pulumi-home" PULUMI_CONVERT=0 \
            "$kw/bin/pulumi-tfgen-kafka" schema --skip-examples --out provider/cmd/pulumi-resource-kafka >"$kw/tfgen.log" 2>&1 ||
            {
                cat "$kw/tfgen.log" >&2
                die "tfgen schema failed"
            }
        cd "$kw/provider"
        "${GO_BUILD[@]}" -ldflags "-s -w $ldflags" -o "$kafka_bin" ./cmd/pulumi-resource-kafka
    )
    stamp "$kafka_bin" "$recipe"
    log "built the kafka $K plugin in $(elapsed "$t") s"
}

# Installs our build as resource plugin kafka K into PULUMI_HOME unless a kafka K is there already.
# One that this script installed from an older recipe is replaced.
install_kafka() {
    local pulumi_bin="$1" home="${PULUMI_HOME:-$HOME/.pulumi}"
    local installed="$home/plugins/resource-kafka-v$K/pulumi-resource-kafka"
    local marker="$home/plugins/resource-kafka-v$K/.built-by-jaffle-shop-streaming"
    if "$pulumi_bin" plugin ls --json 2>/dev/null | tr -d ' \n' |
        grep -q "\"name\":\"kafka\",\"kind\":\"resource\",\"version\":\"$K\""; then
        if [ ! -f "$marker" ] || cmp -s "$kafka_bin" "$installed"; then
            return
        fi
        log "replacing the stale kafka $K plugin this script installed earlier"
        "$pulumi_bin" plugin rm resource kafka "$K" --yes >&2
    fi
    "$pulumi_bin" plugin install resource kafka "$K" -f "$kafka_bin" >&2
    touch "$marker"
}

main() {
    command -v go >/dev/null 2>&1 || die "Go (1.25.8 or newer) is needed to build the Pulumi engine"
    V="$(read_pin @pulumi/pulumi)"
    K="$(read_pin @pulumi/kafka)"
    local cache_root="${JSS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jaffle-shop-streaming}"
    engine="$cache_root/pulumi-v$V"
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
    ambient_version="$([ -n "$ambient" ] && "$ambient" version 2>/dev/null || true)"
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
    build_kafka
    install_kafka "$bin_dir/pulumi"

    rm -rf "$work"
    log "ready: pulumi $("$bin_dir/pulumi" version), kafka plugin $K ($(elapsed "$t_start") s)"
    echo "$bin_dir"
}

main "$@"
