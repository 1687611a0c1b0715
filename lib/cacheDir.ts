import * as os from "node:os";
import * as path from "node:path";

/**
 * Where the engine, the Kafka jars and the test images are built and kept, as the scripts compute
 * it: ${JSS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jaffle-shop-streaming}.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env.JSS_CACHE_DIR) return env.JSS_CACHE_DIR;
    return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "jaffle-shop-streaming");
}
