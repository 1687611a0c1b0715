"""The librdkafka reference for `npm run bench`: what a data engineer would write with the
confluent-kafka package. Sends keyed JSON records of about the generated events' size, with the
generator's guarantees (acks=all, idempotence), everything else librdkafka's defaults; a warm-up
send first, not counted. Prints one JSON line: {"records": N, "elapsedMs": ..., "valueBytes": mean value size}.

usage: python librdkafkaProducer.py BROKERS TOPIC RECORDS VALUE_BYTES WARMUP_RECORDS
"""

import json
import sys
import time

from confluent_kafka import KafkaException, Producer


def main() -> None:
    brokers, topic = sys.argv[1], sys.argv[2]
    records, value_bytes, warmup = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    def on_error(err):
        # Idempotence makes some errors fatal: the producer can no longer send.
        if err.fatal():
            errors.append(err)

    producer = Producer({
        "bootstrap.servers": brokers,
        "acks": "all",
        "enable.idempotence": True,
        "error_cb": on_error,
    })
    # A row like the generated ones: an id, a few fields, a timestamp; padded to the average size.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    bare = len(json.dumps({"id": 10_000_000, "user_id": 1234, "status": "", "event_ts": stamp}))
    status = "x" * max(0, value_bytes - bare)

    value_total = 0

    def send(first_id: int, count: int) -> float:
        nonlocal value_total
        value_total = 0
        started = time.perf_counter()
        for i in range(first_id, first_id + count):
            value = json.dumps({"id": i, "user_id": i % 10_000, "status": status, "event_ts": stamp})
            value_total += len(value)
            while True:
                try:
                    producer.produce(topic, key=str(i), value=value, on_delivery=on_delivery)
                    break
                except BufferError:
                    # The local queue is full: let librdkafka send, then try again.
                    producer.poll(0.05)
            producer.poll(0)
        left = producer.flush(120)
        if left or errors:
            raise SystemExit(f"librdkafka producer: {left} records undelivered, errors: {errors[:3]}")
        return time.perf_counter() - started

    send(10_000_000, warmup)
    seconds = send(20_000_000, records)
    print(json.dumps({"records": records, "elapsedMs": seconds * 1000, "valueBytes": value_total / records}))


if __name__ == "__main__":
    try:
        main()
    except KafkaException as err:
        raise SystemExit(f"librdkafka producer: {err}")
