import { RawDatasetName, RawRecord } from "../lib/datasets";
import { generatorBlockSize, generatorFirstId } from "./idRanges";
import { SeedRow } from "./seeds";

/**
 * The live order generator: an endless (or counted), deterministic stream of new customers,
 * orders and payments in jaffle_shop's shape. Its distributions are measured on the seeds, so
 * the generated shop looks like the seeded one; it keeps only counters, never the records.
 */

export interface GeneratedRecord {
    dataset: RawDatasetName;
    record: RawRecord;
}

/** mulberry32: a tiny seeded PRNG, good enough for test data, reproducible across platforms. */
export function mulberry32(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Values with how often they occur; picked in proportion. */
type Frequencies<T> = { value: T; count: number }[];

/** What the generator learns from the seeds. */
export interface SeedProfile {
    customerIds: number[];
    firstNames: string[];
    lastNames: string[];
    lastOrderDate: string;
    statuses: Frequencies<string>;
    paymentMethods: Frequencies<string>;
    paymentsPerOrder: Frequencies<number>;
    minAmount: number;
    maxAmount: number;
}

/**
 * Learns the profile in one pass over the rows, keeping counters and the customers only, so it can
 * read the seeds as they stream from their files (seedRows).
 */
export function seedProfile(rows: Iterable<SeedRow>): SeedProfile {
    const customerIds: number[] = [];
    const firstNames = new Set<string>();
    const lastNames = new Set<string>();
    const statuses = new Map<string, number>();
    const paymentMethods = new Map<string, number>();
    const paymentsByOrder = new Map<number, number>();
    let lastOrderDate = "";
    let minAmount = Infinity;
    let maxAmount = -Infinity;
    for (const { dataset, record } of rows) {
        switch (dataset.name) {
            case "raw_customers":
                customerIds.push(record.id as number);
                firstNames.add(record.first_name as string);
                lastNames.add(record.last_name as string);
                break;
            case "raw_orders":
                if ((record.order_date as string) > lastOrderDate) lastOrderDate = record.order_date as string;
                tally(statuses, record.status as string);
                break;
            case "raw_payments":
                tally(paymentMethods, record.payment_method as string);
                tally(paymentsByOrder, record.order_id as number);
                minAmount = Math.min(minAmount, record.amount as number);
                maxAmount = Math.max(maxAmount, record.amount as number);
                break;
        }
    }
    if (customerIds.length === 0 || statuses.size === 0 || paymentsByOrder.size === 0) {
        throw new Error("the generator learns from the seeds, and some seed file has no rows");
    }
    const paymentsPerOrder = new Map<number, number>();
    for (const payments of paymentsByOrder.values()) tally(paymentsPerOrder, payments);
    return {
        customerIds,
        firstNames: [...firstNames],
        lastNames: [...lastNames],
        lastOrderDate,
        statuses: frequencies(statuses),
        paymentMethods: frequencies(paymentMethods),
        paymentsPerOrder: frequencies(paymentsPerOrder),
        minAmount,
        maxAmount,
    };
}

function tally<T>(counts: Map<T, number>, value: T): void {
    counts.set(value, (counts.get(value) ?? 0) + 1);
}

/** In order of first occurrence: the generator's picks, and so a seed's events, depend on it. */
function frequencies<T>(counts: Map<T, number>): Frequencies<T> {
    return [...counts].map(([value, count]) => ({ value, count }));
}

/** Share of units that are a new customer rather than an order (the seeds: 100 customers, 99 orders). */
const newCustomerShare = 0.25;
/** Chance that an order starts a new day: about 25 orders a day. */
const nextDayChance = 0.04;
const dayMs = 86_400_000;

export interface GeneratorOptions {
    seed: number;
    /** Exactly this many records; endless without. */
    count?: number;
}

/**
 * Yields units that must reach the topics whole: a new customer, or an order with its
 * payments (an order without them would have a null amount). Customers only ever order after
 * they were yielded, so every order references a customer that exists. With a count, the last
 * units shrink to make it exact without ever leaving an order unpaid.
 */
export function* generateUnits(profile: SeedProfile, options: GeneratorOptions): Generator<GeneratedRecord[]> {
    const random = mulberry32(options.seed);
    const firstId = generatorFirstId(options.seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const pickStatus = weightedPicker(random, profile.statuses);
    const pickPaymentCount = weightedPicker(random, profile.paymentsPerOrder);
    const pickPaymentMethod = weightedPicker(random, profile.paymentMethods);
    const sent = { customers: 0, orders: 0, payments: 0 };
    const nextId = (kind: keyof typeof sent) => {
        if (sent[kind] === generatorBlockSize - 1) throw new Error(`seed ${options.seed} ran out of ${kind} ids`);
        return firstId + sent[kind]++;
    };
    let day = Date.parse(`${profile.lastOrderDate}T00:00:00Z`) / dayMs + 1;
    let orderDate = isoDate(day);
    let remaining = options.count ?? Infinity;

    while (remaining > 0) {
        if (remaining === 1 || random() < newCustomerShare) {
            const customer = { id: nextId("customers"), first_name: pick(profile.firstNames), last_name: pick(profile.lastNames) };
            remaining -= 1;
            yield [{ dataset: "raw_customers", record: customer }];
            continue;
        }
        if (random() < nextDayChance) orderDate = isoDate(++day);
        const known = profile.customerIds.length + sent.customers;
        const index = Math.floor(random() * known);
        const customerId = index < profile.customerIds.length ? profile.customerIds[index] : firstId + index - profile.customerIds.length;
        const order = { id: nextId("orders"), user_id: customerId, order_date: orderDate, status: pickStatus() };
        const payments = Math.min(pickPaymentCount(), remaining - 1);
        const unit: GeneratedRecord[] = [{ dataset: "raw_orders", record: order }];
        for (let i = 0; i < payments; i++) {
            const amount = profile.minAmount + Math.floor(random() * (profile.maxAmount - profile.minAmount + 1));
            unit.push({
                dataset: "raw_payments",
                record: { id: nextId("payments"), order_id: order.id, payment_method: pickPaymentMethod(), amount },
            });
        }
        remaining -= unit.length;
        yield unit;
    }
}

function weightedPicker<T>(random: () => number, frequencies: Frequencies<T>): () => T {
    const total = frequencies.reduce((sum, f) => sum + f.count, 0);
    return () => {
        let ticket = random() * total;
        for (const { value, count } of frequencies) {
            ticket -= count;
            if (ticket < 0) return value;
        }
        return frequencies[frequencies.length - 1].value;
    };
}

function isoDate(day: number): string {
    return new Date(day * dayMs).toISOString().slice(0, 10);
}
