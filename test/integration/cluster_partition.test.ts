// A network partition: three brokers, each in its own network namespace on one bridge
// (test/helpers/netns.ts), ZooKeeper and the test on the host. The partition's leader is cut off
// from everything (its link down) while a producer writes with acks=all; its ZooKeeper session
// expires, another broker leads, the producer carries on there; the isolated leader acknowledges
// nothing meanwhile. Healed, the old leader registers again, truncates what only it had, rejoins
// the ISR, and every acknowledged write is on every replica. Skipped where network namespaces
// cannot be made (not root).

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { createTopic, produceToLeader, state, TOPIC, valuesOnDisk } from "../helpers/faulty_partition.ts";
import { netnsAvailable, TestNetwork } from "../helpers/netns.ts";

const usable = netnsAvailable();
const LOOP = fileURLToPath(new URL("../helpers/produce_loop.ts", import.meta.url));

describe("a network partition", { skip: !usable && "network namespaces need root" }, () => {
  let network: TestNetwork | null = null;
  let cluster: TestCluster | null = null;

  after(async () => {
    await cluster?.destroy();
    network?.destroy();
  });

  it("isolates the leader: a new leader takes over, nothing acknowledged is lost, the old one converges", async () => {
    network = TestNetwork.create(3);
    cluster = await TestCluster.start({ network });
    const c = cluster;
    await createTopic(c);
    assert.equal((await produceToLeader(c, -1, ["before"])).errorCode, 0);
    const leader = (await state(c, 2)).leader;
    const acked: string[] = ["before"];
    network.cut(leader);
    // A producer on the isolated side, talking to the isolated leader: it must get no acks=all.
    const [cmd, ...pre] = network.wrapper(leader);
    const inside = run(
      cmd,
      [...pre, process.execPath, "--import", "tsx", LOOP, c.broker(leader).bootstrap, TOPIC, "12"],
      { timeoutMs: 60_000 },
    );
    const other = leader === 1 ? 2 : 1;
    try {
      await eventually(
        async () => {
          const s = await state(c, other);
          return s.leader !== leader && s.leader > 0 ? s : undefined;
        },
        40_000,
        "a leader on the connected side",
      );
      for (let i = 0; i < 20; i++) {
        const r = await produceToLeader(c, -1, [`during-${i}`], other);
        if (r.errorCode === 0) acked.push(`during-${i}`);
      }
      assert.ok(
        acked.length > 10,
        `only ${acked.length - 1} writes acknowledged while the leader was cut off`,
      );
      const out = await inside;
      assert.equal(out.code, 0, `the producer inside: ${out.stderr}`);
      const codes = JSON.parse(out.stdout.trim()) as number[];
      // It was answered (refusals or timeouts from the isolated leader), never with success.
      assert.ok(
        codes.some((x) => x > 0),
        `the isolated leader answered nothing: ${codes.join(",")}`,
      );
      assert.deepEqual(
        codes.filter((x) => x === 0),
        [],
        `the isolated leader acknowledged acks=all writes: ${codes.join(",")}`,
      );
    } finally {
      network.heal(leader);
    }
    await eventually(
      async () => (await state(c, other)).isr.length === 3,
      60_000,
      "the old leader back in the ISR",
    );
    for (const b of c.brokers)
      await eventually(
        () => {
          const have = new Set(valuesOnDisk(b.logDir));
          return acked.every((v) => have.has(v)) && !have.has("from-inside") ? true : undefined;
        },
        30_000,
        `every acknowledged write, and none from the isolated side, on broker ${c.brokers.indexOf(b) + 1}`,
      );
  });
});
