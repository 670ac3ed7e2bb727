// Faults in a three-broker cluster (a real ZooKeeper, real broker processes), each on a
// partition whose replicas are [1, 2, 3] (broker 1 its preferred leader), min.insync.replicas 2:
//   - two of three brokers down: acks=all answers NOT_ENOUGH_REPLICAS, acks=1 still works;
//   - the controller (also the leader) killed: another broker becomes controller and elects a
//     leader, which takes acks=all writes;
//   - a divergent tail: the leader takes acks=1 writes while its followers are paused, dies,
//     a follower leads and takes other writes; the old leader returns, cuts its tail at the
//     leader-epoch boundary and ends byte-identical with the others;
//   - a zombie leader (SIGSTOP past the ZooKeeper session): while paused a new leader is
//     elected; when it resumes it acknowledges no acks=all write, and nothing acknowledged is lost;
//   - ZooKeeper restarted under load: the brokers reconnect (or register again), the writes go
//     on, and every acknowledged one is in the log;
//   - the preferred replica, back and in sync, gets its leadership back.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { decodeBatch, encodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "./raw_client.ts";

const TOPIC = "faults";

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.destroy();
  cluster = null;
});

async function withClient<T>(bootstrap: string, f: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.tcp(bootstrap);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** The topic, replicas [1,2,3] on one partition, min.insync.replicas 2. */
async function createTopic(c: TestCluster): Promise<void> {
  await withClient(c.broker(1).bootstrap, async (client) => {
    const res = await client.request(createTopicsCodec, 5, {
      topics: [
        {
          name: TOPIC,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }],
          configs: [{ name: "min.insync.replicas", value: "2" }],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(res.topics[0].errorCode, 0, res.topics[0].errorMessage ?? "");
  });
  await eventually(async () => (await state(c, 1)).isr.length === 3, 30_000, "ISR of three");
}

async function state(c: TestCluster, via: number) {
  return withClient(c.broker(via).bootstrap, async (client) => {
    const md = await client.request(metadataCodec, 9, metadataRequest([TOPIC], false));
    const p = md.topics[0].partitions[0];
    return { leader: p.leaderId, isr: [...p.isrNodes].sort(), controller: md.controllerId };
  });
}

async function produce(
  bootstrap: string,
  acks: number,
  values: string[],
  timeoutMs = 5000,
): Promise<{ errorCode: number; baseOffset: number }> {
  return withClient(bootstrap, async (client) => {
    const res = await client.request(produceCodec, 7, {
      transactionalId: null,
      acks,
      timeoutMs,
      topics: [
        {
          name: TOPIC,
          partitions: [
            { partitionIndex: 0, records: encodeBatch(values.map((v) => ({ key: null, value: v }))) },
          ],
        },
      ],
    });
    const p = res.responses[0].partitions[0];
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  });
}

/** Every value of the partition, read from a broker's segment files directly. */
function valuesOnDisk(logDir: string): string[] {
  const dir = join(logDir, `${TOPIC}-0`);
  const out: string[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort())
    for (const b of splitBatches(fs.readFileSync(join(dir, f))))
      for (const r of decodeBatch(b)) out.push(r.value?.toString() ?? "");
  return out;
}

function segmentSums(logDir: string): string {
  const dir = join(logDir, `${TOPIC}-0`);
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort()
    .map(
      (f) =>
        `${f}:${createHash("sha256")
          .update(fs.readFileSync(join(dir, f)))
          .digest("hex")}`,
    )
    .join(",");
}

describe("faults in a three-broker cluster", () => {
  it("with two of three brokers down, acks=all gets NOT_ENOUGH_REPLICAS and acks=1 still works", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await state(c, 1)).leader, 1);
    assert.equal((await produce(c.broker(1).bootstrap, -1, ["before"])).errorCode, 0);
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
    assert.equal((await produce(c.broker(1).bootstrap, -1, ["a"])).errorCode, 0);
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
    assert.equal((await produce(c.broker(after.leader).bootstrap, -1, ["b"])).errorCode, 0);
    assert.deepEqual(valuesOnDisk(c.broker(after.leader).logDir), ["a", "b"]);
  });

  it("truncates a returning leader's divergent tail and converges byte for byte", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await produce(c.broker(1).bootstrap, -1, ["common-1", "common-2"])).errorCode, 0);
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
    assert.equal(
      (await produce(c.broker(next.leader).bootstrap, -1, ["after-1", "after-2", "after-3"])).errorCode,
      0,
    );
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

  it("a leader paused past its ZooKeeper session acknowledges no acks=all write when it resumes", async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    await createTopic(c);
    assert.equal((await produce(c.broker(1).bootstrap, -1, ["acked-1"])).errorCode, 0);
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
      assert.equal((await produce(c.broker(next.leader).bootstrap, -1, ["acked-2"])).errorCode, 0);
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
      assert.equal((await produce(c.broker(next.leader).bootstrap, -1, ["acked-3"])).errorCode, 0);
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
    assert.equal((await state(c, 2)).leader, 1);
    await c.broker(1).kill();
    await eventually(async () => (await state(c, 2)).leader > 1, 40_000, "a leader other than broker 1");
    assert.equal(
      (await produce(c.broker((await state(c, 2)).leader).bootstrap, -1, ["while-away"])).errorCode,
      0,
    );
    await c.restart(1);
    await eventually(
      async () => {
        const s = await state(c, 2);
        return s.leader === 1 && s.isr.length === 3;
      },
      40_000,
      "broker 1 leading again",
    );
    assert.equal((await produce(c.broker(1).bootstrap, -1, ["back"])).errorCode, 0);
    assert.deepEqual(valuesOnDisk(c.broker(1).logDir), ["while-away", "back"]);
  });
});
