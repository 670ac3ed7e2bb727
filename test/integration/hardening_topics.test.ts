// Hardening of topics and partitions (issue 8): creation limits (max.partitions.per.request,
// max.broker.partitions), thousands of partitions with few file descriptors (log.max.open.files),
// an acceptor that keeps answering while a large CreateTopics runs, atomic creation and deletion
// across a crash (the intents journal; Kafka's "-delete" directories), restarts that skip what
// they cannot open, auto-creation bounded per request, and client-made groups that expire.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { joinGroupCodec } from "../../src/protocol/join_group.ts";
import { listGroupsCodec } from "../../src/protocol/list_groups.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function createReq(
  name: string,
  numPartitions: number,
  validateOnly = false,
  configs: { name: string; value: string }[] = [],
) {
  return {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 60_000,
    validateOnly,
  };
}

function partitionDirs(logDir: string, topic: string): string[] {
  return fs.readdirSync(logDir).filter((n) => n.startsWith(`${topic}-`));
}

describe("partition limits", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "max.broker.partitions": 60, "auto.create.topics.enable": false },
    });
    c = await RawClient.tcp(broker.bootstrap);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  it("20,000 or 1,000,000 partitions in one request: POLICY_VIOLATION, nothing created", async () => {
    for (const n of [20_000, 1_000_000]) {
      const res = await c.request(createTopicsCodec, 1, createReq(`huge${n}`, n));
      assert.equal(res.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(res.topics[0].errorMessage ?? "", /max\.partitions\.per\.request \(10000\)/);
      assert.deepEqual(partitionDirs(broker.logDir, `huge${n}`), []);
    }
  });

  it("the broker-wide limit: 40 partitions fit under max.broker.partitions=60, 30 more do not", async () => {
    assert.equal((await c.request(createTopicsCodec, 1, createReq("fits", 40))).topics[0].errorCode, 0);
    const check = await c.request(createTopicsCodec, 1, createReq("overflow", 30, true));
    assert.equal(check.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
    const res = await c.request(createTopicsCodec, 1, createReq("overflow", 30));
    assert.equal(res.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
    assert.match(res.topics[0].errorMessage ?? "", /max\.broker\.partitions \(60\)/);
    assert.deepEqual(partitionDirs(broker.logDir, "overflow"), []);
    assert.equal((await c.request(createTopicsCodec, 1, createReq("fits2", 20))).topics[0].errorCode, 0);
  });
});

describe("many partitions, few files", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "log.max.open.files": 60, "auto.create.topics.enable": false },
    });
  });
  after(async () => {
    await broker.destroy();
  });

  it("a 1,000-partition CreateTopics: ApiVersions on another connection stays answered meanwhile", async () => {
    const admin = await RawClient.tcp(broker.bootstrap);
    const probe = await RawClient.tcp(broker.bootstrap);
    let done = false;
    // With an override, each partition's config file is written and fsynced.
    const configs = [{ name: "retention.ms", value: "86400000" }];
    const created = admin
      .request(createTopicsCodec, 1, createReq("wide", 1000, false, configs))
      .finally(() => {
        done = true;
      });
    const latencies: number[] = [];
    while (!done) {
      const t0 = performance.now();
      await probe.apiVersions(2);
      latencies.push(performance.now() - t0);
      await sleep(5);
    }
    const res = await created;
    assert.equal(res.topics[0].errorCode, 0, res.topics[0].errorMessage ?? "");
    latencies.sort((a, b) => a - b);
    const median = latencies[latencies.length >> 1];
    // Before: the acceptor wrote and fsynced every partition's config file itself.
    assert.ok(latencies.length >= 3, `${latencies.length} probes`);
    assert.ok(median < 50, `median ApiVersions ${median.toFixed(1)} ms during the creation`);
    assert.ok(latencies[latencies.length - 1] < 1000, `slowest ${latencies.at(-1)!.toFixed(0)} ms`);
    admin.close();
    probe.close();
  });

  it("producing to and reading every one of the 1,000 partitions keeps open files bounded", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    for (let from = 0; from < 1000; from += 100) {
      const res = await c.request(produceCodec, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 10_000,
        topics: [
          {
            name: "wide",
            partitions: Array.from({ length: 100 }, (_, i) => ({
              partitionIndex: from + i,
              records: encodeBatch([{ key: `k${from + i}`, value: `v${from + i}` }]),
            })),
          },
        ],
      });
      for (const p of res.responses[0].partitions) assert.equal(p.errorCode, 0);
    }
    for (let p = 0; p < 1000; p += 37) {
      const recs = await c.readAll("wide", p);
      assert.equal(recs.length, 1);
      assert.equal(recs[0].value?.toString(), `v${p}`);
    }
    // 1,000 partitions held three files each for appends and one per segment for reads (4,000+);
    // log.max.open.files=60 bounds both sides.
    const fds = broker.openFds();
    assert.ok(fds < 400, `${fds} open fds`);
    c.close();
  });

  it("restarted, every partition is there and readable", async () => {
    await broker.restart();
    const c = await RawClient.tcp(broker.bootstrap);
    const md = await c.request(metadataCodec, 1, metadataRequest(["wide"], false));
    assert.equal(md.topics[0].partitions.length, 1000);
    const recs = await c.readAll("wide", 999);
    assert.equal(recs[0].value?.toString(), "v999");
    assert.ok(broker.openFds() < 400);
    c.close();
  });
});

describe("atomic creation and deletion, restarts with leftovers", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
  });
  after(async () => {
    await broker.destroy();
  });

  it("a creation or deletion cut short by a crash is undone or finished at restart", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    assert.equal(
      (await c.request(createTopicsCodec, 1, createReq("half-deleted", 4))).topics[0].errorCode,
      0,
    );
    assert.equal((await c.request(createTopicsCodec, 1, createReq("keeper", 2))).topics[0].errorCode, 0);
    c.close();
    await broker.kill();
    const dir = broker.logDir;
    // What a crash leaves: a creation that got through 3 of its partitions; a deletion that
    // renamed one partition away; a leftover of an old delete.
    fs.mkdirSync(join(dir, ".milena-intents"), { recursive: true });
    fs.writeFileSync(join(dir, ".milena-intents", "create.half-created"), "");
    for (let p = 0; p < 3; p++)
      fs.cpSync(join(dir, "keeper-0"), join(dir, `half-created-${p}`), { recursive: true });
    fs.writeFileSync(join(dir, ".milena-intents", "delete.half-deleted"), "");
    fs.renameSync(join(dir, "half-deleted-0"), join(dir, `half-deleted-0.${"a".repeat(32)}-delete`));
    fs.mkdirSync(join(dir, `old-7.${"b".repeat(32)}-delete`));
    await broker.launch();
    assert.match(broker.output, /topic half-created: its creation was interrupted/);
    assert.match(broker.output, /topic half-deleted: its deletion was interrupted; it is finished/);
    const c2 = await RawClient.tcp(broker.bootstrap);
    const md = await c2.request(metadataCodec, 1, metadataRequest(null, false));
    const names = md.topics.map((t) => t.name).sort();
    assert.deepEqual(names, ["keeper"]);
    for (let i = 0; i < 50 && fs.readdirSync(dir).some((n) => n.endsWith("-delete")); i++) await sleep(100);
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => /^(half|old)/.test(n)),
      [],
    );
    assert.equal(fs.readdirSync(join(dir, ".milena-intents")).length, 0);
    c2.close();
  });

  it("a topic created again while its deletion runs waits for it, and starts empty", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    const c2 = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.request(createTopicsCodec, 1, createReq("reborn", 300))).topics[0].errorCode, 0);
    const produced = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: [
        {
          name: "reborn",
          partitions: [{ partitionIndex: 0, records: encodeBatch([{ key: null, value: "old" }]) }],
        },
      ],
    });
    assert.equal(produced.responses[0].partitions[0].errorCode, 0);
    // Pipelined on one connection: the creation arrives while the deletion runs.
    const deleted = c.request(deleteTopicsCodec, 1, { topicNames: ["reborn"], timeoutMs: 30_000 });
    const early = await c.request(createTopicsCodec, 1, createReq("reborn", 300));
    const codes = [early.topics[0].errorCode];
    if (early.topics[0].errorCode !== 0) {
      assert.equal(early.topics[0].errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
      assert.match(early.topics[0].errorMessage ?? "", /marked for deletion/);
    }
    assert.equal((await deleted).responses[0].errorCode, 0);
    if (codes[0] !== 0)
      assert.equal((await c2.request(createTopicsCodec, 1, createReq("reborn", 300))).topics[0].errorCode, 0);
    const p0 = await c2.fetchPartition("reborn", 0, 0);
    assert.equal(p0.errorCode, 0);
    assert.equal(p0.highWatermark, 0);
    // Every partition of the new topic is its own: written, it survives a restart.
    const all = Array.from({ length: 300 }, (_, i) => ({
      partitionIndex: i,
      records: encodeBatch([{ key: null, value: `new${i}` }]),
    }));
    const res = await c2.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: "reborn", partitions: all }],
    });
    assert.deepEqual(
      res.responses[0].partitions.filter((p) => p.errorCode !== 0 || p.baseOffset !== 0),
      [],
    );
    c.close();
    c2.close();
    await broker.stop();
    await broker.launch();
    const c3 = await RawClient.tcp(broker.bootstrap);
    const md = await c3.request(metadataCodec, 1, metadataRequest(["reborn"], false));
    assert.equal(md.topics[0].partitions.length, 300);
    for (const i of [0, 150, 299]) {
      const recs = await c3.readAll("reborn", i);
      assert.deepEqual(
        recs.map((r) => r.value?.toString()),
        [`new${i}`],
      );
    }
    assert.equal(partitionDirs(broker.logDir, "reborn").filter((n) => !n.endsWith("-delete")).length, 300);
    c3.close();
  });

  it("a partition dir that cannot be opened is reported and skipped; the broker starts", async () => {
    await broker.kill();
    const bad = join(broker.logDir, "broken-0");
    fs.mkdirSync(bad);
    // A directory where the segment file should be: the scan cannot read it.
    fs.mkdirSync(join(bad, "00000000000000000000.log"));
    await broker.launch();
    assert.match(broker.output, /recovery: skipped .*broken-0/);
    const c = await RawClient.tcp(broker.bootstrap);
    const md = await c.request(metadataCodec, 1, metadataRequest(["keeper"], false));
    assert.equal(md.topics[0].errorCode, 0);
    c.close();
    fs.rmSync(bad, { recursive: true, force: true });
  });
});

describe("state a client can make up", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "max.partitions.per.request": 50,
        "offsets.retention.check.interval.ms": 300,
        "group.min.session.timeout.ms": 100,
        "group.initial.rebalance.delay.ms": 0,
      },
    });
  });
  after(async () => {
    await broker.destroy();
  });

  it("a Metadata naming 1,000 unknown topics auto-creates max.partitions.per.request of them", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    const topics = Array.from({ length: 1000 }, (_, i) => `made-up-${i}`);
    const res = await c.request(metadataCodec, 4, metadataRequest(topics, true));
    const ok = res.topics.filter((t) => t.errorCode === 0).length;
    const refused = res.topics.filter((t) => t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).length;
    assert.equal(ok, 50);
    assert.equal(refused, 950);
    c.close();
  });

  it("2,000 JoinGroups with made-up group ids leave no groups behind once they are empty", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    const joins = [];
    for (let i = 0; i < 2000; i++) {
      joins.push(
        c.request(joinGroupCodec, 4, {
          groupId: `made-up-group-${i}`,
          sessionTimeoutMs: 200,
          rebalanceTimeoutMs: 200,
          memberId: "",
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: Buffer.alloc(8) }],
        }),
      );
    }
    for (const r of await Promise.all(joins)) assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    let left = 2000;
    for (let i = 0; i < 40 && left > 0; i++) {
      await sleep(100);
      const listed = await c.request(listGroupsCodec, 1, {});
      left = listed.groups.filter((g) => g.groupId.startsWith("made-up-group-")).length;
    }
    assert.equal(left, 0);
    c.close();
  });
});
