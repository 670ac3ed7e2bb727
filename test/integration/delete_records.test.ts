// DeleteRecords (key 21) against a real broker: the log start offset moves to the offset asked
// (-1: the log end), a fetch below it is OFFSET_OUT_OF_RANGE and one at it returns the records
// from there, ListOffsets earliest gives it, closed segments wholly below it are deleted at once
// (the one holding it stays), and the new start survives a clean restart and a kill -9. Kafka's
// errors: past the log end OFFSET_OUT_OF_RANGE, unknown partitions UNKNOWN_TOPIC_OR_PARTITION,
// the internal __consumer_offsets INVALID_TOPIC_EXCEPTION. kafkajs's deleteTopicRecords too.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { deleteRecordsCodec } from "../../src/protocol/delete_records.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const TOPIC = "dr";
const VALUE = "x".repeat(100);

/** Base offsets of a partition dir's segments, ascending. */
const segmentBases = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);

describe("DeleteRecords", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  const dir = () => join(broker.logDir, `${TOPIC}-0`);

  const createTopic = async (name: string, partitions: number, segmentBytes: number) => {
    const res = await c.request(createTopicsCodec, 3, {
      topics: [
        {
          name,
          numPartitions: partitions,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: "segment.bytes", value: String(segmentBytes) }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(res.topics[0].errorCode, 0);
  };

  /** One batch per record, acks=1, values "v<offset>" when the partition started empty. */
  const produce = async (topic: string, from: number, count: number, partition = 0) => {
    for (let i = from; i < from + count; i++) {
      const res = await c.request(produceCodec, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topics: [
          {
            name: topic,
            partitions: [
              {
                partitionIndex: partition,
                records: encodeBatch([{ key: `k${i}`, value: `v${i}:${VALUE}` }]),
              },
            ],
          },
        ],
      });
      assert.equal(res.responses[0].partitions[0].errorCode, 0);
    }
  };

  const deleteRecords = async (
    parts: { topic: string; partition: number; offset: number }[],
    version = 2,
    timeoutMs = 5000,
  ) => {
    const byTopic = new Map<string, { partitionIndex: number; offset: number }[]>();
    for (const p of parts) {
      const list = byTopic.get(p.topic) ?? [];
      list.push({ partitionIndex: p.partition, offset: p.offset });
      byTopic.set(p.topic, list);
    }
    return c.request(deleteRecordsCodec, version, {
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      timeoutMs,
    });
  };

  const deleteOne = async (topic: string, partition: number, offset: number, version = 2) => {
    const res = await deleteRecords([{ topic, partition, offset }], version);
    assert.equal(res.topics.length, 1);
    assert.equal(res.topics[0].name, topic);
    assert.equal(res.topics[0].partitions.length, 1);
    assert.equal(res.topics[0].partitions[0].partitionIndex, partition);
    return res.topics[0].partitions[0];
  };

  const values = async (topic: string, from: number) =>
    (await c.readAll(topic, 0, from)).map((r) => r.value?.toString().split(":")[0]);

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    // ~170-byte batches, 1024-byte segments: six batches a segment, about seven segments.
    await createTopic(TOPIC, 1, 1024);
    await produce(TOPIC, 0, 40);
  });
  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  /** An offset strictly inside a segment that is not the first (so no segment base gives it). */
  let mid = -1;

  it("to an offset mid-log: low watermark = the offset; fetch below OFFSET_OUT_OF_RANGE, at it the records from there", async () => {
    const before = segmentBases(dir());
    assert.ok(before.length >= 5, `segments: ${before}`);
    mid = before[2] + 2;
    assert.ok(mid < before[3]);
    const r = await deleteOne(TOPIC, 0, mid);
    assert.deepEqual(r, { partitionIndex: 0, lowWatermark: mid, errorCode: 0 });

    const below = await c.fetchPartition(TOPIC, 0, mid - 1);
    assert.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(below.logStartOffset, mid);
    const zero = await c.fetchPartition(TOPIC, 0, 0);
    assert.equal(zero.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const at = await c.fetchPartition(TOPIC, 0, mid);
    assert.equal(at.errorCode, 0);
    assert.equal(at.logStartOffset, mid);
    assert.ok(at.records.length > 0);
    const read = await values(TOPIC, mid);
    assert.equal(read.length, 40 - mid);
    assert.equal(read[0], `v${mid}`);
    assert.equal(read[read.length - 1], "v39");

    const earliest = await c.listOffset(TOPIC, 0, -2);
    assert.equal(earliest.errorCode, 0);
    assert.equal(earliest.offset, mid);
    assert.equal((await c.listOffset(TOPIC, 0, -1)).offset, 40);

    // Segments wholly below the new start are gone at once; the one holding it stays.
    const after = segmentBases(dir());
    assert.deepEqual(after, before.slice(2));
    assert.ok(!fs.existsSync(join(dir(), `${String(before[0]).padStart(20, "0")}.index`)));
  });

  it("an offset at or below the log start changes nothing and answers the current start (v0, v1, v2)", async () => {
    for (const version of [0, 1, 2]) {
      for (const offset of [0, mid - 1, mid]) {
        const r = await deleteOne(TOPIC, 0, offset, version);
        assert.deepEqual(
          r,
          { partitionIndex: 0, lowWatermark: mid, errorCode: 0 },
          `v${version} offset ${offset}`,
        );
      }
    }
    assert.equal((await c.listOffset(TOPIC, 0, -2)).offset, mid);
  });

  it("past the log end (or a negative offset other than -1) is OFFSET_OUT_OF_RANGE", async () => {
    for (const offset of [41, 1_000_000, -2]) {
      const r = await deleteOne(TOPIC, 0, offset);
      assert.deepEqual(r, { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
    }
    assert.equal((await c.listOffset(TOPIC, 0, -2)).offset, mid);
  });

  it("unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION, answered beside the others", async () => {
    const res = await deleteRecords([
      { topic: TOPIC, partition: 5, offset: 0 },
      { topic: TOPIC, partition: -1, offset: 0 },
      { topic: "no-such-topic", partition: 0, offset: 3 },
      { topic: TOPIC, partition: 0, offset: mid },
    ]);
    const got = res.topics
      .flatMap((t) =>
        t.partitions.map((p) => `${t.name}-${p.partitionIndex} ${p.errorCode} ${p.lowWatermark}`),
      )
      .sort();
    assert.deepEqual(
      got,
      [
        `${TOPIC}--1 ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} -1`,
        `${TOPIC}-0 0 ${mid}`,
        `${TOPIC}-5 ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} -1`,
        `no-such-topic-0 ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} -1`,
      ].sort(),
    );
  });

  it("__consumer_offsets (internal) is refused: INVALID_TOPIC_EXCEPTION", async () => {
    // A memberless offset commit creates the offsets topic.
    const kafka = new Kafka({ clientId: "dr", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({
        groupId: "dr-group",
        topic: TOPIC,
        partitions: [{ partition: 0, offset: String(mid) }],
      });
    } finally {
      await admin.disconnect();
    }
    const r = await deleteOne("__consumer_offsets", 0, -1);
    assert.deepEqual(r, {
      partitionIndex: 0,
      lowWatermark: -1,
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
    });
  });

  it("-1 deletes up to the log end, after a produce sent just before it on the same connection", async () => {
    await createTopic("dr-all", 2, 1024);
    await produce("dr-all", 0, 20, 1);
    // Not awaited: the batch goes through the partition's ring before the deletion does.
    const produced = c.request(produceCodec, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: [
        { name: "dr-all", partitions: [{ partitionIndex: 1, records: encodeBatch([{ value: "last" }]) }] },
      ],
    });
    const deleted = deleteRecords([
      { topic: "dr-all", partition: 1, offset: -1 },
      { topic: "dr-all", partition: 0, offset: -1 },
    ]);
    assert.equal((await produced).responses[0].partitions[0].errorCode, 0);
    const res = await deleted;
    const byPartition = new Map(res.topics[0].partitions.map((p) => [p.partitionIndex, p]));
    assert.deepEqual(byPartition.get(1), { partitionIndex: 1, lowWatermark: 21, errorCode: 0 });
    // An empty partition: the log end is 0, nothing to delete.
    assert.deepEqual(byPartition.get(0), { partitionIndex: 0, lowWatermark: 0, errorCode: 0 });

    const p1 = join(broker.logDir, "dr-all-1");
    assert.equal((await c.listOffset("dr-all", 1, -2)).offset, 21);
    assert.equal((await c.listOffset("dr-all", 1, -1)).offset, 21);
    const at = await c.fetchPartition("dr-all", 1, 21);
    assert.equal(at.errorCode, 0);
    assert.equal(at.records.length, 0);
    assert.equal((await c.fetchPartition("dr-all", 1, 20)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    // Every closed segment is below the log end: only the active one is left.
    assert.equal(segmentBases(p1).length, 1);
    // Appends go on from there and are read from the log start.
    await produce("dr-all", 100, 2, 1);
    const read = (await c.readAll("dr-all", 1, 21)).map((r) => r.offset);
    assert.deepEqual(read, [21, 22]);
  });

  it("a timeout_ms of 0 still deletes (Kafka's local deletion does not wait on it)", async () => {
    await createTopic("dr-zero", 1, 1024);
    await produce("dr-zero", 0, 5);
    const res = await deleteRecords([{ topic: "dr-zero", partition: 0, offset: 3 }], 2, 0);
    assert.deepEqual(res.topics[0].partitions[0], { partitionIndex: 0, lowWatermark: 3, errorCode: 0 });
  });

  it("kafkajs deleteTopicRecords moves the log start", async () => {
    await createTopic("dr-kafkajs", 1, 1024);
    await produce("dr-kafkajs", 0, 12);
    const kafka = new Kafka({ clientId: "dr", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // kafkajs finds the partition's leader in the metadata it has: load it first.
      await admin.fetchTopicMetadata({ topics: ["dr-kafkajs"] });
      await admin.deleteTopicRecords({ topic: "dr-kafkajs", partitions: [{ partition: 0, offset: "7" }] });
      const offsets = await admin.fetchTopicOffsets("dr-kafkajs");
      assert.equal(offsets[0].low, "7");
      assert.equal(offsets[0].high, "12");
    } finally {
      await admin.disconnect();
    }
  });

  it("the new log start survives a clean restart", async () => {
    c.close();
    await broker.restart();
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.listOffset(TOPIC, 0, -2)).offset, mid);
    assert.equal((await c.fetchPartition(TOPIC, 0, mid - 1)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal((await values(TOPIC, mid))[0], `v${mid}`);
    assert.equal((await c.listOffset("dr-all", 1, -2)).offset, 21);
    assert.equal((await c.listOffset("dr-zero", 0, -2)).offset, 3);
  });

  it("a deletion answered just before a kill -9 survives it", async () => {
    const bases = segmentBases(dir());
    // Inside a segment again (not at a base), and no clean shutdown to write the checkpoint.
    const next = bases[1] + 1;
    assert.ok(next < bases[2]);
    assert.deepEqual(await deleteOne(TOPIC, 0, next), {
      partitionIndex: 0,
      lowWatermark: next,
      errorCode: 0,
    });
    c.close();
    await broker.kill();
    await broker.launch();
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.listOffset(TOPIC, 0, -2)).offset, next);
    assert.equal((await c.fetchPartition(TOPIC, 0, next - 1)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const read = await values(TOPIC, next);
    assert.equal(read[0], `v${next}`);
    assert.equal(read.length, 40 - next);
    assert.deepEqual(segmentBases(dir()), bases.slice(1));
    // The others too (their starts were in the checkpoint before the kill).
    assert.equal((await c.listOffset("dr-all", 1, -2)).offset, 21);
    assert.equal((await c.listOffset("dr-kafkajs", 0, -2)).offset, 7);
  });

  it("a topic deleted and created again under the same name starts at 0, also after a kill -9", async () => {
    const del = await c.request(deleteTopicsCodec, 4, { topicNames: ["dr-zero"], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, 0);
    await createTopic("dr-zero", 1, 1024);
    await produce("dr-zero", 0, 6);
    c.close();
    await broker.kill();
    await broker.launch();
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.listOffset("dr-zero", 0, -2)).offset, 0);
    assert.deepEqual(await values("dr-zero", 0), ["v0", "v1", "v2", "v3", "v4", "v5"]);
  });
});
