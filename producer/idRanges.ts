/**
 * Where event ids come from, so that seeds, failure scenarios and generated data never collide:
 *
 *   seeds/*.csv             ids below 100,000,000
 *   failure scenarios       100,000,000 .. 999,999,999,999  (10 ids per run, runs told apart by the millisecond they start in)
 *   the live generator      1,000,000,000,000 + seed × 1,000,000,000 + n   (a block per seed)
 *
 * All of them stay below 2^53, so they survive JSON numbers and Materialize's bigint casts.
 */
export const seedIdLimit = 100_000_000;

const scenarioIdBase = seedIdLimit;
/** Ids one scenario run may use. */
export const idsPerScenarioRun = 10;
/** Run slots before the scenario range wraps: about three years of milliseconds. */
const scenarioRunSlots = 99_990_000_000;

export const generatorIdBase = 1_000_000_000_000;
export const generatorBlockSize = 1_000_000_000;
/** Largest generator seed: its block still ends below Number.MAX_SAFE_INTEGER. */
export const maxGeneratorSeed = 8_999_999;

/**
 * Hands out the ids of one scenario run. Runs are numbered by the millisecond they start in, so
 * scenarios run one after another add up without any of their new ids being seen twice.
 */
export class ScenarioIds {
    private used = 0;
    private readonly base: number;

    constructor(runStamp: number = Date.now()) {
        this.base = scenarioIdBase + (runStamp % scenarioRunSlots) * idsPerScenarioRun;
    }

    next(): number {
        if (this.used === idsPerScenarioRun) {
            throw new Error(`a scenario run may use at most ${idsPerScenarioRun} new ids`);
        }
        return this.base + this.used++;
    }
}

/** The first id of a generator seed's block; the generator's n-th record of a dataset gets first + n - 1. */
export function generatorFirstId(seed: number): number {
    if (!Number.isInteger(seed) || seed < 0 || seed > maxGeneratorSeed) {
        throw new Error(`generator seed must be an integer from 0 to ${maxGeneratorSeed}, not ${seed}`);
    }
    return generatorIdBase + seed * generatorBlockSize + 1;
}
