import { createHash } from "node:crypto";
import { RawRecord } from "../lib/datasets";

/** A record on its way to a topic: keyed by its id, value is the JSON row stamped with `event_ts`. */
export interface KafkaEvent {
    topic: string;
    key: string;
    value: string;
}

/** `eventTs` may come formatted already (ISO 8601): formatting it per event halves a bulk sender's speed. */
export function toEvent(topic: string, record: RawRecord, eventTs: Date | string): KafkaEvent {
    return {
        topic,
        key: String(record.id),
        value: JSON.stringify({ ...record, event_ts: typeof eventTs === "string" ? eventTs : eventTs.toISOString() }),
    };
}

/** Identifies a row's content independent of when it was sent, so a re-run can skip what was sent. */
export function rowDigest(dataset: string, record: RawRecord): string {
    // The first 10 bytes, hex-encoded on their own: a slice of the whole hex digest would keep all 64 characters alive.
    return createHash("sha256").update(dataset).update("\0").update(JSON.stringify(record)).digest().toString("hex", 0, 10);
}
