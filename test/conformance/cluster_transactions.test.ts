// Transactions in a three-broker cluster: __transaction_state is replicated (factor 3), the
// coordinator of a transactional id is the leader of its partition, and markers go to each
// partition's leader (WriteTxnMarkers when it is another broker). A kafkajs transactional
// producer writes to a topic whose partitions are led by all three brokers, commits and aborts;
// kcat read_committed sees exactly the committed records. Then the coordinator is killed with
// SIGKILL in the middle of a transaction: the new leader of its partition loads the id from
// __transaction_state, and the producer's commit (after finding it) goes through.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { findCoordinatorCodec } from "../../src/protocol/find_coordinator.ts";
import { run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "../integration/raw_client.ts";

const TOPIC = "txn-cluster";
const KCAT = "/usr/bin/kcat";

async function coordinatorOf(c: TestCluster, transactionalId: string): Promise<number> {
  const client = await RawClient.tcp(c.bootstrap()[0]);
  try {
    const res = await client.request(findCoordinatorCodec, 3, {
      key: transactionalId,
      keyType: 1,
      coordinatorKeys: [],
    });
    return res.errorCode === 0 ? res.nodeId : -1;
  } finally {
    client.close();
  }
}

async function readCommitted(c: TestCluster): Promise<string[]> {
  const r = await run(
    KCAT,
    [
      "-b",
      c.bootstrap().join(","),
      "-C",
      "-t",
      TOPIC,
      "-o",
      "beginning",
      "-e",
      "-q",
      "-X",
      "isolation.level=read_committed",
      "-X",
      "fetch.wait.max.ms=50",
      "-f",
      "%s\n",
    ],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, `kcat exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

describe("transactions in a cluster", () => {
  let cluster: TestCluster;
  let kafka: Kafka;

  before(async () => {
    cluster = await TestCluster.start({
      brokers: 3,
      overrides: {
        "transaction.state.log.num.partitions": 3,
        "offsets.topic.num.partitions": 3,
      },
    });
    kafka = new Kafka({
      clientId: "cluster-txn",
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }] });
    await admin.disconnect();
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("commit and abort across partitions led by every broker; read_committed sees the commits", async () => {
    const p = kafka.producer({ transactionalId: "spread", idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    try {
      const messages = (tag: string) =>
        [0, 1, 2].map((partition) => ({ partition, value: `${tag}-${partition}` }));
      let t = await p.transaction();
      await t.send({ topic: TOPIC, messages: messages("kept") });
      await t.commit();
      t = await p.transaction();
      await t.send({ topic: TOPIC, messages: messages("dropped") });
      await t.abort();
      assert.deepEqual(await readCommitted(cluster), ["kept-0", "kept-1", "kept-2"]);
    } finally {
      await p.disconnect();
    }
  });

  it("the coordinator killed mid-transaction: its successor loads the id and the commit goes through", async () => {
    const id = "survives-failover";
    const p = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    try {
      const t = await p.transaction();
      await t.send({
        topic: TOPIC,
        messages: [0, 1, 2].map((partition) => ({ partition, value: `open-${partition}` })),
      });
      const coordinator = await coordinatorOf(cluster, id);
      assert.ok(coordinator > 0);
      await cluster.broker(coordinator).kill();
      await eventually(
        async () => {
          const now = await coordinatorOf(cluster, id).catch(() => -1);
          return now > 0 && now !== coordinator;
        },
        60_000,
        "a new transaction coordinator",
      );
      await t.commit();
      await eventually(
        async () => (await readCommitted(cluster)).filter((v) => v.startsWith("open-")).length === 3,
        60_000,
        "the transaction's records visible to read_committed",
      );
      await cluster.restart(coordinator);
    } finally {
      await p.disconnect();
    }
  });
});
