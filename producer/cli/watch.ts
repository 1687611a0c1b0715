import * as path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { loadSqlProject } from "../../lib/sqlProject";
import { datasetNames } from "../datasets";
import { CountChange, pollCounts, renderSnapshot, snapshots, subscribeCounts, watchedRelations } from "../watch";
import { integerFlag, runCli } from "./run";
import { repoDir, resolvePsqlUrl } from "./target";

const usage = `usage: npm run watch -- [--url postgres://...] [--poll [--interval MS]] [--once]

A live view of the marts and the failure views: row counts, the rows of failing views, and the
latest changes, pushed by Materialize's SUBSCRIBE the moment they happen.

  --url URL           the database (default: the stack's output psqlUrl; STACK picks the stack)
  --poll              re-query the counts every --interval instead of SUBSCRIBE (plain PostgreSQL)
  --interval MS       polling interval (default 1000)
  --once              print one snapshot and exit
  --sql-dir DIR       the SQL project whose relations are watched (default: sql)
  -h, --help          this help`;

/** How many changes the view keeps listing. */
const recentChangesShown = 10;

runCli(usage, async () => {
    const { values } = parseArgs({
        options: {
            url: { type: "string" },
            poll: { type: "boolean" },
            interval: { type: "string", default: "1000" },
            once: { type: "boolean" },
            "sql-dir": { type: "string", default: path.join(repoDir, "sql") },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) {
        console.log(usage);
        return;
    }
    const intervalMs = integerFlag("interval", values.interval, { min: 10 })!;
    const relations = watchedRelations(loadSqlProject(values["sql-dir"], datasetNames));
    const url = resolvePsqlUrl(values.url);
    // A SUBSCRIBE holds its connection inside a transaction: the failure rows need a second one.
    const countsClient = new Client({ connectionString: url });
    const rowsClient = values.poll || values.once ? countsClient : new Client({ connectionString: url });
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    await countsClient.connect();
    if (rowsClient !== countsClient) await rowsClient.connect();
    try {
        const counts = values.poll || values.once
            ? pollCounts(countsClient, relations, { intervalMs, signal: stop.signal })
            : subscribeCounts(countsClient, relations, { signal: stop.signal });
        const recent: CountChange[] = [];
        const live = process.stdout.isTTY && !values.once;
        let first = true;
        for await (const snapshot of snapshots(counts, rowsClient, relations)) {
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
    } finally {
        await countsClient.end().catch(() => undefined);
        if (rowsClient !== countsClient) await rowsClient.end().catch(() => undefined);
    }
});
