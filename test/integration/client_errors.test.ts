// Typed errors: every broker error code Milena's client can meet through its API comes back as
// the KafkaProtocolError subclass for it, carrying Kafka's code and name, whether it is retriable,
// and the topic/partition; over TCP and over WebSocket. Produce (unknown topic or partition,
// invalid topic, message too large, invalid acks, unsupported compression, storage error on a
// full disk), consume (offset out of range, unknown topic or partition), admin (topic exists,
// invalid topic / partitions / replication factor / replica assignment / config / request,
// unknown topic, deletion disabled, several errors at once), and the client's own errors
// (connection refused, not connected). The codes no client request can provoke (CORRUPT_MESSAGE,
// INVALID_RECORD, UNSUPPORTED_VERSION: the client always builds valid batches at agreed
// versions) are checked on the mapping.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type Admin,
  ConfigResourceTypes,
  ConnectionError,
  CorruptMessageError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidRecordError,
  InvalidReplicaAssignmentError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  InvalidRequiredAcksError,
  InvalidTopicError,
  KafkaProtocolError,
  KafkaStorageError,
  MessageTooLargeError,
  Milena,
  MilenaAggregateError,
  MilenaError,
  NotConnectedError,
  OffsetOutOfRangeError,
  protocolError,
  TopicAlreadyExistsError,
  TopicDeletionDisabledError,
  UnknownTopicOrPartitionError,
  UnsupportedCompressionTypeError,
  UnsupportedVersionError,
} from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

type ErrorClass = abstract new (...args: never[]) => KafkaProtocolError;

/** Assert `p` rejects with the typed error for `code`. */
async function rejectsWith(
  p: Promise<unknown>,
  cls: ErrorClass,
  code: number,
  type: string,
  retriable: boolean,
  where: { topic?: string; partition?: number } = {},
): Promise<KafkaProtocolError> {
  let caught: unknown = null;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  const e = caught as KafkaProtocolError;
  assert.ok(e instanceof KafkaProtocolError && e instanceof MilenaError && e instanceof Error);
  assert.equal(e.code, code);
  assert.equal(e.type, type);
  assert.equal(e.retriable, retriable, `${type} retriable`);
  assert.ok(e.message.includes(type), e.message);
  if (where.topic !== undefined) assert.equal(e.topic, where.topic);
  if (where.partition !== undefined) assert.equal(e.partition, where.partition);
  return e;
}

const FAST_RETRY = { retries: 1, initialRetryTime: 10, maxRetryTime: 50 };

describe("typed errors", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
  });

  after(async () => {
    await broker?.destroy();
  });

  for (const transport of ["tcp", "ws"] as const) {
    describe(`over ${transport === "tcp" ? "TCP" : "WebSocket"}`, () => {
      let milena: Milena;
      let admin: Admin;
      const topic = `errors-${transport}`;
      const small = `small-${transport}`;

      before(async () => {
        milena = new Milena({
          bootstrap: transport === "tcp" ? broker.bootstrap : broker.wsUrl,
          retry: FAST_RETRY,
          // A stand-in zstd codec, so that the client sends a batch the broker refuses.
          codecs: { 4: { compress: (d) => d.slice(), decompress: (d) => d.slice() } },
        });
        admin = milena.admin();
        await admin.connect();
        await admin.createTopics({
          topics: [
            { topic, numPartitions: 1 },
            { topic: small, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "1024" }] },
          ],
        });
      });

      after(async () => {
        await admin?.disconnect();
      });

      it("produce errors", async () => {
        const producer = milena.producer({ acks: 1 });
        await assert.rejects(producer.send({ topic, messages: [{ value: "x" }] }), NotConnectedError);
        await producer.connect();
        try {
          await rejectsWith(
            producer.send({ topic: "no-such-topic", messages: [{ value: "x" }] }),
            UnknownTopicOrPartitionError,
            3,
            "UNKNOWN_TOPIC_OR_PARTITION",
            true,
            { topic: "no-such-topic" },
          );
          await rejectsWith(
            producer.send({ topic, messages: [{ value: "x", partition: 5 }] }),
            UnknownTopicOrPartitionError,
            3,
            "UNKNOWN_TOPIC_OR_PARTITION",
            true,
            { topic, partition: 5 },
          );
          await rejectsWith(
            producer.send({ topic: "bad topic!", messages: [{ value: "x" }] }),
            InvalidTopicError,
            17,
            "INVALID_TOPIC_EXCEPTION",
            false,
            { topic: "bad topic!" },
          );
          // The broker's max.message.bytes (a topic override of 1024).
          await rejectsWith(
            producer.send({ topic: small, messages: [{ value: Buffer.alloc(3000, 1) }] }),
            MessageTooLargeError,
            10,
            "MESSAGE_TOO_LARGE",
            false,
            { topic: small, partition: 0 },
          );
          await rejectsWith(
            producer.send({ topic, acks: 2, messages: [{ value: "x" }] }),
            InvalidRequiredAcksError,
            21,
            "INVALID_REQUIRED_ACKS",
            false,
            { topic, partition: 0 },
          );
          await rejectsWith(
            producer.send({ topic, compression: "zstd", messages: [{ value: "x" }] }),
            UnsupportedCompressionTypeError,
            76,
            "UNSUPPORTED_COMPRESSION_TYPE",
            false,
            { topic, partition: 0 },
          );
          // The same conditions found by the client first, with the same types.
          await rejectsWith(
            producer.send({ topic, compression: "snappy", messages: [{ value: "x" }] }),
            UnsupportedCompressionTypeError,
            76,
            "UNSUPPORTED_COMPRESSION_TYPE",
            false,
          );
          const limited = milena.producer({ maxRequestSize: 10_000 });
          await limited.connect();
          await rejectsWith(
            limited.send({ topic, messages: [{ value: Buffer.alloc(20_000) }] }),
            MessageTooLargeError,
            10,
            "MESSAGE_TOO_LARGE",
            false,
            { topic },
          );
          await limited.disconnect();
          // After all that, the producer still works.
          const ok = await producer.send({ topic, messages: [{ value: "fine" }] });
          assert.equal(ok[0].errorCode, 0);
        } finally {
          await producer.disconnect();
        }
        await assert.rejects(producer.send({ topic, messages: [{ value: "x" }] }), NotConnectedError);
      });

      it("consume errors", async () => {
        const consumer = milena.consumer({ autoOffsetReset: "none", maxWaitTimeInMs: 50 });
        await consumer.connect();
        try {
          await rejectsWith(
            consumer.assign([{ topic: "no-such-topic" }]),
            UnknownTopicOrPartitionError,
            3,
            "UNKNOWN_TOPIC_OR_PARTITION",
            true,
            { topic: "no-such-topic" },
          );
          await consumer.assign([{ topic, partitions: [0], offset: 1000 }]);
          const it = consumer.records();
          await rejectsWith(it.next(), OffsetOutOfRangeError, 1, "OFFSET_OUT_OF_RANGE", false, {
            topic,
            partition: 0,
          });
          // seek() restarts the partition.
          await consumer.seek({ topic, partition: 0, offset: "earliest" });
          const r = await it.next();
          assert.equal(r.done, false);
          assert.equal(r.value?.offset, 0);

          await consumer.assign([{ topic, partitions: [7], offset: 0 }]);
          await rejectsWith(
            consumer.records().next(),
            UnknownTopicOrPartitionError,
            3,
            "UNKNOWN_TOPIC_OR_PARTITION",
            true,
            {
              topic,
              partition: 7,
            },
          );
          // No position and autoOffsetReset "none".
          await consumer.assign([{ topic, partitions: [0] }]);
          await rejectsWith(
            consumer.records().next(),
            OffsetOutOfRangeError,
            1,
            "OFFSET_OUT_OF_RANGE",
            false,
            {
              topic,
              partition: 0,
            },
          );
        } finally {
          await consumer.disconnect();
        }
        // With autoOffsetReset "earliest", out of range resets instead.
        const resetting = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
        await resetting.connect();
        try {
          await resetting.assign([{ topic, partitions: [0], offset: 1000 }]);
          const r = await resetting.records().next();
          assert.equal(r.value?.offset, 0);
        } finally {
          await resetting.disconnect();
        }
      });

      it("admin errors", async () => {
        await rejectsWith(
          admin.createTopics({ topics: [{ topic }], failIfExists: true }),
          TopicAlreadyExistsError,
          36,
          "TOPIC_ALREADY_EXISTS",
          false,
          { topic },
        );
        assert.equal(await admin.createTopics({ topics: [{ topic }] }), false, "kafkajs: false, no error");
        await rejectsWith(
          admin.createTopics({ topics: [{ topic: "bad name!" }] }),
          InvalidTopicError,
          17,
          "INVALID_TOPIC_EXCEPTION",
          false,
          { topic: "bad name!" },
        );
        await rejectsWith(
          admin.createTopics({ topics: [{ topic: `zero-${transport}`, numPartitions: 0 }] }),
          InvalidPartitionsError,
          37,
          "INVALID_PARTITIONS",
          false,
        );
        await rejectsWith(
          admin.createTopics({
            topics: [{ topic: `rf-${transport}`, numPartitions: 1, replicationFactor: 3 }],
          }),
          InvalidReplicationFactorError,
          38,
          "INVALID_REPLICATION_FACTOR",
          false,
        );
        await rejectsWith(
          admin.createTopics({
            topics: [{ topic: `ra-${transport}`, replicaAssignment: [{ partition: 0, replicas: [99] }] }],
          }),
          InvalidReplicaAssignmentError,
          39,
          "INVALID_REPLICA_ASSIGNMENT",
          false,
        );
        await rejectsWith(
          admin.createTopics({
            topics: [{ topic: `cfg-${transport}`, configEntries: [{ name: "retention.ms", value: "soon" }] }],
          }),
          InvalidConfigError,
          40,
          "INVALID_CONFIG",
          false,
        );
        await rejectsWith(
          admin.createTopics({ topics: [{ topic: `twice-${transport}` }, { topic: `twice-${transport}` }] }),
          InvalidRequestError,
          42,
          "INVALID_REQUEST",
          false,
        );
        // Several at once: one aggregate carrying each typed error.
        let agg: unknown = null;
        try {
          await admin.createTopics({
            topics: [{ topic: "bad one!" }, { topic: `zero2-${transport}`, numPartitions: 0 }],
          });
        } catch (e) {
          agg = e;
        }
        assert.ok(agg instanceof MilenaAggregateError, String(agg));
        assert.equal(agg.errors.length, 2);
        assert.ok(agg.errors[0] instanceof InvalidTopicError);
        assert.ok(agg.errors[1] instanceof InvalidPartitionsError);
        assert.equal(agg.retriable, false);

        await rejectsWith(
          admin.deleteTopics({ topics: ["no-such-topic"] }),
          UnknownTopicOrPartitionError,
          3,
          "UNKNOWN_TOPIC_OR_PARTITION",
          true,
          { topic: "no-such-topic" },
        );
        await rejectsWith(
          admin.fetchTopicMetadata({ topics: ["no-such-topic"] }),
          UnknownTopicOrPartitionError,
          3,
          "UNKNOWN_TOPIC_OR_PARTITION",
          true,
        );
        await rejectsWith(
          admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: "no-such-topic" }] }),
          UnknownTopicOrPartitionError,
          3,
          "UNKNOWN_TOPIC_OR_PARTITION",
          true,
          { topic: "no-such-topic" },
        );
        await rejectsWith(
          admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: "4242" }] }),
          InvalidRequestError,
          42,
          "INVALID_REQUEST",
          false,
        );
        await rejectsWith(
          admin.alterConfigs({
            resources: [
              {
                type: ConfigResourceTypes.TOPIC,
                name: topic,
                configEntries: [{ name: "retention.ms", value: "x" }],
              },
            ],
          }),
          InvalidConfigError,
          40,
          "INVALID_CONFIG",
          false,
          { topic },
        );
        await rejectsWith(
          admin.alterConfigs({
            resources: [
              {
                type: ConfigResourceTypes.BROKER,
                name: "0",
                configEntries: [{ name: "log.retention.ms", value: "1" }],
              },
            ],
          }),
          InvalidRequestError,
          42,
          "INVALID_REQUEST",
          false,
        );
        await rejectsWith(
          admin.incrementalAlterConfigs({
            resources: [
              {
                type: ConfigResourceTypes.TOPIC,
                name: "no-such-topic",
                configEntries: [{ name: "retention.ms", value: "1" }],
              },
            ],
          }),
          UnknownTopicOrPartitionError,
          3,
          "UNKNOWN_TOPIC_OR_PARTITION",
          true,
        );
      });

      it("connection errors are typed and retriable", async () => {
        const dead = new Milena({
          bootstrap: transport === "tcp" ? "127.0.0.1:1" : "ws://127.0.0.1:1",
          retry: { retries: 0 },
          connectionTimeout: 2000,
        });
        const p = dead.producer();
        let caught: unknown = null;
        try {
          await p.connect();
        } catch (e) {
          caught = e;
        }
        assert.ok(caught instanceof ConnectionError, String(caught));
        assert.equal(caught.retriable, true);
        assert.match(caught.message, /127\.0\.0\.1:1/);
      });
    });
  }

  it("TOPIC_DELETION_DISABLED when the broker refuses deletes", async () => {
    const locked = await BrokerProcess.start({ overrides: { "delete.topic.enable": false } });
    try {
      const milena = new Milena({ bootstrap: locked.wsUrl });
      const admin = milena.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "kept" }] });
      await rejectsWith(
        admin.deleteTopics({ topics: ["kept"] }),
        TopicDeletionDisabledError,
        73,
        "TOPIC_DELETION_DISABLED",
        false,
        { topic: "kept" },
      );
      await admin.disconnect();
    } finally {
      await locked.destroy();
    }
  });

  it("codes no client request can provoke still map to their types", () => {
    const cases: [number, ErrorClass, string, boolean][] = [
      [2, CorruptMessageError, "CORRUPT_MESSAGE", true],
      [87, InvalidRecordError, "INVALID_RECORD", false],
      [35, UnsupportedVersionError, "UNSUPPORTED_VERSION", false],
      [56, KafkaStorageError, "KAFKA_STORAGE_ERROR", true],
      [6, KafkaProtocolError, "NOT_LEADER_OR_FOLLOWER", true],
    ];
    for (const [code, cls, type, retriable] of cases) {
      const e = protocolError(code, "detail", { topic: "t", partition: 1 });
      assert.ok(e instanceof cls);
      assert.deepEqual([e.code, e.type, e.retriable, e.topic, e.partition], [code, type, retriable, "t", 1]);
      assert.equal(e.message, `${type} (t-1): detail`);
    }
    const unknown = protocolError(9999);
    assert.equal(unknown.type, "UNKNOWN_ERROR_9999");
    assert.equal(unknown.retriable, false);
  });
});

// A full disk, for real (tmpfs): the producer's retries run out on KAFKA_STORAGE_ERROR and the
// send rejects with the retriable KafkaStorageError. Skipped where tmpfs cannot be mounted (not
// root); the mount is made in before() and undone in after().
describe("KAFKA_STORAGE_ERROR on a full disk", () => {
  let broker: BrokerProcess | undefined;
  let mountPoint = "";
  let cannotMount: string | null = null;

  before(async () => {
    mountPoint = fs.mkdtempSync(join(tmpdir(), "milena-client-full-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=4194304", "tmpfs", mountPoint], { stdio: "pipe" });
    } catch (e) {
      cannotMount = `cannot mount a tmpfs here: ${(e as Error).message.split("\n")[0]}`;
      return;
    }
    const logDir = join(mountPoint, "logs");
    fs.mkdirSync(logDir);
    broker = await BrokerProcess.start({ logDir, overrides: { "num.partition.writers": 1 } });
  });

  after(async () => {
    await broker?.kill();
    if (cannotMount === null && mountPoint !== "") {
      try {
        execFileSync("umount", [mountPoint]);
      } catch {
        // best effort
      }
    }
    if (mountPoint !== "") fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  it("rejects sends with KafkaStorageError once retries run out", async (t) => {
    if (cannotMount !== null || broker === undefined) {
      t.skip(cannotMount ?? "no broker");
      return;
    }
    const milena = new Milena({ bootstrap: broker.wsUrl, retry: FAST_RETRY });
    const admin = milena.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "full", numPartitions: 1 }] });
    await admin.disconnect();
    const producer = milena.producer({ acks: -1 });
    await producer.connect();
    await producer.send({ topic: "full", messages: [{ value: "before" }] });
    const fd = fs.openSync(join(mountPoint, "filler"), "w");
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch {
      // ENOSPC
    }
    try {
      for (;;) fs.writeSync(fd, chunk.subarray(0, 512));
    } catch {
      // really full
    }
    fs.closeSync(fd);
    let storageErrors = 0;
    for (let i = 0; i < 5; i++) {
      try {
        await producer.send({ topic: "full", messages: [{ value: Buffer.alloc(4000, i) }] });
      } catch (e) {
        assert.ok(e instanceof KafkaStorageError, String(e));
        assert.equal(e.code, 56);
        assert.equal(e.type, "KAFKA_STORAGE_ERROR");
        assert.equal(e.retriable, true);
        assert.equal(e.topic, "full");
        storageErrors++;
      }
    }
    assert.ok(storageErrors > 0, "a full disk refuses sends");
    fs.rmSync(join(mountPoint, "filler"));
    const ok = await producer.send({ topic: "full", messages: [{ value: "after" }] });
    assert.equal(ok[0].errorCode, 0);
    await producer.disconnect();
  });
});
