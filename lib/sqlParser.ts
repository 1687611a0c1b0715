import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { ParseResult } from "libpg-query";

/**
 * PostgreSQL's own parser (libpg-query: the server's grammar compiled to WASM), called synchronously.
 * The package only loads asynchronously (its WASM glue awaits instantiation), while a Pulumi program
 * loads its SQL project synchronously before declaring anything; so a worker thread loads the parser
 * and parses, and this thread blocks until it answers.
 */

/** A parse tree, or the parser's error and where it is (an index into the text, when the parser says). */
export type ParseOutcome = { tree: ParseResult } | { error: string; position?: number };

type WorkerReply =
    | { outcomes: ({ tree: ParseResult } | { error: string; codePoint?: number })[] }
    | { failure: string };

/** Loading the WASM takes tens of milliseconds; this only bounds a worker that never answers. */
const parserTimeoutMs = 60_000;

// Plain JavaScript: the worker runs outside any TypeScript loader. Empty text is no statement, not
// an error (libpg-query refuses an empty string, yet parses blank text to no statements).
const workerSource = `
const { workerData } = require("node:worker_threads");
const { parserPath, texts, port, answered } = workerData;
const answer = reply => {
    port.postMessage(reply);
    Atomics.store(answered, 0, 1);
    Atomics.notify(answered, 0);
};
const parseOne = (parser, text) => {
    try {
        return { tree: parser.parseSync(text === "" ? " " : text) };
    } catch (err) {
        return { error: err.message, codePoint: err.sqlDetails?.cursorPosition };
    }
};
(async () => {
    const parser = require(parserPath);
    await parser.loadModule();
    answer({ outcomes: texts.map(text => parseOne(parser, text)) });
})().catch(err => answer({ failure: String(err?.stack ?? err) }));
`;

/** Parses each text with PostgreSQL's grammar, in one round trip to a worker thread. */
export function parseSql(texts: readonly string[]): ParseOutcome[] {
    const answered = new Int32Array(new SharedArrayBuffer(4));
    const { port1: replies, port2: port } = new MessageChannel();
    const worker = new Worker(workerSource, {
        eval: true,
        // The parent's flags (a TypeScript loader, test-runner options) mean nothing to this worker.
        execArgv: [],
        workerData: { parserPath: require.resolve("libpg-query"), texts, port, answered },
        transferList: [port],
    });
    try {
        if (Atomics.wait(answered, 0, 0, parserTimeoutMs) === "timed-out") {
            throw new Error(`the SQL parser (libpg-query) did not answer within ${parserTimeoutMs / 1000} s`);
        }
        const reply = receiveMessageOnPort(replies)?.message as WorkerReply | undefined;
        if (reply === undefined || "failure" in reply) {
            throw new Error(`the SQL parser (libpg-query) failed to load: ${reply?.failure ?? "no reply"}`);
        }
        return reply.outcomes.map((outcome, i) =>
            "tree" in outcome
                ? outcome
                : {
                      error: outcome.error,
                      position: outcome.codePoint === undefined ? undefined : indexOfCodePoint(texts[i], outcome.codePoint),
                  },
        );
    } finally {
        replies.close();
        void worker.terminate();
    }
}

/** PostgreSQL counts an error's position in characters; JavaScript indexes strings in UTF-16 units. */
function indexOfCodePoint(text: string, codePoint: number): number {
    return Array.from(text).slice(0, codePoint).join("").length;
}
