// `milena mirror` between two single-broker clusters, all real processes (issue 14's "Show"):
// 10,000 records mirrored with their keys, headers and timestamps, the partition count and
// topic configs copied; a kafkajs group that consumed half on the source resumes on the target
// from the translated offset (no record skipped, fewer than offset.lag.max re-read); the mirror
// killed (SIGKILL) mid-run and restarted loses nothing; both directions at once make no loop, and
// include / exclude pick the topics.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Kafka, logLevel } from "kafkajs";
import { Milena } from "../../src/index.ts";
import { decodeCheckpoint, decodeHeartbeat } from "../../src/mirror/offsets.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { eventually } from "../helpers/cluster.ts";
import { MirrorProcess } from "../helpers/mirror_process.ts";

const BROKER = { "group.initial.rebalance.delay.ms": 0, "auto.create.topics.enable": false };

interface Rec {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: string;
}

/** Every record of a topic (per partition, in offset order). */
async function readAll(bootstrap: string, topic: string): Promise<Rec[]> {
  const m = new Milena({ bootstrap });
  const admin = m.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((s, e) => s + e.high - e.low, 0);
  const out: Rec[] = [];
  if (total === 0) return out;
  const c = m.consumer({ autoOffsetReset: "earliest" });
  await c.connect();
  await c.assign([{ topic, offset: "earliest" }]);
  for await (const r of c) {
    out.push({
      partition: r.partition,
      offset: r.offset,
      key: r.key?.toString() ?? null,
      value: r.value?.toString() ?? null,
      timestamp: r.timestamp,
      headers: JSON.stringify(
        Object.entries(r.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map(String) : v === null ? null : String(v),
        ]),
      ),
    });
    if (out.length >= total) break;
  }
  await c.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

async function highWatermarks(bootstrap: string, topic: string): Promise<number> {
  const m = new Milena({ bootstrap });
  const admin = m.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return -1;
    return (await admin.fetchTopicOffsets(topic)).reduce((s, e) => s + e.high, 0);
  } finally {
    await admin.disconnect();
  }
}

async function topicList(bootstrap: string): Promise<string[]> {
  const m = new Milena({ bootstrap });
  const admin = m.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).sort();
  } finally {
    await admin.disconnect();
  }
}

function config(a: BrokerProcess, b: BrokerProcess, extra: string): string {
  return `clusters = A, B
A.bootstrap.servers = ${a.bootstrap}
B.bootstrap.servers = ${b.bootstrap}
refresh.topics.interval.seconds = 1
emit.checkpoints.interval.seconds = 1
sync.group.offsets.enabled = true
sync.group.offsets.interval.seconds = 1
sync.topic.configs.interval.seconds = 1
progress.log.interval.seconds = 2
offset.lag.max = 100
${extra}
`;
}

describe("milena mirror between two single-broker clusters", { timeout: 240_000 }, () => {
  let a: BrokerProcess;
  let b: BrokerProcess;
  const mirrors: MirrorProcess[] = [];

  before(async () => {
    a = await BrokerProcess.start({ overrides: BROKER });
    b = await BrokerProcess.start({ overrides: BROKER });
  });

  after(async () => {
    for (const m of mirrors) await m.destroy();
    await a?.destroy();
    await b?.destroy();
  });

  it("mirrors 10,000 records, configs and partitions; a group fails over at the translated offset", async () => {
    const src = new Milena({ bootstrap: a.bootstrap });
    const admin = src.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: "orders",
          numPartitions: 3,
          configEntries: [
            { name: "retention.ms", value: "123456789" },
            { name: "max.message.bytes", value: "500000" },
          ],
        },
      ],
    });
    await admin.disconnect();
    const producer = src.producer();
    await producer.connect();
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 10_000; i += 1000)
      await producer.send({
        topic: "orders",
        messages: Array.from({ length: 1000 }, (_, j) => {
          const n = i + j;
          return {
            key: n % 7 === 0 ? null : `k${n}`,
            value: `order ${n}`,
            timestamp: t0 + n * 1000,
            headers:
              n % 3 === 0
                ? []
                : [
                    { key: "n", value: String(n) },
                    { key: "tag", value: "x" },
                    { key: "tag", value: "y" },
                  ],
          };
        }),
      });
    await producer.disconnect();

    // A kafkajs group consumes half the records on A and commits where it stopped.
    const kafkaA = new Kafka({ clientId: "billing-a", brokers: [a.bootstrap], logLevel: logLevel.NOTHING });
    const ca = kafkaA.consumer({ groupId: "billing", sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await ca.connect();
    await ca.subscribe({ topic: "orders", fromBeginning: true });
    const consumedA = new Map<number, number>();
    let count = 0;
    let resolveHalf!: () => void;
    const half = new Promise<void>((r) => (resolveHalf = r));
    await ca.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (count >= 5000) return;
        count++;
        consumedA.set(partition, Number(message.offset) + 1);
        if (count === 5000) resolveHalf();
      },
    });
    await half;
    await ca.commitOffsets(
      [...consumedA].map(([partition, offset]) => ({ topic: "orders", partition, offset: String(offset) })),
    );
    await ca.disconnect();

    const mirror = await MirrorProcess.start(
      config(a, b, "A->B.enabled = true\nA->B.topics = orders\nmetrics.listener = 127.0.0.1:0"),
    );
    mirrors.push(mirror);
    await eventually(
      async () => (await highWatermarks(b.bootstrap, "A.orders")) === 10_000,
      60_000,
      "10,000 records on B",
    );

    // Same partitions, same records (keys, values, headers, timestamps), same configs.
    const [from, to] = await Promise.all([readAll(a.bootstrap, "orders"), readAll(b.bootstrap, "A.orders")]);
    assert.equal(to.length, 10_000);
    assert.deepEqual(to, from);
    const tgt = new Milena({ bootstrap: b.bootstrap });
    const tadmin = tgt.admin();
    await tadmin.connect();
    const { topics: meta } = await tadmin.fetchTopicMetadata({ topics: ["A.orders"] });
    assert.equal(meta[0].partitions.length, 3);
    const cfg = await tadmin.describeConfigs({ resources: [{ type: 2, name: "A.orders" }] });
    const value = (n: string) => cfg.resources[0].configEntries.find((e) => e.configName === n)?.configValue;
    assert.equal(value("retention.ms"), "123456789");
    assert.equal(value("max.message.bytes"), "500000");

    // The group's commits reach B, translated, then a kafkajs member resumes there.
    await eventually(
      async () => {
        const offs = await tadmin.fetchOffsets({ groupId: "billing", topics: ["A.orders"] });
        return offs[0].partitions.every((p) => p.offset >= 0 || !consumedA.has(p.partition));
      },
      30_000,
      "billing's offsets synced to B",
    );
    const synced = await tadmin.fetchOffsets({ groupId: "billing", topics: ["A.orders"] });
    for (const p of synced[0].partitions) {
      const committed = consumedA.get(p.partition) ?? 0;
      // The remote partition holds the same offsets (a fresh topic, no duplicates), so the
      // translation is within offset.lag.max below the commit, and never past it.
      assert.ok(
        p.offset <= committed && committed - p.offset < 100,
        `partition ${p.partition}: ${p.offset} for ${committed}`,
      );
    }
    const kafkaB = new Kafka({ clientId: "billing-b", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const cb = kafkaB.consumer({ groupId: "billing", sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await cb.connect();
    await cb.subscribe({ topic: "A.orders", fromBeginning: true });
    const firstB = new Map<number, number>();
    const seenB = new Set<string>();
    // Every record the group had not consumed on A must come.
    const remaining = new Set(
      from.filter((r) => r.offset >= (consumedA.get(r.partition) ?? 0)).map((r) => r.value),
    );
    assert.equal(remaining.size, 5000);
    let resolveRest!: () => void;
    const rest = new Promise<void>((r) => (resolveRest = r));
    await cb.run({
      eachMessage: async ({ partition, message }) => {
        if (!firstB.has(partition)) firstB.set(partition, Number(message.offset));
        seenB.add(message.value!.toString());
        remaining.delete(message.value!.toString());
        if (remaining.size === 0) resolveRest();
      },
    });
    await rest;
    await cb.disconnect();
    for (const [p, first] of firstB) {
      const committed = consumedA.get(p) ?? 0;
      assert.ok(
        first <= committed && committed - first < 100,
        `partition ${p} resumed at ${first}, committed ${committed}`,
      );
    }
    assert.ok(seenB.size - 5000 < 3 * 100, `re-read ${seenB.size - 5000} records`);

    // Checkpoints and heartbeats are on B in MM2's layouts.
    const cps = await readAllRaw(b.bootstrap, "A.checkpoints.internal");
    const cp = cps.map((r) => decodeCheckpoint(r.key, r.value)).filter((c) => c.group === "billing");
    for (const c of cp) assert.equal(c.topic, "A.orders");
    // The newest checkpoint of each partition the group committed: its commit, translated.
    const newest = new Map(cp.map((c) => [c.partition, c]));
    assert.deepEqual([...newest.keys()].sort(), [...consumedA.keys()].sort());
    for (const [p, c] of newest) {
      assert.equal(c.upstreamOffset, consumedA.get(p));
      assert.equal(c.downstreamOffset, synced[0].partitions.find((x) => x.partition === p)!.offset);
    }
    const hbs = await readAllRaw(b.bootstrap, "heartbeats");
    assert.ok(hbs.length > 0);
    assert.deepEqual(
      { ...decodeHeartbeat(hbs[0].key, hbs[0].value), timestamp: 0 },
      { source: "A", target: "B", timestamp: 0 },
    );
    assert.ok((await topicList(a.bootstrap)).includes("mm2-offset-syncs.B.internal"));
    await eventually(
      () =>
        /\[mirror A->B\] 10000 records copied, [\d.]+ records\/s, lag 0 records over 3 partitions/.test(
          mirror.output,
        ),
      10_000,
      `the progress line in:\n${mirror.output}`,
    );
    // The same on GET /metrics (Prometheus text, prom-client).
    assert.ok(mirror.metricsPort > 0);
    const metrics = await (await fetch(`http://127.0.0.1:${mirror.metricsPort}/metrics`)).text();
    assert.match(metrics, /^milena_mirror_records_copied_total\{source="A",target="B"\} 10000$/m);
    assert.match(metrics, /^milena_mirror_lag_records\{source="A",target="B"\} 0$/m);
    assert.match(metrics, /^milena_mirror_partitions\{source="A",target="B"\} 3$/m);
    assert.match(metrics, /^milena_mirror_topics\{source="A",target="B"\} 1$/m);
    assert.match(metrics, /^milena_mirror_sessions_total\{source="A",target="B"\} 1$/m);
    assert.match(metrics, /^# TYPE milena_mirror_offset_syncs_total counter$/m);
    assert.match(metrics, /^milena_mirror_heartbeats_total\{source="A",target="B"\} [1-9]\d*$/m);
    await tadmin.disconnect();
    assert.equal(await mirror.stop(), 0);
  });

  it("loses nothing when the mirror is killed mid-run and restarted", async () => {
    const src = new Milena({ bootstrap: a.bootstrap });
    const admin = src.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "events", numPartitions: 2 }] });
    await admin.disconnect();
    const producer = src.producer();
    await producer.connect();
    let produced = 0;
    const producing = (async () => {
      while (produced < 10_000) {
        await producer.send({
          topic: "events",
          messages: Array.from({ length: 250 }, (_, j) => ({
            key: `k${produced + j}`,
            value: `event ${produced + j}`,
          })),
        });
        produced += 250;
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const cfg = config(a, b, "A->B.enabled = true\nA->B.topics = events");
    let mirror = await MirrorProcess.start(cfg);
    mirrors.push(mirror);
    await eventually(
      async () => (await highWatermarks(b.bootstrap, "A.events")) >= 2000,
      60_000,
      "2,000 records copied",
    );
    await mirror.kill();
    const atKill = await highWatermarks(b.bootstrap, "A.events");
    assert.ok(atKill < 10_000, `the kill came after the copy ended (${atKill})`);
    mirror = await MirrorProcess.start(cfg);
    mirrors.push(mirror);
    await producing;
    await producer.disconnect();
    const values = await eventually(
      async () => {
        const recs = await readAll(b.bootstrap, "A.events");
        const set = new Set(recs.map((r) => r.value));
        return set.size === 10_000 ? recs : undefined;
      },
      90_000,
      "every record on B",
    );
    // Per partition, the source's records in order (a resumed copy may repeat a tail: at least once).
    const from = await readAll(a.bootstrap, "events");
    for (const p of [0, 1]) {
      const want = from.filter((r) => r.partition === p).map((r) => r.value);
      const got = values.filter((r) => r.partition === p).map((r) => r.value);
      const dedup: (string | null)[] = [];
      const seen = new Set<string | null>();
      for (const v of got)
        if (!seen.has(v)) {
          seen.add(v);
          dedup.push(v);
        }
      assert.deepEqual(dedup, want);
    }
    assert.equal(await mirror.stop(), 0);
  });

  it("both directions at once: no loops; include / exclude choose the topics", async () => {
    for (const [broker, topics] of [
      [a, ["a1", "skip-a"]],
      [b, ["b1"]],
    ] as const) {
      const m = new Milena({ bootstrap: broker.bootstrap });
      const admin = m.admin();
      await admin.connect();
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) });
      await admin.disconnect();
      const p = m.producer();
      await p.connect();
      for (const topic of topics) await p.send({ topic, messages: [{ value: `from ${topic}` }] });
      await p.disconnect();
    }
    const mirror = await MirrorProcess.start(
      config(
        a,
        b,
        "A->B.enabled = true\nB->A.enabled = true\ntopics = a1, b1, skip-.*, A\\.a1, B\\.b1\ntopics.exclude = skip-.*",
      ),
    );
    mirrors.push(mirror);
    await eventually(
      async () =>
        (await highWatermarks(b.bootstrap, "A.a1")) === 1 &&
        (await highWatermarks(a.bootstrap, "B.b1")) === 1 &&
        (await topicList(b.bootstrap)).includes("A.heartbeats") &&
        (await topicList(a.bootstrap)).includes("B.heartbeats"),
      60_000,
      "a1 on B and b1 on A",
    );
    // Several refreshes later: nothing came back, nothing excluded went over, no record twice.
    await new Promise((r) => setTimeout(r, 4000));
    const onA = await topicList(a.bootstrap);
    const onB = await topicList(b.bootstrap);
    for (const t of [...onA, ...onB]) assert.doesNotMatch(t, /^(A\.B|B\.A)\./, `${t} is a loop`);
    assert.ok(!onB.includes("A.skip-a"), "skip-a is excluded");
    assert.ok(!onB.includes("A.mm2-offset-syncs.B.internal") && !onA.includes("B.A.checkpoints.internal"));
    assert.ok(!onB.some((t) => t.startsWith("A.__")), "no internal topic mirrored");
    assert.equal(await highWatermarks(b.bootstrap, "A.a1"), 1);
    assert.equal(await highWatermarks(a.bootstrap, "B.b1"), 1);
    // B's heartbeats (A->B's) reached A as B.heartbeats, and A's (B->A's) reached B as A.heartbeats.
    const hbOnA = (await readAllRaw(a.bootstrap, "B.heartbeats")).map((r) => decodeHeartbeat(r.key, r.value));
    assert.ok(hbOnA.length > 0 && hbOnA.every((h) => h.source === "A" && h.target === "B"));
    assert.equal(await mirror.stop(), 0);
  });
  it("follows the source: a config changed there, partitions added there", async () => {
    const src = new Milena({ bootstrap: a.bootstrap });
    const admin = src.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: "growing", numPartitions: 1, configEntries: [{ name: "retention.ms", value: "1000000" }] },
      ],
    });
    const p = src.producer();
    await p.connect();
    await p.send({ topic: "growing", messages: [{ value: "first", partition: 0 }] });
    const mirror = await MirrorProcess.start(config(a, b, "A->B.enabled = true\nA->B.topics = growing"));
    mirrors.push(mirror);
    const tgt = new Milena({ bootstrap: b.bootstrap }).admin();
    await tgt.connect();
    const remoteConfig = async (name: string) =>
      (
        await tgt.describeConfigs({ resources: [{ type: 2, name: "A.growing" }] })
      ).resources[0].configEntries.find((e) => e.configName === name)?.configValue;
    await eventually(
      async () => (await highWatermarks(b.bootstrap, "A.growing")) === 1,
      30_000,
      "the first record",
    );
    assert.equal(await remoteConfig("retention.ms"), "1000000");
    // A config changed on the source reaches the remote topic (sync.topic.configs.interval 1 s).
    await admin.alterConfigs({
      resources: [{ type: 2, name: "growing", configEntries: [{ name: "retention.ms", value: "2000000" }] }],
    });
    await eventually(
      async () => (await remoteConfig("retention.ms")) === "2000000",
      30_000,
      "the new retention.ms on B",
    );
    // Partitions added on the source: the remote topic grows, and their records come over.
    await admin.createPartitions({ topicPartitions: [{ topic: "growing", count: 3 }] });
    await eventually(
      async () => (await tgt.fetchTopicMetadata({ topics: ["A.growing"] })).topics[0].partitions.length === 3,
      30_000,
      "A.growing with 3 partitions",
    );
    const p2 = src.producer(); // p knows 1 partition
    await p2.connect();
    await p2.send({ topic: "growing", messages: [{ value: "in 2", partition: 2 }] });
    await p2.disconnect();
    await eventually(
      async () => {
        const r = await readAll(b.bootstrap, "A.growing");
        return r.some((x) => x.partition === 2 && x.value === "in 2");
      },
      30_000,
      "the record of partition 2 on B",
    );
    await p.disconnect();
    await admin.disconnect();
    await tgt.disconnect();
    assert.match(mirror.output, /grew A\.growing from 1 to 3 partitions/);
    assert.equal(await mirror.stop(), 0);
  });
});

async function readAllRaw(bootstrap: string, topic: string): Promise<{ key: Buffer; value: Buffer }[]> {
  const m = new Milena({ bootstrap });
  const admin = m.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((s, e) => s + e.high - e.low, 0);
  const out: { key: Buffer; value: Buffer }[] = [];
  if (total === 0) return out;
  const c = m.consumer({ autoOffsetReset: "earliest" });
  await c.connect();
  await c.assign([{ topic, offset: "earliest" }]);
  for await (const r of c) {
    out.push({ key: Buffer.from(r.key!), value: Buffer.from(r.value!) });
    if (out.length >= total) break;
  }
  await c.disconnect();
  return out;
}
