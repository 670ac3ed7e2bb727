// `milena topics reassign --wait` in a real three-broker cluster (real ZooKeeper): it prints the
// move's progress (replicas, adding, removing, in sync) while the new replica catches up, exits 0
// once the controller no longer lists the move and the partition's replicas are the new ones;
// when the move cannot finish (its new replica's broker is down) it exits 1 at
// --wait-timeout-ms, naming what it is still waiting for.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { run } from "../helpers/broker_process.ts";
import { TestCluster } from "../helpers/cluster.ts";

const BIN = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));

describe("topics reassign --wait", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start({ brokers: 3 });
  });
  after(async () => {
    await cluster?.destroy();
  });

  const cli = (...args: string[]) =>
    run(process.execPath, [BIN, ...args, "--bootstrap", cluster.broker(2).bootstrap], { timeoutMs: 90_000 });
  const kafka = () =>
    new Kafka({
      clientId: "reassign-wait",
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });

  it("prints the move's progress and exits 0 when the replicas are the new ones", async () => {
    const topic = "waited";
    const admin = kafka().admin();
    await admin.connect();
    const producer = kafka().producer();
    await producer.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }],
        waitForLeaders: true,
      });
      // Some megabytes for broker 3 to copy, so the move is seen under way.
      const value = Buffer.alloc(64 * 1024, 0x61);
      for (let i = 0; i < 40; i++)
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 8 }, () => ({ value })) });
      const r = await cli("topics", "reassign", topic, "--partition", "0", "--replicas", "3,1", "--wait");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines[0], `Reassigning ${topic}-0 to 3,1.`);
      const progress = lines.filter((l) => l.includes("is still in progress"));
      assert.ok(progress.length >= 1, `progress while the move runs:\n${r.stdout}`);
      assert.match(
        progress[0],
        /^Reassignment of partition waited-0 is still in progress: replicas [\d,]+, adding 3, removing 2, in sync [\d,]+ \([\d.]+ s\)$/,
      );
      assert.match(
        lines.at(-1)!,
        /^Reassignment of partition waited-0 is completed: replicas 3,1, in sync (3,1|1,3) \([\d.]+ s\)\.$/,
      );
      // Done when it says so: no move listed, and the replicas are the new ones.
      assert.equal((await cli("topics", "reassignments")).stdout, "");
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.deepEqual(md.topics[0].partitions[0].replicas, [3, 1]);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it("exits 1 at --wait-timeout-ms while the move cannot finish", async () => {
    const topic = "stuck";
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }],
        waitForLeaders: true,
      });
      await cluster.broker(3).kill();
      const t0 = performance.now();
      const r = await cli(
        "topics",
        "reassign",
        topic,
        "--partition",
        "0",
        "--replicas",
        "3,1",
        "--wait",
        "--wait-timeout-ms",
        "3000",
      );
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.ok(performance.now() - t0 >= 3000, "it waited");
      assert.match(r.stdout, /Reassignment of partition stuck-0 is still in progress: .*adding 3/);
      assert.doesNotMatch(r.stdout, /is completed/);
      assert.match(r.stderr, /the reassignment of stuck-0 is not done after 3000 ms: .*adding 3/);
    } finally {
      await admin.disconnect();
    }
  });
});
