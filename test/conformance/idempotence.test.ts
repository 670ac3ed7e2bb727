// Idempotent producers of real clients (issue 9): kafkajs with `idempotent: true` and kcat
// (librdkafka) with `enable.idempotence=true` call InitProducerId, write with producer ids and
// sequences, and every record is stored exactly once, in order per partition.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { PRODUCER_ID, readInt64 } from "../../src/protocol/record_batch.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";

describe("idempotent producers of kafkajs and librdkafka", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "num.partitions": 2 } });
    kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "idempotence", logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker.destroy();
  });

  /** Every value of a topic, by partition, read with kcat from the start. */
  async function valuesOf(topic: string): Promise<Map<number, string[]>> {
    const r = await run(KCAT, ["-b", broker.bootstrap, "-C", "-t", topic, "-e", "-f", "%p %s\\n"], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = new Map<number, string[]>();
    for (const line of r.stdout.split("\n").filter((l) => l !== "")) {
      const [p, v] = [Number(line.slice(0, line.indexOf(" "))), line.slice(line.indexOf(" ") + 1)];
      out.set(p, [...(out.get(p) ?? []), v]);
    }
    return out;
  }

  /** The producer id in the first stored batch of each partition: >= 0 when it was idempotent. */
  async function producerIds(topic: string): Promise<number[]> {
    const c = await RawClient.tcp(broker.bootstrap);
    try {
      const ids = [];
      for (const p of [0, 1]) {
        const res = await c.fetchPartition(topic, p, 0);
        if (res.records.length > 0) ids.push(readInt64(fetchRecordsBuffer(res.records), PRODUCER_ID));
      }
      return ids;
    } finally {
      c.close();
    }
  }

  it("kafkajs idempotent: 5,000 keyed records in 50 sends, each stored once, in order", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "idem-kafkajs", numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    for (let i = 0; i < 50; i++) {
      const messages = Array.from({ length: 100 }, (_, j) => ({
        key: `k${j % 10}`,
        value: `${i * 100 + j}`,
      }));
      await producer.send({ topic: "idem-kafkajs", acks: -1, messages });
    }
    await producer.disconnect();
    const values = await valuesOf("idem-kafkajs");
    const all = [...values.values()].flat();
    assert.equal(all.length, 5000);
    assert.equal(new Set(all).size, 5000);
    for (const list of values.values()) {
      const nums = list.map(Number);
      assert.deepEqual(
        nums,
        [...nums].sort((a, b) => a - b),
      );
    }
    const ids = await producerIds("idem-kafkajs");
    assert.equal(ids.length, 2);
    for (const id of ids) assert.ok(id >= 0, `producer id ${id}`);
  });

  it("kcat with enable.idempotence=true: 3,000 lines stored once each", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line-${i}`);
    const r = await run(
      KCAT,
      ["-b", broker.bootstrap, "-P", "-t", "idem-kcat", "-X", "enable.idempotence=true", "-X", "linger.ms=5"],
      { input: `${lines.join("\n")}\n`, timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /fatal|UNKNOWN_PRODUCER|OUT_OF_ORDER/i);
    const all = [...(await valuesOf("idem-kcat")).values()].flat().sort();
    assert.deepEqual(all, [...lines].sort());
    const ids = await producerIds("idem-kcat");
    assert.ok(ids.length > 0 && ids.every((id) => id >= 0), `producer ids ${ids}`);
  });
});
