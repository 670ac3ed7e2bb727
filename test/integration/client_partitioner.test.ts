// Partitioner compatibility: Milena's client puts a key on the same partition as kafkajs's default
// partitioner (Kafka's murmur2, as the Java client). Checked on the function for many keys and
// partition counts, then end to end: kafkajs's producer and Milena's (over TCP and over
// WebSocket) write the same keys to three topics of the same shape on a real broker, and every
// key is read back from the same partition in all three. Null keys: sticky partitioning (one
// partition per batch, several partitions over many batches).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Kafka, Partitioners as KafkajsPartitioners, logLevel } from "kafkajs";
import { type Consumer, Milena, murmur2, Partitioners, partitionForKey } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const PARTITIONS = 7;
const KEYS = 300;

function keyOf(i: number): string {
  // ASCII, multi-byte UTF-8 and lengths 0..40 (every murmur2 tail length).
  return i % 10 === 0 ? `ключ-${i}-✓` : `user-${i}-${"x".repeat(i % 41)}`;
}

async function readAll(c: Consumer<Buffer>, n: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const it = c.records();
  const deadline = Date.now() + 20_000;
  while (out.size < n) {
    if (Date.now() > deadline) throw new Error(`read ${out.size} of ${n}`);
    const r = await it.next();
    if (r.done) throw new Error("iterator ended");
    out.set(r.value.key!.toString(), r.value.partition);
  }
  return out;
}

describe("partitioner compatibility with kafkajs", () => {
  it("murmur2 partitions match kafkajs's DefaultPartitioner for strings and bytes", () => {
    const kafkajs = KafkajsPartitioners.DefaultPartitioner();
    for (const n of [1, 2, 3, 7, 12, 100]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({
        partitionId: i,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 500; i++) {
        const key = i % 2 === 0 ? keyOf(i) : randomBytes(i % 64);
        const theirs = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
        const bytes = typeof key === "string" ? Buffer.from(key) : key;
        assert.equal(partitionForKey(bytes, n), theirs, `key ${i} over ${n} partitions`);
        assert.equal(
          Partitioners.DefaultPartitioner()({ topic: "t", partitionMetadata, message: { key, value: null } }),
          theirs,
        );
      }
    }
    // Known values of Kafka's Utils.murmur2 (from the Java client's tests).
    assert.equal(murmur2(Buffer.from("21")), -973932308);
    assert.equal(murmur2(Buffer.from("foobar")), -790332482);
    assert.equal(murmur2(Buffer.from("a-little-bit-long-string")), -985981536);
    assert.equal(murmur2(Buffer.from("a-little-bit-longer-string")), -1486304829);
    assert.equal(murmur2(Buffer.from("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
    assert.equal(murmur2(Buffer.from([97, 98, 99])), 479470107);
  });

  describe("end to end", () => {
    let broker: BrokerProcess;
    let milenaTcp: Milena;
    let milenaWs: Milena;

    before(async () => {
      broker = await BrokerProcess.start();
      milenaTcp = new Milena({ bootstrap: broker.bootstrap });
      milenaWs = new Milena({ bootstrap: broker.wsUrl });
      const admin = milenaTcp.admin();
      await admin.connect();
      await admin.createTopics({
        topics: ["by-kafkajs", "by-milena-tcp", "by-milena-ws", "sticky"].map((topic) => ({
          topic,
          numPartitions: PARTITIONS,
        })),
      });
      await admin.disconnect();
    });

    after(async () => {
      await broker?.destroy();
    });

    it("the same keys land on the same partitions whichever client wrote them", async () => {
      const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
      const kafka = new Kafka({
        brokers: [broker.bootstrap],
        clientId: "kafkajs-partitioner",
        logLevel: logLevel.NOTHING,
      });
      const kp = kafka.producer({ createPartitioner: KafkajsPartitioners.DefaultPartitioner });
      await kp.connect();
      await kp.send({ topic: "by-kafkajs", messages: keys.map((key) => ({ key, value: "k" })) });
      await kp.disconnect();

      for (const [m, topic] of [
        [milenaTcp, "by-milena-tcp"],
        [milenaWs, "by-milena-ws"],
      ] as const) {
        const p = m.producer({ acks: 1 });
        await p.connect();
        // Half as strings, half as bytes: the partition depends on the bytes only.
        await p.send({
          topic,
          messages: keys.map((key, i) => ({ key: i % 2 === 0 ? key : Buffer.from(key), value: "m" })),
        });
        await p.disconnect();
      }

      const maps: Map<string, number>[] = [];
      for (const topic of ["by-kafkajs", "by-milena-tcp", "by-milena-ws"]) {
        const c = milenaTcp.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
        await c.connect();
        await c.assign([{ topic }]);
        maps.push(await readAll(c, KEYS));
        await c.disconnect();
      }
      const used = new Set(maps[0].values());
      assert.equal(used.size, PARTITIONS, "the keys spread over every partition");
      for (const key of keys) {
        assert.equal(maps[1].get(key), maps[0].get(key), `${key}: Milena over TCP vs kafkajs`);
        assert.equal(maps[2].get(key), maps[0].get(key), `${key}: Milena over WebSocket vs kafkajs`);
      }
    });

    it("null keys stick to one partition per batch and move on between batches", async () => {
      const p = milenaWs.producer({ acks: 1, batchSize: 2048, lingerMs: 20 });
      await p.connect();
      // One small send: one batch, one partition.
      const first = await p.send({
        topic: "sticky",
        messages: Array.from({ length: 10 }, () => ({ value: "v" })),
      });
      assert.equal(first.length, 1, "a small keyless send goes to one partition");
      // Many batches: the sticky partition changes as batches fill.
      const res = await p.send({
        topic: "sticky",
        messages: Array.from({ length: 400 }, () => ({ value: "x".repeat(100) })),
      });
      await p.disconnect();
      assert.ok(
        new Set(res.map((r) => r.partition)).size > 1,
        "400 keyless records of 100 B spread over partitions",
      );
    });
  });
});
