// Milena's client against a real broker, over TCP and over WebSocket: produce/consume round trips
// with every compression (none, gzip, lz4) and acks level (0, 1, -1), keys, headers (object and
// list forms, repeated keys, null values) and timestamps; the produced batches also decoded by the
// shared decoder (src/protocol/records.ts) over a raw connection; seek to earliest / latest /
// an offset / a timestamp; a bounded prefetch under a slow reader; batch iteration and run();
// the admin calls; and that a WebSocket bootstrap keeps using WebSocket for the brokers it finds.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type Admin,
  ConfigResourceTypes,
  ConfigSource,
  type ConsumedRecord,
  type Consumer,
  type Message,
  Milena,
  partitionForKey,
} from "../../src/index.ts";
import { fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import { decodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

registerLz4();

const TRANSPORTS = ["tcp", "ws"] as const;

/** Read n records from a consumer (fails after timeoutMs). */
async function take<B extends Uint8Array>(
  c: Consumer<B>,
  n: number,
  timeoutMs = 20_000,
): Promise<ConsumedRecord<B>[]> {
  const out: ConsumedRecord<B>[] = [];
  if (n === 0) return out;
  const it = c.records();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${out.length} of ${n} records within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    while (out.length < n) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error("iterator ended");
      out.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

function str(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b).toString();
}

describe("client round trips against a real broker", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "num.partitions": 2 } });
  });

  after(async () => {
    await broker?.destroy();
  });

  for (const transport of TRANSPORTS) {
    describe(`over ${transport === "tcp" ? "TCP" : "WebSocket"}`, () => {
      let milena: Milena;
      let admin: Admin;
      const bootstrap = () => (transport === "tcp" ? broker.bootstrap : broker.wsUrl);

      before(async () => {
        milena = new Milena({ bootstrap: bootstrap(), clientId: `client-test-${transport}` });
        admin = milena.admin();
        await admin.connect();
      });

      after(async () => {
        await admin?.disconnect();
      });

      it("round-trips keys, headers, timestamps with every compression and acks level", async () => {
        const topic = `rt-${transport}`;
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
        const t0 = Date.UTC(2024, 0, 1);
        const sent: { id: string; m: Message; partitionOf?: number }[] = [];
        const producers = new Map<string, ReturnType<Milena["producer"]>>();
        try {
          for (const compression of ["none", "gzip", "lz4"] as const) {
            // One producer per compression; acks given per send (kafkajs style).
            const producer = milena.producer({ compression, lingerMs: 5 });
            producers.set(compression, producer);
            await producer.connect();
            for (const acks of [0, 1, -1]) {
              const messages: Message[] = [];
              for (let i = 0; i < 30; i++) {
                const id = `${compression}/${acks}/${i}`;
                const m: Message = {
                  key: i % 5 === 0 ? null : i % 2 === 0 ? `key-${i % 7}` : Buffer.from(`bkey-${i % 3}`),
                  value: i % 9 === 0 ? null : `${id}:${"v".repeat(i * 13)}:é✓`,
                  timestamp: t0 + sent.length,
                  headers:
                    i % 3 === 0
                      ? { id, dup: ["a", Buffer.from("b")], empty: "" }
                      : i % 3 === 1
                        ? [
                            { key: "id", value: id },
                            { key: "nil", value: null },
                          ]
                        : { id },
                };
                messages.push(m);
                sent.push({ id, m });
              }
              const res = await producer.send({ topic, messages, acks });
              assert.ok(
                res.length >= 1 && res.length <= 3,
                `${compression} acks=${acks}: one result per partition`,
              );
              for (const r of res) {
                assert.equal(r.topicName, topic);
                assert.equal(r.errorCode, 0);
                if (acks === 0) assert.equal(r.baseOffset, -1);
                else assert.ok(r.baseOffset >= 0, `${compression} acks=${acks}: base offset ${r.baseOffset}`);
              }
            }
          }
        } finally {
          for (const p of producers.values()) await p.disconnect();
        }

        const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 100 });
        await consumer.connect();
        try {
          await consumer.assign([{ topic }]);
          const got = await take(consumer, sent.length);
          const byId = new Map<string, ConsumedRecord<Buffer>>();
          for (const r of got) {
            const id = str(
              Array.isArray(r.headers.id) ? r.headers.id[0] : (r.headers.id as Buffer | null),
            ) as string;
            assert.ok(!byId.has(id), `record ${id} delivered twice`);
            byId.set(id, r);
          }
          const lastOffset = new Map<number, number>();
          for (const { id, m } of sent) {
            const r = byId.get(id);
            assert.ok(r, `record ${id} missing`);
            assert.equal(r.topic, topic);
            assert.equal(str(r.value), m.value === null ? null : String(m.value), id);
            const key = m.key ?? null;
            assert.equal(str(r.key), key === null ? null : Buffer.from(key).toString(), id);
            if (key !== null)
              assert.equal(r.partition, partitionForKey(Buffer.from(key), 3), `${id}: murmur2 partition`);
            assert.equal(r.timestamp, m.timestamp, id);
            const h = m.headers as Record<string, unknown> | { key: string; value: unknown }[];
            if (Array.isArray(h)) assert.equal(r.headers.nil, null, `${id}: null header value`);
            else if ("dup" in h) {
              assert.deepEqual(
                (r.headers.dup as Buffer[]).map((b) => b.toString()),
                ["a", "b"],
                `${id}: repeated header key`,
              );
              assert.equal(str(r.headers.empty as Buffer), "");
            }
            // Order within a partition is the send order.
            const prev = lastOffset.get(r.partition) ?? -1;
            assert.ok(r.offset > prev, `${id}: offset ${r.offset} after ${prev} in partition ${r.partition}`);
            lastOffset.set(r.partition, r.offset);
            assert.ok(Buffer.isBuffer(r.value ?? Buffer.alloc(0)), "Node gets Buffers");
          }
        } finally {
          await consumer.disconnect();
        }

        // The same batches through the shared decoder (src/protocol/records.ts) over a raw connection.
        const raw =
          transport === "tcp" ? await RawClient.tcp(broker.bootstrap) : await RawClient.ws(broker.wsUrl);
        try {
          let total = 0;
          for (let p = 0; p < 3; p++) {
            const part = await raw.fetchPartition(topic, p, 0);
            assert.equal(part.errorCode, 0);
            if (part.records.length === 0) continue;
            for (const batch of splitBatches(fetchRecordsBuffer(part.records))) {
              for (const rec of decodeBatch(batch)) {
                total++;
                const idHeader = rec.headers.find((x) => x.key === "id");
                const s = sent.find((x) => x.id === idHeader?.value?.toString());
                assert.ok(s, "the shared decoder reads every record");
                assert.equal(rec.timestamp, s.m.timestamp);
              }
            }
          }
          assert.equal(total, sent.length);
        } finally {
          raw.close();
        }
      });

      it("seeks to an offset, earliest, latest and a timestamp", async () => {
        const topic = `seek-${transport}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        const producer = milena.producer({ acks: 1 });
        await producer.connect();
        const t0 = Date.now() - 100_000;
        const batch = (from: number, n: number): Message[] =>
          Array.from({ length: n }, (_, i) => ({ value: `r${from + i}`, timestamp: t0 + (from + i) * 1000 }));
        await producer.send({ topic, messages: batch(0, 5) });
        await producer.send({ topic, messages: batch(5, 5) }); // a second batch
        const consumer = milena.consumer({ maxWaitTimeInMs: 100 });
        await consumer.connect();
        try {
          await consumer.assign([{ topic, partitions: [0] }]);
          assert.equal(consumer.position(topic, 0), 10, "default autoOffsetReset: latest");

          await consumer.seek({ topic, partition: 0, offset: "earliest" });
          assert.deepEqual(
            (await take(consumer, 3)).map((r) => r.offset),
            [0, 1, 2],
          );
          // Seek back while records are prefetched: they are dropped.
          await consumer.seek({ topic, partition: 0, offset: 1 });
          assert.equal(consumer.position(topic, 0), 1);
          assert.equal((await take(consumer, 1))[0].offset, 1);

          await consumer.seek({ topic, partition: 0, offset: 7 });
          assert.deepEqual(
            (await take(consumer, 3)).map((r) => str(r.value)),
            ["r7", "r8", "r9"],
          );

          // Timestamps: the first record at or after the time, inside a batch too.
          await consumer.seek({ topic, partition: 0, timestamp: t0 + 3500 });
          assert.equal(consumer.position(topic, 0), 4);
          const r4 = (await take(consumer, 1))[0];
          assert.equal(r4.offset, 4);
          assert.equal(r4.timestamp, t0 + 4000);
          await consumer.seek({ topic, partition: 0, timestamp: t0 + 6000 });
          assert.equal((await take(consumer, 1))[0].offset, 6);
          await consumer.seek({ topic, partition: 0, timestamp: t0 });
          assert.equal((await take(consumer, 1))[0].offset, 0);
          // Past the last record: the end.
          await consumer.seek({ topic, partition: 0, timestamp: Date.now() + 3_600_000 });
          assert.equal(consumer.position(topic, 0), 10);

          await consumer.seek({ topic, partition: 0, offset: "latest" });
          assert.equal(consumer.position(topic, 0), 10);
          await producer.send({ topic, messages: [{ value: "after" }] });
          const next = (await take(consumer, 1))[0];
          assert.equal(next.offset, 10);
          assert.equal(str(next.value), "after");

          const offs = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 2500);
          assert.deepEqual(offs, [{ partition: 0, offset: 3 }]);
        } finally {
          await consumer.disconnect();
          await producer.disconnect();
        }
      });

      it("keeps the prefetch bounded while the reader is slow", async () => {
        const topic = `prefetch-${transport}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        const producer = milena.producer({ acks: 1, batchSize: 16 * 1024 });
        await producer.connect();
        const value = Buffer.alloc(1000, 7);
        const N = 3000;
        for (let i = 0; i < N; i += 500)
          await producer.send({
            topic,
            messages: Array.from({ length: 500 }, (_, j) => ({ key: String(i + j), value })),
          });
        await producer.disconnect();
        const bound = 64 * 1024;
        const consumer = milena.consumer({
          autoOffsetReset: "earliest",
          maxPrefetchBytes: bound,
          maxBytesPerPartition: 16 * 1024,
          maxWaitTimeInMs: 50,
        });
        await consumer.connect();
        try {
          await consumer.assign([{ topic }]);
          await take(consumer, 1);
          await new Promise((r) => setTimeout(r, 400)); // a stalled reader
          const held = consumer.prefetchedBytes;
          assert.ok(held > 0, "something was prefetched");
          assert.ok(held <= bound + 17 * 1024, `prefetch ${held} B stays within ${bound} B + one batch`);
          const rest = await take(consumer, N - 1);
          assert.deepEqual(
            rest.map((r) => r.offset),
            Array.from({ length: N - 1 }, (_, i) => i + 1),
          );
          assert.equal(str(rest[N - 2].key), String(N - 1));
        } finally {
          await consumer.disconnect();
        }
      });

      it("hands out whole batches and runs eachMessage", async () => {
        const topic = `run-${transport}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
        const producer = milena.producer({ acks: -1, compression: "gzip" });
        await producer.connect();
        await producer.send({
          topic,
          messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
        });
        await producer.disconnect();

        const c1 = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
        await c1.connect();
        try {
          await c1.assign([{ topic }]);
          let n = 0;
          for await (const batch of c1.batches()) {
            assert.equal(batch.topic, topic);
            assert.ok(batch.records.length > 0);
            assert.ok(batch.records.every((r) => r.partition === batch.partition));
            assert.ok(batch.highWatermark > 0);
            n += batch.records.length;
            if (n >= 50) break;
          }
          assert.equal(n, 50);
        } finally {
          await c1.disconnect();
        }

        const c2 = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
        await c2.connect();
        try {
          await c2.assign([{ topic }]);
          const seen: string[] = [];
          await c2.run({
            eachMessage: async ({ topic: t, message }) => {
              assert.equal(t, topic);
              seen.push(str(message.value)!);
              if (seen.length === 50) await c2.stop();
            },
          });
          assert.deepEqual(seen.sort(), Array.from({ length: 50 }, (_, i) => `v${i}`).sort());
        } finally {
          await c2.disconnect();
        }
      });

      it("sendBatch writes several topics at once; flush; pause and resume", async () => {
        const [a, b] = [`multi-a-${transport}`, `multi-b-${transport}`];
        await admin.createTopics({ topics: [a, b].map((topic) => ({ topic, numPartitions: 1 })) });
        const producer = milena.producer({ lingerMs: 60_000, acks: 1 });
        await producer.connect();
        const sent = producer.sendBatch({
          topicMessages: [
            { topic: a, messages: [{ value: "a1" }, { value: "a2" }] },
            { topic: b, messages: [{ value: "b1" }] },
          ],
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(producer.bufferedBytes > 0, "lingering in the buffer");
        await producer.flush(); // does not wait for lingerMs
        assert.equal(producer.bufferedBytes, 0);
        const res = await sent;
        assert.deepEqual(res.map((r) => [r.topicName, r.partition, r.baseOffset]).sort(), [
          [a, 0, 0],
          [b, 0, 0],
        ]);
        await producer.disconnect();

        const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
        await consumer.connect();
        try {
          await consumer.assign([{ topic: a }, { topic: b }]);
          consumer.pause([{ topic: a }]);
          const first = await take(consumer, 1);
          assert.equal(first[0].topic, b, "a paused partition hands nothing out");
          consumer.resume([{ topic: a }]);
          assert.deepEqual(
            (await take(consumer, 2)).map((r) => str(r.value)),
            ["a1", "a2"],
          );
          assert.deepEqual(
            consumer
              .assignment()
              .map((x) => x.topic)
              .sort(),
            [a, b],
          );
        } finally {
          await consumer.disconnect();
        }
      });

      it("admin: creates, lists, describes and deletes topics; describes and alters configs", async () => {
        const topic = `admin-${transport}`;
        assert.equal(
          await admin.createTopics({
            topics: [
              { topic, numPartitions: 4, configEntries: [{ name: "retention.ms", value: "3600000" }] },
            ],
          }),
          true,
        );
        assert.equal(
          await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] }),
          false,
          "already exists",
        );
        assert.ok((await admin.listTopics()).includes(topic));

        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        assert.equal(md.topics.length, 1);
        assert.deepEqual(
          md.topics[0].partitions.map((p) => p.partitionId),
          [0, 1, 2, 3],
        );
        const cluster = await admin.describeCluster();
        assert.ok(md.topics[0].partitions.every((p) => p.leader === cluster.brokers[0].nodeId));
        // The broker advertises the listener the client came in on.
        assert.equal(cluster.brokers[0].port, transport === "tcp" ? broker.kafkaPort : broker.wsPort);

        const described = await admin.describeConfigs({
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms", "cleanup.policy"] },
          ],
          includeSynonyms: true,
        });
        const entries = new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
        assert.equal(entries.get("retention.ms")?.configValue, "3600000");
        assert.equal(entries.get("retention.ms")?.configSource, ConfigSource.TOPIC_CONFIG);
        assert.equal(entries.get("retention.ms")?.isDefault, false);
        assert.ok((entries.get("retention.ms")?.configSynonyms.length ?? 0) >= 1);
        assert.equal(entries.get("cleanup.policy")?.isDefault, true);

        const brokerCfg = await admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.BROKER, name: String(cluster.brokers[0].nodeId) }],
        });
        assert.ok(brokerCfg.resources[0].configEntries.some((e) => e.configName === "log.dirs"));

        await admin.alterConfigs({
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topic,
              configEntries: [{ name: "retention.ms", value: "7200000" }],
            },
          ],
        });
        const after1 = await admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms"] }],
        });
        assert.equal(after1.resources[0].configEntries[0].configValue, "7200000");
        await admin.incrementalAlterConfigs({
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topic,
              configEntries: [{ name: "retention.ms", value: null, operation: 1 }],
            },
          ],
        });
        const after2 = await admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms"] }],
        });
        assert.equal(after2.resources[0].configEntries[0].isDefault, true, "override deleted");

        const producer = milena.producer();
        await producer.connect();
        await producer.send({
          topic,
          messages: [
            { value: "x", partition: 2 },
            { value: "y", partition: 2 },
          ],
        });
        await producer.disconnect();
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.deepEqual(
          offsets.map((o) => [o.partition, o.low, o.high]),
          [
            [0, 0, 0],
            [1, 0, 0],
            [2, 0, 2],
            [3, 0, 0],
          ],
        );

        await admin.deleteTopics({ topics: [topic] });
        assert.ok(!(await admin.listTopics()).includes(topic));
      });

      it("reaches the brokers it finds in Metadata with the bootstrap's transport", async () => {
        const producer = milena.producer();
        await producer.connect();
        try {
          await producer.send({ topic: `transport-${transport}`, messages: [{ value: "x" }] }); // auto-created
          const cluster = (
            producer as unknown as {
              cluster: { brokers: Map<number, { kind: string; url: string; port: number }> };
            }
          ).cluster;
          const addrs = [...cluster.brokers.values()];
          assert.equal(addrs.length, 1);
          if (transport === "ws") {
            assert.equal(addrs[0].kind, "ws");
            assert.equal(addrs[0].url, `ws://127.0.0.1:${broker.wsPort}`);
          } else {
            assert.equal(addrs[0].kind, "tcp");
            assert.equal(addrs[0].port, broker.kafkaPort);
          }
        } finally {
          await producer.disconnect();
        }
      });
    });
  }
});
