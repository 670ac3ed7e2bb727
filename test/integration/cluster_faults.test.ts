// Faults in a three-broker cluster (a real ZooKeeper, real broker processes), each on a
// partition whose replicas are [1, 2, 3] (broker 1 its preferred leader), min.insync.replicas 2
// (test/helpers/faulty_partition.ts):
//   - two of three brokers down: acks=all answers NOT_ENOUGH_REPLICAS, acks=1 still works;
//   - the controller (also the leader) killed: another broker becomes controller and elects a
//     leader, which takes acks=all writes;
//   - a divergent tail: the leader takes acks=1 writes while its followers are paused, dies,
//     a follower leads and takes other writes; the old leader returns, cuts its tail at the
//     leader-epoch boundary and ends byte-identical with the others.
// (Pauses, ZooKeeper restarts and leadership moving back: cluster_pauses.test.ts.)

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import {
  createTopic,
  produce,
  produceToLeader,
  segmentSums,
  state,
  valuesOnDisk,
} from "../helpers/faulty_partition.ts";

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.destroy();
  cluster = null;
});

describe("faults in a three-broker cluster", () => {
  it("with two of three brokers down, acks=all gets NOT_ENOUGH_REPLICAS and acks=1 still works", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await state(c, 1)).leader, 1);
    assert.equal((await produceToLeader(c, -1, ["before"])).errorCode, 0);
    await c.broker(2).kill();
    await c.broker(3).kill();
    // Their sessions expire; the controller (broker 1, or broker 1 once it takes over) drops them from the ISR.
    await eventually(async () => (await state(c, 1)).isr.join() === "1", 40_000, "ISR of broker 1 alone");
    assert.equal(
      (await produce(c.broker(1).bootstrap, -1, ["refused"])).errorCode,
      ErrorCode.NOT_ENOUGH_REPLICAS,
    );
    const one = await produce(c.broker(1).bootstrap, 1, ["acks1"]);
    assert.equal(one.errorCode, 0);
    assert.deepEqual(valuesOnDisk(c.broker(1).logDir), ["before", "acks1"]);
  });

  it("elects a leader after the controller, which led the partition, is killed", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    const before = await state(c, 2);
    assert.equal(before.controller, 1, "the first broker to start is the controller");
    assert.equal(before.leader, 1);
    assert.equal((await produceToLeader(c, -1, ["a"])).errorCode, 0);
    await c.broker(1).kill();
    const after = await eventually(
      async () => {
        const s = await state(c, 2);
        return s.controller !== 1 && s.controller > 0 && s.leader > 1 ? s : undefined;
      },
      40_000,
      "a new controller and leader",
    );
    assert.deepEqual(after.isr, [2, 3]);
    assert.equal((await produceToLeader(c, -1, ["b"])).errorCode, 0);
    assert.deepEqual(valuesOnDisk(c.broker(after.leader).logDir), ["a", "b"]);
  });

  it("truncates a returning leader's divergent tail and converges byte for byte", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await produceToLeader(c, -1, ["common-1", "common-2"])).errorCode, 0);
    // The followers stop fetching; broker 1 takes writes that only it has, then dies.
    process.kill(c.broker(2).pid!, "SIGSTOP");
    process.kill(c.broker(3).pid!, "SIGSTOP");
    try {
      for (let i = 0; i < 5; i++)
        assert.equal((await produce(c.broker(1).bootstrap, 1, [`only-on-1-${i}`])).errorCode, 0);
      assert.equal(valuesOnDisk(c.broker(1).logDir).length, 7);
      await c.broker(1).kill();
    } finally {
      process.kill(c.broker(2).pid!, "SIGCONT");
      process.kill(c.broker(3).pid!, "SIGCONT");
    }
    const next = await eventually(
      async () => {
        const s = await state(c, 2);
        return s.leader === 2 || s.leader === 3 ? s : undefined;
      },
      40_000,
      "a new leader among 2 and 3",
    );
    assert.equal((await produceToLeader(c, -1, ["after-1", "after-2", "after-3"])).errorCode, 0);
    await c.restart(1);
    await eventually(async () => (await state(c, 2)).isr.length === 3, 40_000, "broker 1 back in the ISR");
    await eventually(
      () => {
        const sums = c.brokers.map((b) => segmentSums(b.logDir));
        return sums.every((s) => s === sums[0]) ? true : undefined;
      },
      30_000,
      "byte-identical logs",
    );
    // The first write after the pause may have reached a follower (its fetch was waiting at the
    // leader, answered into the paused process's socket): the new leader's log is the truth.
    const want = valuesOnDisk(c.broker(next.leader).logDir);
    const kept = want.filter((v) => v.startsWith("only-on-1-"));
    assert.ok(kept.length <= 1, `only-on-1 writes kept: ${kept.join(", ")}`);
    assert.deepEqual(
      want.filter((v) => !v.startsWith("only-on-1-")),
      ["common-1", "common-2", "after-1", "after-2", "after-3"],
    );
    for (const b of c.brokers) assert.deepEqual(valuesOnDisk(b.logDir), want);
    assert.match(c.broker(1).output, new RegExp(`truncated faults-0 from 7 to ${2 + kept.length}`));
  });
});
