// More faults in a three-broker cluster, on the same partition as cluster_faults.test.ts:
//   - a zombie leader (SIGSTOP past the ZooKeeper session): while paused a new leader is
//     elected; when it resumes it acknowledges no acks=all write, and nothing acknowledged is lost;
//   - ZooKeeper restarted under load: the brokers reconnect (or register again), the writes go
//     on, and every acknowledged one is in the log;
//   - the preferred replica, back and in sync, gets its leadership back.

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import {
  createTopic,
  produce,
  produceToLeader,
  state,
  TOPIC,
  valuesOnDisk,
  withClient,
} from "../helpers/faulty_partition.ts";
import { RawClient } from "./raw_client.ts";

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.destroy();
  cluster = null;
});

describe("pauses and restarts in a three-broker cluster", () => {
  it("a leader paused past its ZooKeeper session acknowledges no acks=all write when it resumes", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await produceToLeader(c, -1, ["acked-1"])).errorCode, 0);
    const zombie = await RawClient.tcp(c.broker(1).bootstrap);
    process.kill(c.broker(1).pid!, "SIGSTOP");
    let resumed = false;
    try {
      const next = await eventually(
        async () => {
          const s = await state(c, 2);
          return s.leader === 2 || s.leader === 3 ? s : undefined;
        },
        40_000,
        "a new leader while broker 1 is paused",
      );
      assert.equal((await produceToLeader(c, -1, ["acked-2"], 3)).errorCode, 0);
      // A write sent to the paused leader: it reads it when it resumes.
      const pending = zombie.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topics: [
          {
            name: TOPIC,
            partitions: [{ partitionIndex: 0, records: encodeBatch([{ key: null, value: "zombie" }]) }],
          },
        ],
      });
      process.kill(c.broker(1).pid!, "SIGCONT");
      resumed = true;
      const res = await pending;
      assert.notEqual(
        res.responses[0].partitions[0].errorCode,
        0,
        "the zombie leader acknowledged an acks=all write",
      );
      assert.equal((await produceToLeader(c, -1, ["acked-3"], 3)).errorCode, 0);
      await eventually(
        async () => (await state(c, next.leader)).isr.length === 3,
        40_000,
        "broker 1 back in the ISR",
      );
      for (const b of c.brokers)
        await eventually(
          () => {
            const v = valuesOnDisk(b.logDir);
            return v.join() === "acked-1,acked-2,acked-3" ? true : undefined;
          },
          30_000,
          `broker ${c.brokers.indexOf(b) + 1}'s log: every acknowledged write, no zombie write`,
        );
    } finally {
      zombie.close();
      if (!resumed) process.kill(c.broker(1).pid!, "SIGCONT");
    }
  });

  it("keeps every acknowledged write when ZooKeeper restarts under load", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    const acked: string[] = [];
    let stop = false;
    let sent = 0;
    const writer = (async () => {
      while (!stop) {
        const v = `w${sent++}`;
        const leader = await state(c, 2)
          .then((s) => s.leader)
          .catch(() => -1);
        if (leader < 1) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const r = await produce(c.broker(leader).bootstrap, -1, [v], 3000).catch(() => ({ errorCode: -1 }));
        if (r.errorCode === 0) acked.push(v);
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await c.zk.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await c.zk.start();
    const before = acked.length;
    await eventually(() => acked.length > before + 20, 30_000, "writes going on after the restart");
    stop = true;
    await writer;
    await eventually(
      async () => (await state(c, 2)).isr.length === 3,
      40_000,
      "every broker back in the ISR",
    );
    // Registered still (or again): every broker is listed.
    const brokers = await withClient(c.broker(2).bootstrap, async (client) =>
      (await client.request(metadataCodec, 9, metadataRequest([TOPIC], false))).brokers
        .map((b) => b.nodeId)
        .sort(),
    );
    assert.deepEqual(brokers, [1, 2, 3]);
    const leader = (await state(c, 2)).leader;
    const have = new Set(valuesOnDisk(c.broker(leader).logDir));
    assert.deepEqual(
      acked.filter((v) => !have.has(v)),
      [],
      "acknowledged writes missing from the leader's log",
    );
  });

  it("moves leadership back to the preferred replica once it is in sync again (auto.leader.rebalance.enable)", async () => {
    cluster = await TestCluster.start({ overrides: { "leader.imbalance.check.interval.seconds": 1 } });
    const c = cluster;
    await createTopic(c);
    // Broker 2 learns the partition from the controller's UpdateMetadata, maybe after broker 1.
    await eventually(async () => (await state(c, 2)).leader === 1, 20_000, "broker 2 knows broker 1 leads");
    await c.broker(1).kill();
    await eventually(async () => (await state(c, 2)).leader > 1, 40_000, "a leader other than broker 1");
    assert.equal((await produceToLeader(c, -1, ["while-away"])).errorCode, 0);
    await c.restart(1);
    await eventually(
      async () => {
        const s = await state(c, 2);
        return s.leader === 1 && s.isr.length === 3;
      },
      40_000,
      "broker 1 leading again",
    );
    assert.equal((await produceToLeader(c, -1, ["back"])).errorCode, 0);
    assert.deepEqual(valuesOnDisk(c.broker(1).logDir), ["while-away", "back"]);
  });
});
