// Consumer groups in a three-broker cluster: __consumer_offsets is replicated (factor 3), the
// coordinator of a group is the leader of its offsets partition. A kafkajs consumer group reads
// and commits; its coordinator is killed with SIGKILL; a consumer of the same group started
// afterwards (finding the new coordinator) goes on from the committed offsets: it reads exactly
// the messages produced after them, none before. Producer ids from InitProducerId are unique
// across the brokers (blocks from ZooKeeper's /latest_producer_id_block).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { findCoordinatorCodec } from "../../src/protocol/find_coordinator.ts";
import { initProducerIdCodec } from "../../src/protocol/init_producer_id.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "../integration/raw_client.ts";

const TOPIC = "grouped";
const GROUP = "cluster-group";

function kafka(c: TestCluster): Kafka {
  return new Kafka({
    clientId: "cluster-groups",
    brokers: c.bootstrap(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

async function coordinatorOf(c: TestCluster, group: string): Promise<number> {
  const client = await RawClient.tcp(c.bootstrap()[0]);
  try {
    const res = await client.request(findCoordinatorCodec, 3, {
      key: group,
      keyType: 0,
      coordinatorKeys: [],
    });
    return res.errorCode === 0 ? res.nodeId : -1;
  } finally {
    client.close();
  }
}

/** Consume with a group until `count` messages arrived (committing as it goes), then stop. */
async function consume(k: Kafka, count: number): Promise<string[]> {
  const consumer = k.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const got: string[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ message }) => {
      got.push(message.value!.toString());
      if (got.length >= count) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    all,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${count}`)), 60_000);
    }),
  ]).finally(() => clearTimeout(timer));
  await consumer.disconnect(); // commits what was consumed
  return got;
}

describe("consumer groups in a cluster", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ brokers: 3, overrides: { "offsets.topic.num.partitions": 6 } });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("gives unique producer ids on every broker", async () => {
    const ids = new Set<string>();
    for (const b of cluster.brokers) {
      const client = await RawClient.tcp(b.bootstrap);
      for (let i = 0; i < 3; i++) {
        const res = await client.request(initProducerIdCodec, 1, {
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          producerId: -1,
          producerEpoch: -1,
        });
        assert.equal(res.errorCode, 0);
        ids.add(String(res.producerId));
      }
      client.close();
    }
    assert.equal(ids.size, 9);
  });

  it("continues from the committed offsets after its coordinator dies", async () => {
    const k = kafka(cluster);
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 2, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = k.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 50 }, (_, i) => ({ value: `first-${i}` })),
    });

    const first = await consume(k, 50);
    assert.equal(new Set(first).size, 50);

    const coordinator = await eventually(
      async () => {
        const id = await coordinatorOf(cluster, GROUP);
        return id > 0 ? id : undefined;
      },
      20_000,
      "the group's coordinator",
    );
    await cluster.broker(coordinator).kill();
    const next = await eventually(
      async () => {
        const id = await coordinatorOf(cluster, GROUP);
        return id > 0 && id !== coordinator ? id : undefined;
      },
      40_000,
      "a new coordinator",
    );
    assert.notEqual(next, coordinator);

    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 30 }, (_, i) => ({ value: `second-${i}` })),
    });
    await producer.disconnect();
    const second = await consume(kafka(cluster), 30);
    assert.deepEqual(
      second.filter((v) => v.startsWith("first-")),
      [],
      "a consumer after the failover re-read messages committed before it",
    );
    assert.equal(new Set(second).size, 30);
  });
});
