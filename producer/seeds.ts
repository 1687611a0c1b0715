import { createHash, Hash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CsvError, Options, parse } from "csv-parse/sync";
import { ColumnType, Dataset, datasets, RawRecord } from "../lib/datasets";

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
 * Bytes read from a seed file at a time, so memory does not grow with the file. Measured fastest:
 * the records of bigger chunks outlive V8's young generation, and garbage collection doubles.
 */
const readBytes = 64 << 10;
/** A record longer than this is taken for a quote left open, so that a broken file cannot fill the memory. */
const maxRecordBytes = 1 << 20;
/** Problems listed in a SeedError; beyond them they are only counted, so a file wrong on every row stays readable. */
const maxListedProblems = 1_000;

/**
 * The seed rows, read a chunk at a time so that files of millions of rows take no more memory
 * than small ones; each iteration reads the files anew. Bad rows are left out, and reported
 * together (`file:line: problem` for each) by a SeedError thrown after the last row: whatever acts
 * on the rows, e.g. sends them, goes through them once beforehand (validateSeeds).
 */
export function seedRows(seedsDir: string, only: readonly Dataset[] = datasets): Iterable<SeedRow> {
    return { [Symbol.iterator]: () => allRows(seedsDir, only) };
}

/** Checks every seed row without keeping any: the number of rows, or a SeedError naming every bad row. */
export function validateSeeds(seedsDir: string, only: readonly Dataset[] = datasets): number {
    return countRows(seedsDir, only);
}

export interface CheckedSeeds {
    rows: number;
    /**
     * A hash of the seed files (each file's name and bytes, in dataset order): what seeding compares
     * to notice an edited file. Stacks record it, so its form must not change.
     */
    hash: string;
}

/** validateSeeds, also hashing the files in the same single read. */
export function checkSeeds(seedsDir: string, only: readonly Dataset[] = datasets): CheckedSeeds {
    const hash = createHash("sha256");
    const rows = countRows(seedsDir, only, hash);
    return { rows, hash: hash.digest("hex").slice(0, 16) };
}

/**
 * checkSeeds, remembered on this machine for seed files that passed: a later run over the very
 * same files (and the same rules: this module and the datasets' columns) only hashes them, where
 * parsing a million rows takes seconds of every preview and up. The record is a file in
 * `cacheDir` named after the files' and the rules' hashes; it holds the number of rows.
 */
export function checkSeedsOnce(seedsDir: string, cacheDir: string, only: readonly Dataset[] = datasets): CheckedSeeds {
    const bytes = createHash("sha256");
    try {
        for (const dataset of only) hashFile(bytes.update(dataset.seedFile).update("\0"), path.join(seedsDir, dataset.seedFile));
    } catch {
        return checkSeeds(seedsDir, only); // which names the file it cannot read
    }
    const filesHash = bytes.digest("hex");
    const rules = createHash("sha256").update(fs.readFileSync(__filename)).update(JSON.stringify(only)).digest("hex");
    const record = path.join(cacheDir, createHash("sha256").update(`${rules}\0${filesHash}`).digest("hex"));
    const remembered = fs.existsSync(record) ? Number(fs.readFileSync(record, "utf8")) : NaN;
    if (Number.isInteger(remembered)) return { rows: remembered, hash: filesHash.slice(0, 16) };
    const checked = checkSeeds(seedsDir, only);
    try {
        fs.mkdirSync(cacheDir, { recursive: true });
        fs.writeFileSync(record, String(checked.rows));
    } catch {
        // A cache that can't be written costs only time.
    }
    return checked;
}

function hashFile(hash: Hash, file: string): void {
    const fd = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(1 << 20);
        for (let read; (read = fs.readSync(fd, buffer)) > 0;) hash.update(buffer.subarray(0, read));
    } finally {
        fs.closeSync(fd);
    }
}

function countRows(seedsDir: string, only: readonly Dataset[], hash?: Hash): number {
    let rows = 0;
    for (const _row of allRows(seedsDir, only, hash)) rows++;
    return rows;
}

/** Every seed row in memory at once: for seed files known to be small. */
export function readSeeds(seedsDir: string, only: readonly Dataset[] = datasets): SeedRow[] {
    return [...seedRows(seedsDir, only)];
}

function* allRows(seedsDir: string, only: readonly Dataset[], hash?: Hash): Generator<SeedRow> {
    const problems = new SeedProblems();
    for (const dataset of only) {
        hash?.update(dataset.seedFile).update("\0");
        yield* fileRows(path.join(seedsDir, dataset.seedFile), dataset, problems, hash);
    }
    problems.throwIfAny();
}

class SeedProblems {
    private readonly listed: string[] = [];
    private unlisted = 0;

    add(problem: string): void {
        if (this.listed.length < maxListedProblems) this.listed.push(problem);
        else this.unlisted++;
    }

    throwIfAny(): void {
        if (this.listed.length === 0) return;
        const more = this.unlisted > 0 ? [`... and ${this.unlisted.toLocaleString("en-US")} more problems`] : [];
        throw new SeedError([...this.listed, ...more]);
    }
}

/** Something that ends the reading of one seed file: it cannot be read, or its CSV breaks off. */
class FileProblem extends Error {}

function* fileRows(file: string, dataset: Dataset, problems: SeedProblems, hash?: Hash): Generator<SeedRow> {
    const expected = Object.keys(dataset.columns);
    let header: string[] | undefined;
    try {
        for (const { cells, line } of csvRecords(file, hash)) {
            if (!header) {
                header = cells.map(h => h.trim());
                const problem = headerProblem(header, expected);
                if (problem) {
                    problems.add(`${file}:${line}: ${problem}`);
                    return;
                }
                continue;
            }
            const record = toRecord(cells, header, dataset);
            if (Array.isArray(record)) record.forEach(problem => problems.add(`${file}:${line}: ${problem}`));
            else yield { dataset, record, file, line };
        }
    } catch (err) {
        if (!(err instanceof FileProblem)) throw err;
        problems.add(err.message);
        return;
    }
    if (!header) problems.add(`${file}:1: empty file, expected a header ${expected.join(",")}`);
}

function headerProblem(header: string[], expected: string[]): string | undefined {
    const missing = expected.filter(c => !header.includes(c));
    const unexpected = header.filter(c => !expected.includes(c));
    if (missing.length === 0 && unexpected.length === 0) return undefined;
    const parts = [...missing.map(c => `missing column "${c}"`), ...unexpected.map(c => `unknown column "${c}"`)];
    return `${parts.join(", ")} (expected ${expected.join(",")})`;
}

/** The typed record of a row, or its problems. */
function toRecord(cells: string[], header: string[], dataset: Dataset): RawRecord | string[] {
    if (cells.length !== header.length) return [`expected ${header.length} fields, found ${cells.length}`];
    const record: RawRecord = {};
    const problems: string[] = [];
    header.forEach((column, i) => {
        const result = convert(cells[i], dataset.columns[column]);
        if (typeof result === "object") problems.push(`column "${column}": ${result.problem}`);
        else record[column] = result;
    });
    return problems.length > 0 ? problems : record;
}

interface CsvRecord {
    cells: string[];
    /** Line of the file the record ends on, counted from 1. */
    line: number;
}

/**
 * A file's CSV records, parsed a chunk at a time. A chunk is cut after the last record that ends
 * in it: after the last newline with an even number of quotes before it, since quotes come in
 * pairs in CSV (a quote inside a quoted field is doubled).
 */
function* csvRecords(file: string, hash?: Hash): Generator<CsvRecord> {
    const fd = openSeedFile(file);
    try {
        let pending: Buffer = Buffer.alloc(0);
        let linesBefore = 0;
        for (;;) {
            const chunk = readChunk(fd, file);
            const atEnd = chunk.length === 0;
            hash?.update(chunk);
            if (!atEnd) pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
            const end = atEnd ? pending.length : completeRecordsEnd(pending);
            if (end > 0) {
                const complete = pending.subarray(0, end);
                yield* parseCsv(complete, file, linesBefore);
                linesBefore += countByte(complete, newline);
                pending = pending.subarray(end);
            } else if (pending.length > maxRecordBytes) {
                const problem = `no record ends within ${maxRecordBytes >> 20} MiB (a quote left open?)`;
                throw new FileProblem(`${file}:${linesBefore + 1}: ${problem}`);
            }
            if (atEnd) return;
        }
    } finally {
        fs.closeSync(fd);
    }
}

/** csv-parse's sync parse for records that on_record turns into another type: its overloads leave that case out. */
const parseRecords = parse as (input: Buffer, options: Options<CsvRecord, string[]>) => CsvRecord[];

function parseCsv(text: Buffer, file: string, linesBefore: number): CsvRecord[] {
    try {
        return parseRecords(text, {
            skip_empty_lines: true,
            relax_column_count: true,
            on_record: (cells, { lines }) => ({ cells, line: linesBefore + lines }),
        });
    } catch (err) {
        const e = err as CsvError & { lines?: number };
        // csv-parse counts lines from the start of the chunk it was given.
        const message = e.message.replace(/\bline (\d+)/g, (_, line: string) => `line ${linesBefore + Number(line)}`);
        throw new FileProblem(`${file}:${linesBefore + (e.lines ?? 1)}: ${message}`);
    }
}

const newline = 0x0a;
const quote = 0x22;

/** Where the last record that ends in `data` ends (just after its newline); 0 when none does. */
function completeRecordsEnd(data: Buffer): number {
    let end = data.lastIndexOf(newline);
    let quotes = end < 0 ? 0 : countByte(data.subarray(0, end), quote);
    while (quotes % 2 === 1) {
        // An odd number of quotes before `end` means a quote before it, so end >= 1.
        const previous = data.lastIndexOf(newline, end - 1);
        quotes -= countByte(data.subarray(previous + 1, end), quote);
        end = previous;
    }
    return end + 1;
}

function countByte(data: Buffer, byte: number): number {
    let count = 0;
    for (let i = data.indexOf(byte); i >= 0; i = data.indexOf(byte, i + 1)) count++;
    return count;
}

function openSeedFile(file: string): number {
    try {
        return fs.openSync(file, "r");
    } catch (err) {
        throw cannotRead(file, err);
    }
}

function readChunk(fd: number, file: string): Buffer {
    const buffer = Buffer.allocUnsafe(readBytes);
    try {
        return buffer.subarray(0, fs.readSync(fd, buffer, 0, readBytes, null));
    } catch (err) {
        throw cannotRead(file, err);
    }
}

function cannotRead(file: string, err: unknown): FileProblem {
    return new FileProblem(`${file}: cannot read seed file (${(err as Error).message})`);
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
