import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadSqlProject } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";
import { CountChange, defaultReconnectForMs, maxReconnectDelayMs, renderSnapshot, watchedRelations, watchSnapshots } from "../watch/watch";
import { integerFlag, runCli } from "./run";
import { repoDir, resolveSqlEndpoint } from "./target";

const usage = `usage: npm run watch -- [--url postgres://...] [--poll [--interval MS]] [--once]

A live view of the marts and the failure views: row counts, the rows of failing views, and the
latest changes, pushed by Materialize's SUBSCRIBE the moment they happen. A server without
SUBSCRIBE (plain PostgreSQL) is polled instead, with a notice. When the connection is lost, the
last snapshot stays on screen and the watch reconnects, waiting 0.5 s, then twice as long each
time up to ${maxReconnectDelayMs / 1000} s, until --reconnect-for is up; then it exits 1.

  --url URL           the database (default: the stack's output psqlUrl; STACK picks the stack)
  --cluster NAME      the Materialize cluster the SUBSCRIBE runs in (default: with the stack's URL,
                      the stack's cluster; else the session's default)
  --poll              re-query the counts every --interval instead of SUBSCRIBE
  --interval MS       polling interval (default 1000)
  --once              print one snapshot and exit
  --reconnect-for S   seconds to keep trying to reconnect to a lost database (default ${defaultReconnectForMs / 1000})
  --sql-dir DIR       the SQL project whose relations are watched (default: sql)
  -h, --help          this help`;

/** How many changes the view keeps listing. */
const recentChangesShown = 10;

runCli(usage, async () => {
    const { values } = parseArgs({
        options: {
            url: { type: "string" },
            cluster: { type: "string" },
            poll: { type: "boolean" },
            interval: { type: "string", default: "1000" },
            once: { type: "boolean" },
            "reconnect-for": { type: "string", default: String(defaultReconnectForMs / 1000) },
            "sql-dir": { type: "string", default: path.join(repoDir, "sql") },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) {
        console.log(usage);
        return;
    }
    const intervalMs = integerFlag("interval", values.interval, { min: 10 })!;
    const reconnectForMs = integerFlag("reconnect-for", values["reconnect-for"], { min: 0, max: 86_400 })! * 1000;
    const relations = watchedRelations(loadSqlProject(values["sql-dir"], datasetNames));
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    const { url, cluster } = resolveSqlEndpoint({ url: values.url, cluster: values.cluster });
    const watching = watchSnapshots({
        url,
        cluster,
        relations,
        // One snapshot needs no SUBSCRIBE.
        mode: values.poll || values.once ? "poll" : "subscribe",
        intervalMs,
        reconnectForMs,
        signal: stop.signal,
        onNotice: message => process.stderr.write(`${message}\n`),
    });
    const recent: CountChange[] = [];
    const live = process.stdout.isTTY && !values.once;
    let first = true;
    for await (const snapshot of watching) {
        recent.unshift(...snapshot.changes);
        recent.splice(recentChangesShown);
        // On a terminal, redraw in place; piped, append one snapshot per change.
        if (live) process.stdout.write("\x1b[2J\x1b[H");
        if (live || first || snapshot.changes.length > 0) {
            process.stdout.write(`${renderSnapshot(snapshot, relations, recent)}\n\n`);
        }
        first = false;
        if (values.once) break;
    }
});
