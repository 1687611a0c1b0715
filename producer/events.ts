import { createHash } from "node:crypto";
import { RawRecord } from "../lib/datasets";

/** A record on its way to a topic: keyed by its id, value is the JSON row stamped with `event_ts`. */
export interface KafkaEvent {
    topic: string;
    key: string;
    value: string;
    headers?: Record<string, Buffer>;
}

/** `eventTs` may come formatted already (ISO 8601): formatting it per event halves a bulk sender's speed. */
export function toEvent(topic: string, record: RawRecord, eventTs: Date | string): KafkaEvent {
    return {
        topic,
        key: String(record.id),
        value: JSON.stringify({ ...record, event_ts: typeof eventTs === "string" ? eventTs : eventTs.toISOString() }),
    };
}

/** Bytes of a row digest: enough that two rows never share one. */
export const rowDigestBytes = 10;

/** Identifies a row's content independent of when it was sent, so a re-run can skip what was sent. */
export function rowDigest(dataset: string, record: RawRecord): Buffer {
    return createHash("sha256").update(dataset).update("\0").update(JSON.stringify(record)).digest().subarray(0, rowDigestBytes);
}
