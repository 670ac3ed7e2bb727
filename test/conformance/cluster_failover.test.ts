// Three brokers through a real ZooKeeper: a topic with replication factor 3 and
// min.insync.replicas 2. kafkajs produces with acks=all while the partition's leader is killed
// with SIGKILL; a new leader is elected from the ISR, the producer carries on, every
// acknowledged message is read back by kcat (librdkafka) from the new leader, the killed broker
// restarts, catches up and rejoins the ISR, and the replicas' logs end up byte-identical.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";

const KCAT = "/usr/bin/kcat";
const TOPIC = "replicated";

function kafka(bootstrap: string[]): Kafka {
  return new Kafka({
    clientId: "cluster-test",
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

async function partitionState(k: Kafka): Promise<{ leader: number; isr: number[]; replicas: number[] }> {
  const admin = k.admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    const p = md.topics[0].partitions[0];
    return { leader: p.leader, isr: [...p.isr].sort(), replicas: [...p.replicas].sort() };
  } finally {
    await admin.disconnect();
  }
}

/** Checksums of a partition's segment files (.log) in a broker's log dir. */
function segmentSums(logDir: string): Map<string, string> {
  const dir = join(logDir, `${TOPIC}-0`);
  const out = new Map<string, string>();
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort())
    out.set(
      f,
      createHash("sha256")
        .update(fs.readFileSync(join(dir, f)))
        .digest("hex"),
    );
  return out;
}

describe("a three-broker cluster through ZooKeeper", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ brokers: 3 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("elects a new leader when the leader is killed, loses no acknowledged message, and the old leader rejoins", async () => {
    const k = kafka(cluster.bootstrap());
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: "min.insync.replicas", value: "2" }],
        },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const first = await eventually(
      async () => {
        const s = await partitionState(k);
        return s.isr.length === 3 ? s : undefined;
      },
      30_000,
      "all three replicas in the ISR",
    );
    assert.deepEqual(first.replicas, [1, 2, 3]);

    const producer = k.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
        acked.push(`v${i}`);
      }
    };
    await send(0, 200);

    // Kill the leader while writing.
    const leader = first.leader;
    const writing = send(200, 300);
    await new Promise((r) => setTimeout(r, 300));
    await cluster.broker(leader).kill();
    await writing;
    const second = await eventually(
      async () => {
        const s = await partitionState(kafka(cluster.bootstrap()));
        return s.leader !== leader && s.leader > 0 ? s : undefined;
      },
      30_000,
      "a new leader",
    );
    assert.ok(!second.isr.includes(leader) || second.isr.length <= 3);
    await send(500, 100);
    await producer.disconnect();

    // Every acknowledged message, read by librdkafka from the new leader.
    const newLeader = cluster.broker(second.leader);
    const read = await run(
      KCAT,
      ["-b", newLeader.bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"],
      { timeoutMs: 60_000 },
    );
    assert.equal(read.code, 0, read.stderr);
    const values = read.stdout.split("\n").filter((l) => l !== "");
    const have = new Set(values);
    const lost = acked.filter((v) => !have.has(v));
    assert.deepEqual(lost, [], `${lost.length} acknowledged message(s) lost`);

    // The killed broker comes back, catches up and rejoins the ISR.
    await cluster.restart(leader);
    await eventually(
      async () => {
        const s = await partitionState(kafka(cluster.bootstrap()));
        return s.isr.length === 3 ? s : undefined;
      },
      60_000,
      "the restarted broker back in the ISR",
    );

    // Byte-identical logs on every replica (they roll at the same offsets: same segment names).
    await eventually(
      () => {
        const sums = cluster.brokers.map((b) => JSON.stringify([...segmentSums(b.logDir)]));
        return sums.every((s) => s === sums[0]) ? true : undefined;
      },
      30_000,
      "identical segment files on all replicas",
    );
  });
});
