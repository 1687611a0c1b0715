import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RawRecord } from "../lib/datasets";

const realSeedsDir = path.join(__dirname, "..", "seeds");
const paymentMethods = ["credit_card", "coupon", "bank_transfer", "gift_card"];
/** Rows written per write call: the generated file never is in memory whole. */
const rowsPerWrite = 10_000;

/** The n-th generated payment (from 1): paying one of the seeds' 99 orders, so the data stays clean. */
export function generatedPayment(id: number): RawRecord {
    const paymentMethod = paymentMethods[id % paymentMethods.length];
    return { id, order_id: (id % 99) + 1, payment_method: paymentMethod, amount: (id * 7_919) % 3_000 };
}

/**
 * A temporary copy of the real seeds whose raw_payments.csv holds `count` generated payments,
 * payment n on line n + 1. `replaceLines` puts other text on given lines, e.g. a bad row.
 */
export function seedsWithPayments(count: number, replaceLines: Record<number, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "big-seeds-"));
    for (const name of fs.readdirSync(realSeedsDir)) fs.copyFileSync(path.join(realSeedsDir, name), path.join(dir, name));
    const fd = fs.openSync(path.join(dir, "raw_payments.csv"), "w");
    try {
        fs.writeSync(fd, "id,order_id,payment_method,amount\n");
        for (let first = 1; first <= count; first += rowsPerWrite) {
            const lines: string[] = [];
            for (let id = first; id < Math.min(first + rowsPerWrite, count + 1); id++) {
                const p = generatedPayment(id);
                lines.push(replaceLines[id + 1] ?? `${p.id},${p.order_id},${p.payment_method},${p.amount}`);
            }
            fs.writeSync(fd, `${lines.join("\n")}\n`);
        }
    } finally {
        fs.closeSync(fd);
    }
    return dir;
}
