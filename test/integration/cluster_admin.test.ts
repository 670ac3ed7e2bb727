// Cluster membership and administration with real brokers and a real ZooKeeper:
//   - a broker whose broker.id is already registered refuses to start, naming it;
//   - DeleteTopics on any broker deletes the topic on every replica (metadata and disk);
//   - SIGTERM is a controlled shutdown: the broker's leaderships move before it exits, so the
//     partition has a new leader at once (not after a ZooKeeper session timeout).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";

describe("cluster membership and administration", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ brokers: 3 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const kafka = () =>
    new Kafka({
      clientId: "cluster-admin",
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });

  it("refuses to start a broker whose id is registered already", async () => {
    const twin = await BrokerProcess.start({
      overrides: { "zookeeper.connect": cluster.connect, "broker.id": 2 },
      expectStart: false,
    });
    try {
      assert.notEqual(twin.exitCode, 0);
      assert.match(twin.output, /broker\.id 2 is already registered in ZooKeeper/);
    } finally {
      await twin.destroy();
    }
  });

  it("deletes a topic on every replica", async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: "doomed", numPartitions: 2, replicationFactor: 3 }],
        waitForLeaders: true,
      });
      for (const b of cluster.brokers)
        await eventually(() => fs.existsSync(join(b.logDir, "doomed-1")), 10_000, "doomed-1 on every broker");
      await admin.deleteTopics({ topics: ["doomed"] });
      assert.ok(!(await admin.listTopics()).includes("doomed"));
      for (const b of cluster.brokers)
        await eventually(
          () => !fs.readdirSync(b.logDir).some((d) => d.startsWith("doomed-")),
          20_000,
          "doomed's partitions gone from every broker",
        );
    } finally {
      await admin.disconnect();
    }
  });

  it("moves leaderships away before a broker stops on SIGTERM", async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: "handed-over", replicaAssignment: [{ partition: 0, replicas: [3, 1, 2] }] }],
        waitForLeaders: true,
      });
      await eventually(
        async () => {
          const p = (await admin.fetchTopicMetadata({ topics: ["handed-over"] })).topics[0].partitions[0];
          return p.leader === 3 && p.isr.length === 3;
        },
        20_000,
        "broker 3 leading with a full ISR",
      );
      await admin.disconnect();
      await cluster.broker(3).stop();
      assert.match(cluster.broker(3).output, /controlled shutdown: leadership moved away/);
      // At once: the session of broker 3 (6 s) has not expired yet.
      const moved = kafka().admin();
      await moved.connect();
      try {
        const started = Date.now();
        const p = await eventually(
          async () => {
            const x = (await moved.fetchTopicMetadata({ topics: ["handed-over"] })).topics[0].partitions[0];
            return x.leader !== 3 && x.leader > 0 ? x : undefined;
          },
          10_000,
          "a new leader",
        );
        assert.ok(Date.now() - started < 3000, "the new leader was elected by the controlled shutdown");
        assert.ok(!p.isr.includes(3));
      } finally {
        await moved.disconnect();
      }
    } finally {
      await cluster.restart(3).catch(() => {});
    }
  });
});
