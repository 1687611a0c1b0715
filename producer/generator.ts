import { RawDatasetName, RawRecord } from "./datasets";
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

export function seedProfile(rows: readonly SeedRow[]): SeedProfile {
    const of = (dataset: RawDatasetName) => rows.filter(r => r.dataset.name === dataset).map(r => r.record);
    const customers = of("raw_customers");
    const orders = of("raw_orders");
    const payments = of("raw_payments");
    if (customers.length === 0 || orders.length === 0 || payments.length === 0) {
        throw new Error("the generator learns from the seeds, and some seed file has no rows");
    }
    const paymentsByOrder = frequencies(payments.map(p => p.order_id));
    const amounts = payments.map(p => p.amount as number);
    return {
        customerIds: customers.map(c => c.id as number),
        firstNames: [...new Set(customers.map(c => c.first_name as string))],
        lastNames: [...new Set(customers.map(c => c.last_name as string))],
        lastOrderDate: orders.map(o => o.order_date as string).sort().at(-1)!,
        statuses: frequencies(orders.map(o => o.status as string)),
        paymentMethods: frequencies(payments.map(p => p.payment_method as string)),
        paymentsPerOrder: frequencies(paymentsByOrder.map(f => f.count)),
        minAmount: Math.min(...amounts),
        maxAmount: Math.max(...amounts),
    };
}

function frequencies<T>(values: T[]): Frequencies<T> {
    const counts = new Map<T, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
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
