// The admin client's describeLogDirs against a real broker (TCP and WebSocket): every partition
// with its bytes on disk (a partition holding a batch has more than the batch's value, an empty
// one 0), the dir's space (v4), a topic filter with and without partitions, and an unknown broker
// refused.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Admin, Milena } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

describe("admin.describeLogDirs", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start();
  });
  after(async () => {
    await broker?.destroy();
  });

  for (const transport of ["tcp", "ws"] as const) {
    it(`lists partitions and their bytes (${transport})`, async () => {
      const topic = `logdirs-${transport}`;
      const milena = new Milena({ bootstrap: transport === "tcp" ? broker.bootstrap : broker.wsUrl });
      const admin: Admin = milena.admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
        const producer = milena.producer();
        await producer.connect();
        await producer.send({ topic, messages: [{ partition: 1, value: "x".repeat(2000) }] });
        await producer.disconnect();

        const all = await admin.describeLogDirs();
        assert.equal(all.brokers.length, 1);
        const [b] = all.brokers;
        assert.equal(b.errorCode, 0);
        assert.equal(b.logDirs.length, 1);
        const dir = b.logDirs[0];
        assert.equal(dir.logDir, broker.logDir);
        assert.equal(dir.errorCode, 0);
        assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes);
        const t = dir.topics.find((x) => x.topic === topic);
        assert.ok(t, "the topic is listed");
        const sizes = new Map(t.partitions.map((p) => [p.partition, p.size]));
        assert.deepEqual([...sizes.keys()].sort(), [0, 1, 2]);
        assert.equal(sizes.get(0), 0);
        assert.ok((sizes.get(1) ?? 0) > 2000, `partition 1 holds the batch: ${sizes.get(1)}`);

        const one = await admin.describeLogDirs({ topics: [{ topic, partitions: [2] }] });
        assert.deepEqual(
          one.brokers[0].logDirs[0].topics.map((x) => [x.topic, x.partitions.map((p) => p.partition)]),
          [[topic, [2]]],
        );
        const whole = await admin.describeLogDirs({ topics: [{ topic }] });
        assert.deepEqual(
          whole.brokers[0].logDirs[0].topics.map((x) => [
            x.topic,
            x.partitions.map((p) => p.partition).sort(),
          ]),
          [[topic, [0, 1, 2]]],
        );
        await assert.rejects(admin.describeLogDirs({ brokers: [4242] }));
      } finally {
        await admin.disconnect();
      }
    });
  }
});
