// The newest versions, against a real broker: topic ids (Metadata v10+ returns them, v12 asks by
// them, Fetch v13+ and DeleteTopics v6 name topics by them, CreateTopics v7 answers them),
// ListOffsets v7's max timestamp, CreateTopics v5+'s configs in the answer, and Milena's own
// producer, idempotent by default: its batches carry the producer id InitProducerId gave and
// sequence numbers that run on without a gap per partition.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Milena } from "../../src/index.ts";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { consumerFetch, fetchCodec, fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { listOffsetsCodec } from "../../src/protocol/list_offsets.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { BASE_SEQUENCE, PRODUCER_EPOCH, PRODUCER_ID, RECORD_COUNT } from "../../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ZERO = new Uint8Array(16);

describe("newest versions", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  it("CreateTopics v7 answers the topic id, partitions, replication and configs; Metadata v10+ returns the same id", async () => {
    const res = await c.request(createTopicsCodec, 7, {
      topics: [
        {
          name: "ids-a",
          numPartitions: 2,
          replicationFactor: -1,
          configs: [{ name: "retention.ms", value: "3600000" }],
        },
      ],
      timeoutMs: 5000,
    });
    const t = res.topics[0];
    assert.equal(t.errorCode, 0, t.errorMessage ?? "");
    assert.notEqual(hex(t.topicId), hex(ZERO));
    assert.equal(t.numPartitions, 2);
    assert.equal(t.replicationFactor, 1);
    const retention = t.configs?.find((x) => x.name === "retention.ms");
    assert.deepEqual([retention?.value, retention?.configSource], ["3600000", 1]); // DYNAMIC_TOPIC_CONFIG
    for (const v of [10, 11, 12]) {
      const md = await c.request(metadataCodec, v, metadataRequest(["ids-a"], false));
      assert.equal(md.topics[0].errorCode, 0);
      assert.equal(hex(md.topics[0].topicId), hex(t.topicId), `Metadata v${v}`);
      assert.deepEqual(
        md.topics[0].partitions.map((p) => p.leaderEpoch),
        [0, 0],
      );
    }
    // Below v10 there is no topic id on the wire: it decodes as zeros.
    const v9 = await c.request(metadataCodec, 9, metadataRequest(["ids-a"], false));
    assert.equal(hex(v9.topics[0].topicId), hex(ZERO));
    // The same name again: TOPIC_ALREADY_EXISTS, -1 / -1 and no configs.
    const again = await c.request(createTopicsCodec, 7, {
      topics: [{ name: "ids-a", numPartitions: 1, replicationFactor: 1 }],
    });
    assert.deepEqual(
      [
        again.topics[0].errorCode,
        again.topics[0].numPartitions,
        again.topics[0].replicationFactor,
        again.topics[0].configs,
      ],
      [ErrorCode.TOPIC_ALREADY_EXISTS, -1, -1, []],
    );
  });

  it("Metadata v12 finds a topic by id alone; an unknown id is UNKNOWN_TOPIC_ID; authorized operations when asked", async () => {
    const id = (await c.request(metadataCodec, 12, metadataRequest(["ids-a"], false))).topics[0].topicId;
    const unknown = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const md = await c.request(metadataCodec, 12, {
      topics: [
        { topicId: id, name: null },
        { topicId: unknown, name: null },
      ],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    assert.deepEqual(
      md.topics.map((t) => [t.name, t.errorCode, hex(t.topicId), t.partitions.length]),
      [
        ["ids-a", 0, hex(id), 2],
        [null, ErrorCode.UNKNOWN_TOPIC_ID, hex(unknown), 0],
      ],
    );
    // Every topic operation Kafka lists without an authorizer: READ WRITE CREATE DELETE ALTER
    // DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS (AclOperation codes 3-8, 10, 11).
    assert.equal(
      md.topics[0].topicAuthorizedOperations,
      [3, 4, 5, 6, 7, 8, 10, 11].reduce((a, op) => a | (1 << op), 0),
    );
    const notAsked = await c.request(metadataCodec, 10, metadataRequest(["ids-a"], false));
    assert.equal(notAsked.topics[0].topicAuthorizedOperations, -2147483648);
  });

  it("Metadata v10-11 may not ask by id: INVALID_REQUEST for that topic, and the connection lives (the fuzzer found the answer could not be encoded)", async () => {
    const id = (await c.request(metadataCodec, 12, metadataRequest(["ids-a"], false))).topics[0].topicId;
    for (const v of [10, 11]) {
      const md = await c.request(metadataCodec, v, {
        topics: [{ topicId: id, name: null }, { name: "ids-a" }],
        allowAutoTopicCreation: false,
      });
      assert.deepEqual(
        md.topics.map((t) => [t.name, t.errorCode]),
        [
          ["", ErrorCode.INVALID_REQUEST],
          ["ids-a", 0],
        ],
        `Metadata v${v}`,
      );
    }
  });

  it("Fetch v13+ names the topic by id; an unknown id answers UNKNOWN_TOPIC_ID", async () => {
    const id = (await c.request(metadataCodec, 12, metadataRequest(["ids-a"], false))).topics[0].topicId;
    const p = await c.request(produceCodec, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "ids-a",
          partitions: [{ partitionIndex: 1, records: encodeBatch([{ value: "by-id" }, { value: "two" }]) }],
        },
      ],
    });
    assert.equal(p.responses[0].partitions[0].errorCode, 0);
    for (const v of [13, 15, 16, 17]) {
      const f = await c.request(fetchCodec, v, consumerFetch("", 1, 0, { maxWaitMs: 0, topicId: id }));
      const part = f.responses[0].partitions[0];
      assert.equal(part.errorCode, 0, `Fetch v${v}`);
      assert.equal(hex(f.responses[0].topicId ?? ZERO), hex(id));
      const values = splitBatches(fetchRecordsBuffer(part.records))
        .flatMap((b) => decodeBatch(b))
        .map((r) => r.value?.toString());
      assert.deepEqual(values, ["by-id", "two"], `Fetch v${v}`);
    }
    const bad = await c.request(
      fetchCodec,
      13,
      consumerFetch("", 0, 0, { maxWaitMs: 0, topicId: Uint8Array.from({ length: 16 }, () => 7) }),
    );
    assert.equal(bad.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it("ListOffsets v7+ finds the record with the largest timestamp (-3); -4 is the log start, -5 none", async () => {
    assert.equal((await c.createTopic("ids-ts", 1)).errorCode, 0);
    const t0 = 1_700_000_000_000;
    await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "ids-ts",
          partitions: [
            {
              partitionIndex: 0,
              records: encodeBatch([
                { value: "a", timestamp: t0 },
                { value: "b", timestamp: t0 + 50 },
                { value: "c", timestamp: t0 + 10 },
              ]),
            },
          ],
        },
      ],
    });
    const ask = async (v: number, timestamp: number) =>
      (
        await c.request(listOffsetsCodec, v, {
          replicaId: -1,
          topics: [{ name: "ids-ts", partitions: [{ partitionIndex: 0, timestamp }] }],
        })
      ).topics[0].partitions[0];
    const max = await ask(7, -3);
    assert.deepEqual([max.errorCode, max.offset, max.timestamp, max.leaderEpoch], [0, 1, t0 + 50, 0]);
    assert.deepEqual([(await ask(8, -4)).offset, (await ask(9, -5)).offset], [0, -1]);
    assert.deepEqual([(await ask(9, -1)).offset, (await ask(9, -2)).offset], [3, 0]);
    // A current leader epoch above the leader's is UNKNOWN_LEADER_EPOCH (v4+).
    const future = await c.request(listOffsetsCodec, 9, {
      replicaId: -1,
      topics: [{ name: "ids-ts", partitions: [{ partitionIndex: 0, timestamp: -1, currentLeaderEpoch: 5 }] }],
    });
    assert.equal(future.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  });

  it("DeleteTopics v6 deletes by topic id; an unknown id is UNKNOWN_TOPIC_ID", async () => {
    assert.equal((await c.createTopic("ids-doomed", 1)).errorCode, 0);
    const id = (await c.request(metadataCodec, 12, metadataRequest(["ids-doomed"], false))).topics[0].topicId;
    const unknown = Uint8Array.from({ length: 16 }, () => 9);
    const res = await c.request(deleteTopicsCodec, 6, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: unknown },
      ],
      timeoutMs: 5000,
    });
    assert.deepEqual(
      res.responses.map((r) => [r.name, hex(r.topicId), r.errorCode]),
      [
        ["ids-doomed", hex(id), 0],
        [null, hex(unknown), ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    );
    const md = await c.request(metadataCodec, 12, metadataRequest(["ids-doomed"], false));
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it("DeleteTopics v6: a topic named by both name and id, or twice, is INVALID_REQUEST and stays", async () => {
    assert.equal((await c.createTopic("ids-both", 1)).errorCode, 0);
    assert.equal((await c.createTopic("ids-twice", 1)).errorCode, 0);
    const id = (await c.request(metadataCodec, 12, metadataRequest(["ids-both"], false))).topics[0].topicId;
    const res = await c.request(deleteTopicsCodec, 6, {
      topics: [
        { name: "ids-twice", topicId: new Uint8Array(16) },
        { name: "ids-both", topicId: id },
        { name: "ids-twice", topicId: new Uint8Array(16) },
      ],
      timeoutMs: 5000,
    });
    assert.deepEqual(
      res.responses.map((r) => [r.name, r.errorCode]),
      [
        ["ids-twice", ErrorCode.INVALID_REQUEST],
        ["ids-both", ErrorCode.INVALID_REQUEST],
        ["ids-twice", ErrorCode.INVALID_REQUEST],
      ],
    );
    const md = await c.request(metadataCodec, 12, metadataRequest(["ids-both", "ids-twice"], false));
    assert.deepEqual(
      md.topics.map((t) => t.errorCode),
      [0, 0],
    );
  });

  it("Milena's producer is idempotent by default: one producer id, sequences without gaps per partition", async () => {
    const milena = new Milena({ bootstrap: broker.bootstrap });
    const admin = milena.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "ids-idem", numPartitions: 2 }] });
    await admin.disconnect();
    const producer = milena.producer({ batchSize: 1024 });
    await producer.connect();
    try {
      assert.equal(producer.idempotent, true);
      const sends = [];
      for (let i = 0; i < 40; i++)
        sends.push(
          producer.send({
            topic: "ids-idem",
            messages: [{ key: `k${i % 7}`, value: `v${i}`.padEnd(200, ".") }],
          }),
        );
      await Promise.all(sends);
    } finally {
      await producer.disconnect();
    }
    const ids = new Set<string>();
    for (const partition of [0, 1]) {
      const f = await c.fetchPartition("ids-idem", partition, 0);
      let next = 0;
      for (const b of splitBatches(fetchRecordsBuffer(f.records))) {
        ids.add(`${b.readBigInt64BE(PRODUCER_ID)}/${b.readInt16BE(PRODUCER_EPOCH)}`);
        assert.equal(b.readInt32BE(BASE_SEQUENCE), next, `partition ${partition}: sequences follow on`);
        next += b.readInt32BE(RECORD_COUNT);
      }
      assert.ok(next > 0, `partition ${partition} got records`);
    }
    assert.equal(ids.size, 1, `one producer id and epoch: ${[...ids]}`);
    assert.ok(![...ids][0].startsWith("-1/"), "a real producer id");
    // Sends with their own acks 0 on the idempotent producer go without idempotence, and free
    // their in-flight slot: the sixth and later ones, and an acks -1 send after them, complete
    // (they used to hang once five acks-0 batches had been sent).
    const mixed = milena.producer({ batchSize: 1024 });
    await mixed.connect();
    try {
      for (let i = 0; i < 12; i++)
        await mixed.send({ topic: "ids-idem", acks: 0, messages: [{ key: "k0", value: `zero-${i}` }] });
      const [after] = await mixed.send({ topic: "ids-idem", messages: [{ key: "k0", value: "after" }] });
      assert.ok(after.baseOffset >= 0);
    } finally {
      await mixed.disconnect();
    }
    // acks 1 is not idempotent (Kafka's rule): its batches carry no producer id.
    const plain = milena.producer({ acks: 1 });
    await plain.connect();
    assert.equal(plain.idempotent, false);
    await plain.disconnect();
  });
});
