// Milena's own client against a three-broker cluster, over TCP and over WebSocket: Metadata
// lists every broker with its endpoint on the listener the client came in on (WebSocket clients
// get ws:// endpoints), and an idempotent acks=all producer and a consumer carry on across the
// SIGKILL of the partition's leader: every send resolves, and the consumer reads every record
// once, in order, from the new leader.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { type ConsumedRecord, type Consumer, Milena, type RecordMetadata } from "../../src/index.ts";
import { describeClusterCodec } from "../../src/protocol/describe_cluster.ts";
import { describeConfigsCodec } from "../../src/protocol/describe_configs.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { decodeBatch, encodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "./raw_client.ts";

const { ConfigResourceTypes } = kafkajs;

async function take(c: Consumer<Buffer>, n: number): Promise<ConsumedRecord<Buffer>[]> {
  const out: ConsumedRecord<Buffer>[] = [];
  const it = c.records();
  const deadline = Date.now() + 60_000;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `read ${out.length} of ${n}`);
    const r = await it.next();
    assert.equal(r.done, false);
    out.push(r.value!);
  }
  return out;
}

describe("Milena's client in a cluster", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ brokers: 3 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("gets each broker's endpoint on the listener it connected to", async () => {
    for (const transport of ["tcp", "ws"] as const) {
      const b = cluster.broker(2);
      const c = transport === "tcp" ? await RawClient.tcp(b.bootstrap) : await RawClient.ws(b.wsUrl);
      try {
        const md = await c.request(metadataCodec, 12, metadataRequest(null, false));
        const ports = md.brokers.map((x) => [x.nodeId, x.port]).sort((x, y) => x[0] - y[0]);
        const want = cluster.brokers.map((x, i) => [i + 1, transport === "tcp" ? x.kafkaPort : x.wsPort]);
        assert.deepEqual(ports, want);
        assert.ok(md.controllerId >= 1 && md.controllerId <= 3);
        const dc = await c.request(describeClusterCodec, 1, {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        });
        assert.equal(dc.controllerId, md.controllerId);
        assert.deepEqual(
          dc.brokers.map((x) => [x.brokerId, x.port]).sort((x, y) => x[0] - y[0]),
          want,
        );
      } finally {
        c.close();
      }
    }
  });

  it("milena cluster status and topics describe show brokers, controller, leaders, replicas and ISRs", async () => {
    const bin = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));
    const cli = (...args: string[]) =>
      run(process.execPath, [bin, ...args, "--bootstrap", cluster.broker(1).bootstrap]);
    const made = await cli("topics", "create", "described", "--partitions", "3", "--replication-factor", "3");
    assert.equal(made.code, 0, made.stderr);
    const status = await eventually(
      async () => {
        const r = await cli("cluster", "status");
        return r.code === 0 ? r : undefined;
      },
      20_000,
      "a fully replicated cluster",
    );
    assert.match(status.stdout, /Controller: [123]\tBrokers: 3/);
    for (const id of [1, 2, 3]) assert.match(status.stdout, new RegExp(`Broker: ${id}\t127\\.0\\.0\\.1:`));
    assert.match(status.stdout, /Under-replicated: 0\tOffline: 0/);
    const described = await cli("topics", "describe", "described");
    assert.equal(described.code, 0, described.stderr);
    const rows = described.stdout.split("\n").filter((l) => l.includes("Partition:"));
    assert.equal(rows.length, 3);
    for (const row of rows) {
      const m = /Leader: (\d)\tReplicas: ([\d,]+)\tIsr: ([\d,]+)/.exec(row);
      assert.ok(m, row);
      assert.deepEqual(m[2].split(",").sort(), ["1", "2", "3"]);
      assert.deepEqual(m[3].split(",").sort(), ["1", "2", "3"]);
      assert.equal(m[1], m[2].split(",")[0], "the preferred replica leads");
    }
  });

  it("grows a topic and changes its config across the cluster (CreatePartitions, AlterConfigs)", async () => {
    const topic = "grown-and-configured";
    const k = new Kafka({
      clientId: "cluster-admin",
      brokers: [cluster.broker(1).bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = k.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 3 }],
        waitForLeaders: true,
      });
      await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
      const md = await eventually(
        async () => {
          const m = await admin.fetchTopicMetadata({ topics: [topic] });
          const ps = m.topics[0].partitions;
          return ps.length === 4 && ps.every((p) => p.leader > 0 && p.isr.length === 3) ? ps : undefined;
        },
        20_000,
        "four led, fully replicated partitions",
      );
      assert.ok(md.every((p) => p.replicas.length === 3));
      // A new partition is on every replica's disk.
      for (const b of cluster.brokers)
        await eventually(() => fs.existsSync(join(b.logDir, `${topic}-3`)), 10_000, `${topic}-3 on disk`);

      // Set through broker 1, seen through broker 2, applied by every partition's leader: with
      // min.insync.replicas above the replication factor acks=all is refused.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [{ name: "min.insync.replicas", value: "4" }],
          },
        ],
      });
      const c2 = await RawClient.tcp(cluster.broker(2).bootstrap);
      try {
        const cfg = await c2.request(describeConfigsCodec, 1, {
          resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["min.insync.replicas"] }],
          includeSynonyms: false,
          includeDocumentation: false,
        });
        assert.equal(cfg.results[0].errorCode, 0);
        assert.equal(cfg.results[0].configs.find((e) => e.name === "min.insync.replicas")?.value, "4");
      } finally {
        c2.close();
      }
      const leader = md.find((p) => p.partitionId === 0)!.leader;
      await eventually(
        async () => {
          const c = await RawClient.tcp(cluster.broker(leader).bootstrap);
          try {
            const res = await c.request(produceCodec, 7, {
              transactionalId: null,
              acks: -1,
              timeoutMs: 2000,
              topics: [
                {
                  name: topic,
                  partitions: [{ partitionIndex: 0, records: encodeBatch([{ key: null, value: "x" }]) }],
                },
              ],
            });
            return res.responses[0].partitions[0].errorCode === ErrorCode.NOT_ENOUGH_REPLICAS;
          } finally {
            c.close();
          }
        },
        10_000,
        "the leader to apply min.insync.replicas=4",
      );
    } finally {
      await admin.disconnect();
    }
  });

  it("moves a partition to another broker while a producer keeps writing (AlterPartitionReassignments)", async () => {
    const topic = "moved";
    const k = new Kafka({
      clientId: "cluster-reassign",
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = k.admin();
    await admin.connect();
    const producer = k.producer();
    await producer.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }],
        waitForLeaders: true,
      });
      const acked: string[] = [];
      let stop = false;
      const writing = (async () => {
        for (let i = 0; !stop; i++) {
          await producer.send({ topic, acks: -1, messages: [{ value: `m${i}`.padEnd(2000, ".") }] });
          acked.push(`m${i}`);
        }
      })();
      while (acked.length < 200) await new Promise((r) => setTimeout(r, 20));
      await admin.alterPartitionReassignments({
        topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }],
      });
      const moved = await eventually(
        async () => {
          const m = await admin.fetchTopicMetadata({ topics: [topic] });
          const p = m.topics[0].partitions[0];
          const listed = await admin.listPartitionReassignments({});
          return [...p.replicas].sort().join() === "2,3" && p.isr.length === 2 && listed.topics.length === 0
            ? p
            : undefined;
        },
        40_000,
        "replicas 2,3 and no move in progress",
      );
      assert.ok([2, 3].includes(moved.leader));
      while (acked.length < 400) await new Promise((r) => setTimeout(r, 20));
      stop = true;
      await writing;
      // Broker 1 no longer holds it; 3 has everything acknowledged, byte for byte as 2.
      await eventually(
        () => !fs.existsSync(join(cluster.broker(1).logDir, `${topic}-0`)),
        20_000,
        "the old replica deleted",
      );
      const sums = (id: number) =>
        fs
          .readdirSync(join(cluster.broker(id).logDir, `${topic}-0`))
          .filter((f) => f.endsWith(".log"))
          .sort()
          .map((f) => fs.readFileSync(join(cluster.broker(id).logDir, `${topic}-0`, f)).toString("base64"))
          .join();
      await eventually(() => sums(2) === sums(3), 20_000, "identical logs on 2 and 3");
      const values = new Set(
        fs
          .readdirSync(join(cluster.broker(3).logDir, `${topic}-0`))
          .filter((f) => f.endsWith(".log"))
          .flatMap((f) =>
            splitBatches(fs.readFileSync(join(cluster.broker(3).logDir, `${topic}-0`, f))).flatMap((b) =>
              decodeBatch(b).map((r) => r.value!.toString().replace(/\.+$/, "")),
            ),
          ),
      );
      assert.deepEqual(
        acked.filter((v) => !values.has(v)),
        [],
      );
      // And back with the command line (kafka-reassign-partitions.sh's part).
      const bin = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));
      const cli = (...args: string[]) =>
        run(process.execPath, [bin, ...args, "--bootstrap", cluster.broker(2).bootstrap]);
      const r = await cli("topics", "reassign", topic, "--partition", "0", "--replicas", "3,1");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Reassigning moved-0 to 3,1/);
      await eventually(
        async () => {
          const m = await admin.fetchTopicMetadata({ topics: [topic] });
          const p = m.topics[0].partitions[0];
          return [...p.replicas].join() === "3,1" && p.isr.length === 2;
        },
        40_000,
        "replicas 3,1",
      );
      const listed = await cli("topics", "reassignments");
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(listed.stdout, "");
      assert.equal((await cli("topics", "reassign", topic, "--partition", "0")).code, 2);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  for (const transport of ["tcp", "ws"] as const) {
    it(`an idempotent acks=all producer and a consumer go on across the leader's death (${transport})`, async () => {
      const topic = `milena-failover-${transport}`;
      const live = cluster.brokers.filter((b) => b.alive);
      const milena = new Milena({
        bootstrap: live.map((b) => (transport === "tcp" ? b.bootstrap : b.wsUrl)),
        retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      const admin = milena.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
      const leaderOf = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions[0].leader;
      const leader = await eventually(
        async () => {
          const l = await leaderOf();
          return l > 0 ? l : undefined;
        },
        20_000,
        "a leader",
      );
      const producer = milena.producer({ acks: -1 });
      await producer.connect();
      const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.assign([{ topic }]);
      try {
        const msgs = (from: number, n: number) =>
          Array.from({ length: n }, (_, i) => ({ key: String(from + i), value: `v${from + i}` }));
        await producer.send({ topic, messages: msgs(0, 50) });
        assert.equal((await take(consumer, 50)).length, 50);
        const sends: Promise<RecordMetadata[]>[] = [];
        let next = 50;
        for (let i = 0; i < 5; i++) {
          sends.push(producer.send({ topic, messages: msgs(next, 10) }));
          next += 10;
        }
        await cluster.broker(leader).kill();
        for (let i = 0; i < 10; i++) {
          sends.push(producer.send({ topic, messages: msgs(next, 10) }));
          next += 10;
          await new Promise((r) => setTimeout(r, 50));
        }
        const results = await Promise.all(sends);
        assert.ok(results.every((r) => r[0].errorCode === 0 && r[0].baseOffset >= 0));
        const rest = await take(consumer, next - 50);
        // Idempotent: each key exactly once, in order.
        assert.deepEqual(
          rest.map((r) => Number(r.key!.toString())),
          Array.from({ length: next - 50 }, (_, i) => 50 + i),
        );
        const now = await leaderOf();
        assert.notEqual(now, leader);
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
        await admin.disconnect();
        await cluster.restart(leader);
        await eventually(
          async () => {
            const c = await RawClient.tcp(cluster.broker(leader === 1 ? 2 : 1).bootstrap);
            try {
              const md = await c.request(metadataCodec, 9, metadataRequest([topic], false));
              return md.topics[0].partitions[0].isrNodes.length === 3;
            } finally {
              c.close();
            }
          },
          40_000,
          "the restarted broker back in the ISR",
        );
      }
    });
  }
});
