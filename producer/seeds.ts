import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "csv-parse/sync";
import { ColumnType, Dataset, datasets, RawRecord } from "./datasets";

/** One validated seed row and where it came from, so errors can name the line. */
export interface SeedRow {
    readonly dataset: Dataset;
    readonly record: RawRecord;
    readonly file: string;
    readonly line: number;
}

export class SeedError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid seed data (nothing was sent):\n  ${problems.join("\n  ")}`);
        this.name = "SeedError";
    }
}

/**
 * Reads and validates every seed file before anything is sent: a malformed row anywhere
 * fails the whole seed with `file:line: problem` for each bad row.
 */
export function readSeeds(seedsDir: string, only: readonly Dataset[] = datasets): SeedRow[] {
    const rows: SeedRow[] = [];
    const problems: string[] = [];
    for (const dataset of only) {
        const file = path.join(seedsDir, dataset.seedFile);
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (err) {
            problems.push(`${file}: cannot read seed file (${(err as Error).message})`);
            continue;
        }
        const parsed = parseCsv(file, text, dataset, problems);
        rows.push(...parsed);
    }
    if (problems.length > 0) {
        throw new SeedError(problems);
    }
    return rows;
}

function parseCsv(file: string, text: string, dataset: Dataset, problems: string[]): SeedRow[] {
    let lines: { record: string[]; info: { lines: number } }[];
    try {
        lines = parse(text, { info: true, skip_empty_lines: true, relax_column_count: true }) as any;
    } catch (err) {
        const e = err as Error & { lines?: number };
        problems.push(`${file}:${e.lines ?? "?"}: ${e.message}`);
        return [];
    }
    if (lines.length === 0) {
        problems.push(`${file}:1: empty file, expected a header ${Object.keys(dataset.columns).join(",")}`);
        return [];
    }
    const header = lines[0].record.map(h => h.trim());
    const expected = Object.keys(dataset.columns);
    const missing = expected.filter(c => !header.includes(c));
    const unexpected = header.filter(c => !expected.includes(c));
    if (missing.length > 0 || unexpected.length > 0) {
        const parts = [
            ...missing.map(c => `missing column "${c}"`),
            ...unexpected.map(c => `unknown column "${c}"`),
        ];
        problems.push(`${file}:${lines[0].info.lines}: ${parts.join(", ")} (expected ${expected.join(",")})`);
        return [];
    }
    const rows: SeedRow[] = [];
    for (const { record: cells, info } of lines.slice(1)) {
        const where = `${file}:${info.lines}`;
        if (cells.length !== header.length) {
            problems.push(`${where}: expected ${header.length} fields, found ${cells.length}`);
            continue;
        }
        const record: RawRecord = {};
        let valid = true;
        header.forEach((column, i) => {
            const result = convert(cells[i], dataset.columns[column]);
            if (typeof result === "object") {
                problems.push(`${where}: column "${column}": ${result.problem}`);
                valid = false;
            } else {
                record[column] = result;
            }
        });
        if (valid) {
            rows.push({ dataset, record, file, line: info.lines });
        }
    }
    return rows;
}

type Converted = string | number | { problem: string };

function convert(raw: string, type: ColumnType): Converted {
    const value = raw.trim();
    switch (type) {
        case "int":
            return /^-?\d{1,15}$/.test(value) ? Number(value) : { problem: `"${raw}" is not an integer` };
        case "date":
            return isIsoDate(value) ? value : { problem: `"${raw}" is not a date (YYYY-MM-DD)` };
        case "text":
            return raw;
    }
}

function isIsoDate(value: string): boolean {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!match) return false;
    const date = new Date(`${value}T00:00:00Z`);
    return !isNaN(date.getTime()) && date.toISOString().startsWith(value);
}
