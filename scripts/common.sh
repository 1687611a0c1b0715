# shellcheck shell=bash
# What the scripts share, defined once; sourced by them.
# lib/cacheDir.ts and testkit/services/kafka.ts follow the same rules for TypeScript, and
# test/scripts.test.ts checks that both sides agree.

# Where the engine, the Kafka jars and the test images' root file systems are built and kept.
# Without HOME, the user's home from the password database, as Node's os.homedir() does.
jss_cache_dir="${JSS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache}/jaffle-shop-streaming}"
# The Kafka version of the test broker, as its pom pins it.
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "${BASH_SOURCE[0]}")/../testkit/services/kafka/pom.xml")"
# The broker's jars, copied there by scripts/test-services.sh. (Used by the scripts that source this.)
# shellcheck disable=SC2034
kafka_libs="$jss_cache_dir/kafka-$kafka_version/libs"
