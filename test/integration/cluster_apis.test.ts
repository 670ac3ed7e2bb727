// The cluster-shaped APIs of one broker (issue 9), on codecs derived from Kafka's specs:
// CreatePartitions (raw, every version, its errors; and kafkajs admin.createPartitions, whose
// new partitions take records and survive a restart), DescribeCluster and OffsetForLeaderEpoch.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { createPartitionsCodec } from "../../src/protocol/create_partitions.ts";
import { describeClusterCodec } from "../../src/protocol/describe_cluster.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { offsetForLeaderEpochCodec } from "../../src/protocol/offset_for_leader_epoch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

describe("CreatePartitions, DescribeCluster, OffsetForLeaderEpoch", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "auto.create.topics.enable": false, "max.broker.partitions": 120 },
    });
    c = await RawClient.tcp(broker.bootstrap);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  const partitionsOf = async (topic: string) =>
    (await c.request(metadataCodec, 1, metadataRequest([topic], false))).topics[0].partitions.length;

  const grow = async (
    version: number,
    name: string,
    count: number,
    validateOnly = false,
    assignments = null,
  ) =>
    (
      await c.request(createPartitionsCodec, version, {
        topics: [{ name, count, assignments }],
        timeoutMs: 5000,
        validateOnly,
      })
    ).results[0];

  it("grows a topic in every version; refuses fewer, the same, unknown topics, other brokers, past the limit", async () => {
    assert.equal((await c.createTopic("grown", 1)).errorCode, 0);
    for (const [v, n] of [
      [0, 2],
      [1, 3],
      [2, 4],
      [3, 5],
    ]) {
      const r = await grow(v, "grown", n);
      assert.equal(r.errorCode, 0, `v${v}: ${r.errorMessage}`);
      assert.equal(await partitionsOf("grown"), n);
    }
    const fewer = await grow(3, "grown", 2);
    assert.equal(fewer.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.match(
      fewer.errorMessage ?? "",
      /currently has 5 partitions, which is higher than the requested 2/,
    );
    assert.equal((await grow(3, "grown", 5)).errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal((await grow(3, "missing", 5)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const elsewhere = await c.request(createPartitionsCodec, 3, {
      topics: [{ name: "grown", count: 6, assignments: [{ brokerIds: [7] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(elsewhere.results[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await grow(3, "grown", 500, true)).errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal((await grow(3, "grown", 500)).errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal((await grow(3, "grown", 7, true)).errorCode, 0);
    assert.equal(await partitionsOf("grown"), 5, "validateOnly changes nothing");
  });

  it("kafkajs admin.createPartitions: the new partitions take records and are there after a restart", async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "grow", logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kafkajs-grown", numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: "kafkajs-grown", count: 6 }] });
    const md = await admin.fetchTopicMetadata({ topics: ["kafkajs-grown"] });
    await admin.disconnect();
    assert.equal(md.topics[0].partitions.length, 6);
    const res = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "kafkajs-grown",
          partitions: [{ partitionIndex: 5, records: encodeBatch([{ key: null, value: "p5" }]) }],
        },
      ],
    });
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
    c.close();
    await broker.stop();
    await broker.launch();
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal(await partitionsOf("kafkajs-grown"), 6);
    assert.deepEqual(
      (await c.readAll("kafkajs-grown", 5)).map((r) => r.value?.toString()),
      ["p5"],
    );
  });

  it("DescribeCluster v0-v1: this broker, as cluster and controller", async () => {
    for (const v of [0, 1]) {
      const r = await c.request(describeClusterCodec, v, {
        includeClusterAuthorizedOperations: false,
        endpointType: 1,
      });
      assert.equal(r.errorCode, 0);
      assert.equal(r.brokers.length, 1);
      assert.equal(r.brokers[0].port, Number(broker.bootstrap.split(":")[1]));
      assert.equal(r.controllerId, r.brokers[0].brokerId);
      assert.ok(r.clusterId.length > 0);
    }
    const controllers = await c.request(describeClusterCodec, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 2,
    });
    assert.equal(controllers.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });

  it("OffsetForLeaderEpoch v0-v4: epoch 0 ends at the log end; others have no end; a newer current epoch is unknown", async () => {
    const ask = (v: number, leaderEpoch: number, currentLeaderEpoch = -1, partition = 5) =>
      c.request(offsetForLeaderEpochCodec, v, {
        replicaId: -1,
        topics: [{ topic: "kafkajs-grown", partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }],
      });
    for (let v = 0; v <= 4; v++) {
      const p = (await ask(v, 0)).topics[0].partitions[0];
      assert.equal(p.errorCode, 0);
      assert.equal(p.endOffset, 1, `v${v}`);
      if (v >= 1) assert.equal(p.leaderEpoch, 0);
    }
    const later = (await ask(4, 3)).topics[0].partitions[0];
    assert.deepEqual([later.errorCode, later.leaderEpoch, later.endOffset], [0, -1, -1]);
    assert.equal((await ask(4, 0, 2)).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal(
      (await ask(4, 0, -1, 99)).topics[0].partitions[0].errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });
});
