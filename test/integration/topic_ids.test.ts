// Topic ids (KIP-516) on a real broker: every partition directory holds Kafka's
// partition.metadata with its topic's id; the id survives a restart (partitions added after the
// restart get the same one, so the broker read it back); DeleteTopics + CreateTopics gives a
// new id; CreatePartitions gives the new partitions the topic's id; a partition that lost the
// file gets its siblings' id back at the next start, and a topic whose files are all missing
// (an older Milena's logs) gets one new id for all of them. A corrupt file or partitions that
// disagree stop startup, naming the file, and leave the disk as it was. In-process:
// LogManager.topicById follows creation, restart, growth, deletion and re-creation.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Broker } from "../../src/broker/broker.ts";
import { resolveConfig } from "../../src/broker/config.ts";
import { topicIdFromString, topicIdToString } from "../../src/log/partition_metadata.ts";
import { createPartitionsCodec } from "../../src/protocol/create_partitions.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const FILE = "partition.metadata";
/** Kafka's exact layout: no newline after the id. */
const LAYOUT = /^version: 0\ntopic_id: ([A-Za-z0-9_-]{22})$/;

function partitionDirs(logDir: string, topic: string): string[] {
  const re = new RegExp(`^${topic.replace(/[.]/g, "\\.")}-(\\d+)$`);
  return fs
    .readdirSync(logDir)
    .filter((n) => re.test(n))
    .sort((a, b) => Number(re.exec(a)![1]) - Number(re.exec(b)![1]));
}

/** The id in each of a topic's partition dirs, checking Kafka's exact layout. */
function idsOnDisk(logDir: string, topic: string): string[] {
  return partitionDirs(logDir, topic).map((d) => {
    const text = fs.readFileSync(join(logDir, d, FILE), "utf8");
    const m = LAYOUT.exec(text);
    assert.ok(m, `${d}/${FILE} is not Kafka's layout: ${JSON.stringify(text)}`);
    assert.ok(!fs.existsSync(join(logDir, d, `${FILE}.tmp`)), `${d}: temp file left`);
    return m[1];
  });
}

/** The one id all of a topic's partitions hold (asserting they agree and how many there are). */
function topicIdOnDisk(logDir: string, topic: string, partitions: number): string {
  const ids = idsOnDisk(logDir, topic);
  assert.equal(ids.length, partitions, `${topic}: ${ids.length} partition dirs`);
  assert.equal(new Set(ids).size, 1, `${topic}: partitions disagree: ${ids.join(" ")}`);
  const id = topicIdFromString(ids[0]);
  assert.ok(id !== null && id.length === 16, ids[0]);
  assert.notEqual(ids[0][0], "-");
  assert.notEqual(ids[0], "AAAAAAAAAAAAAAAAAAAAAA");
  return ids[0];
}

const snapshot = (logDir: string, topic: string) =>
  partitionDirs(logDir, topic).map((d) => {
    const path = join(logDir, d, FILE);
    return { d, text: fs.readFileSync(path, "utf8"), ino: fs.statSync(path).ino };
  });

describe("topic ids on a broker process", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
  });
  after(async () => {
    c?.close();
    await broker.destroy();
  });
  const reconnect = async () => {
    c.close();
    c = await RawClient.tcp(broker.bootstrap);
  };
  /** A start expected to fail; one that starts after all is stopped again before failing. */
  const refusedStart = async () => {
    await broker.launch(false);
    if (broker.exitCode === null) {
      await broker.stop();
      assert.fail(`the broker started:\n${broker.output}`);
    }
    assert.equal(broker.exitCode, 1, broker.output);
  };
  const grow = async (name: string, count: number) =>
    (
      await c.request(createPartitionsCodec, 3, {
        topics: [{ name, count, assignments: null }],
        timeoutMs: 5000,
        validateOnly: false,
      })
    ).results[0];

  let first = "";

  it("CreateTopics: each of the 3 partition dirs holds partition.metadata with the same id", async () => {
    assert.equal((await c.createTopic("ids", 3)).errorCode, 0);
    assert.equal((await c.createTopic("other", 2)).errorCode, 0);
    first = topicIdOnDisk(broker.logDir, "ids", 3);
    assert.notEqual(topicIdOnDisk(broker.logDir, "other", 2), first, "two topics, two ids");
  });

  it("restarted on the same dir: the same id, files untouched; partitions added then get it", async () => {
    const before = snapshot(broker.logDir, "ids");
    await broker.restart();
    await reconnect();
    assert.deepEqual(snapshot(broker.logDir, "ids"), before, "not rewritten");
    assert.doesNotMatch(broker.output, /had no partition\.metadata/);
    // The new partitions' files come from the restarted broker's memory: it read the id back.
    const r = await grow("ids", 5);
    assert.equal(r.errorCode, 0, r.errorMessage ?? "");
    assert.equal(topicIdOnDisk(broker.logDir, "ids", 5), first);
  });

  it("CreatePartitions: the new partitions have the topic's id", async () => {
    const before = topicIdOnDisk(broker.logDir, "other", 2);
    const r = await grow("other", 4);
    assert.equal(r.errorCode, 0, r.errorMessage ?? "");
    assert.equal(topicIdOnDisk(broker.logDir, "other", 4), before);
  });

  let otherId = "";

  it("DeleteTopics then CreateTopics of the same name: a new id", async () => {
    const old = topicIdOnDisk(broker.logDir, "other", 4);
    const del = await c.request(deleteTopicsCodec, 1, { topicNames: ["other"], timeoutMs: 5000 });
    assert.equal(del.responses.length, 1);
    assert.equal(del.responses[0].errorCode, 0);
    assert.equal(partitionDirs(broker.logDir, "other").length, 0);
    assert.equal((await c.createTopic("other", 2)).errorCode, 0);
    otherId = topicIdOnDisk(broker.logDir, "other", 2);
    assert.notEqual(otherId, old, "the re-created topic has the old id");
    assert.notEqual(otherId, first);
    assert.equal(topicIdOnDisk(broker.logDir, "ids", 5), first, "other topics keep theirs");
  });

  it("a partition dir whose file was removed while stopped gets it back, matching its siblings", async () => {
    await broker.stop();
    fs.rmSync(join(broker.logDir, "ids-2", FILE));
    fs.rmSync(join(broker.logDir, "ids-4", FILE));
    await broker.launch();
    await reconnect();
    assert.equal(topicIdOnDisk(broker.logDir, "ids", 5), first);
    assert.match(
      broker.output,
      new RegExp(`recovery: topic ids: 2 partition\\(s\\) had no partition\\.metadata .*${first}`),
    );
    assert.equal(topicIdOnDisk(broker.logDir, "other", 2), otherId);
    // Written for good: the next start finds nothing missing.
    broker.output = "";
    await broker.restart();
    await reconnect();
    assert.doesNotMatch(broker.output, /had no partition\.metadata/);
    assert.equal(topicIdOnDisk(broker.logDir, "ids", 5), first);
  });

  it("a topic with no partition.metadata at all (an older Milena's logs) gets one new id for all", async () => {
    await broker.stop();
    for (const d of partitionDirs(broker.logDir, "other")) fs.rmSync(join(broker.logDir, d, FILE));
    broker.output = "";
    await broker.launch();
    await reconnect();
    const fresh = topicIdOnDisk(broker.logDir, "other", 2);
    assert.notEqual(fresh, otherId);
    assert.match(
      broker.output,
      new RegExp(`topic other: 2 partition\\(s\\) had no .*a new topic id ${fresh}`),
    );
    const r = await grow("other", 3);
    assert.equal(r.errorCode, 0, r.errorMessage ?? "");
    assert.equal(topicIdOnDisk(broker.logDir, "other", 3), fresh);
    otherId = fresh;
  });

  it("partitions that disagree stop startup, naming the dirs; nothing on disk changes", async () => {
    await broker.stop();
    const odd = join(broker.logDir, "ids-3", FILE);
    const good = fs.readFileSync(odd, "utf8");
    const stranger = "ABEiM0RVZneImaq7zN3u_w";
    fs.writeFileSync(odd, `version: 0\ntopic_id: ${stranger}`);
    const marker = join(broker.logDir, ".kafka_cleanshutdown");
    const checkpoint = join(broker.logDir, "recovery-point-offset-checkpoint");
    assert.ok(fs.existsSync(marker), "stopped cleanly");
    const points = fs.readFileSync(checkpoint, "utf8");
    broker.output = "";
    await refusedStart();
    assert.match(broker.output, /cannot start: .*topic ids/);
    assert.match(broker.output, /topic ids: its partitions disagree on the topic id/);
    assert.match(broker.output, new RegExp(`${stranger} in \\S*ids-3`));
    assert.match(broker.output, new RegExp(`${first} in \\S*ids-0`));
    assert.equal(fs.readFileSync(odd, "utf8"), `version: 0\ntopic_id: ${stranger}`);
    for (const p of [0, 1, 2, 4])
      assert.equal(fs.readFileSync(join(broker.logDir, `ids-${p}`, FILE), "utf8"), good);
    // The failed start wrote no checkpoints and kept the marker (it had not removed it yet).
    assert.ok(fs.existsSync(marker), "clean-shutdown marker kept");
    assert.equal(fs.readFileSync(checkpoint, "utf8"), points);
    fs.writeFileSync(odd, good);
  });

  it("a corrupt partition.metadata stops startup, naming the file; removing it repairs", async () => {
    const bad = join(broker.logDir, "ids-0", FILE);
    fs.writeFileSync(bad, "version: 0\ntopic_id: ABEiM0RVZn");
    broker.output = "";
    await refusedStart();
    assert.match(broker.output, /cannot start: /);
    assert.match(broker.output, /ids-0\/partition\.metadata: line 2's topic id is not 16 bytes/);
    assert.equal(fs.readFileSync(bad, "utf8"), "version: 0\ntopic_id: ABEiM0RVZn");
    // What the message says to do: without the file, the partition takes its siblings' id.
    fs.rmSync(bad);
    broker.output = "";
    await broker.launch();
    await reconnect();
    assert.equal(topicIdOnDisk(broker.logDir, "ids", 5), first);
  });
});

describe("LogManager.topicById (in-process broker)", () => {
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-ids-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const start = async () => {
    const config = resolveConfig(
      new Map(),
      new Map([
        ["log.dirs", dir],
        ["listeners", "PLAINTEXT://127.0.0.1:0"],
        ["schema.registry.listeners", "http://127.0.0.1:0"],
        ["num.partition.writers", "1"],
        ["auto.create.topics.enable", "false"],
      ]),
    );
    const b = new Broker(config, () => {});
    await b.start();
    return b;
  };

  it("follows creation, restart, growth, deletion and re-creation", async () => {
    let b = await start();
    try {
      const logs = b.ctx.logs;
      const t = await logs.createTopic("looked-up", 3);
      assert.equal(t.topicId.length, 16);
      assert.equal(topicIdOnDisk(dir, "looked-up", 3), topicIdToString(t.topicId));
      assert.equal(logs.topicById(t.topicId), t);
      // Any 16-byte view of the same bytes finds it; other ids do not.
      assert.equal(logs.topicById(new Uint8Array(t.topicId)), t);
      assert.equal(logs.topicById(topicIdFromString(topicIdToString(t.topicId))!), t);
      assert.equal(logs.topicById(Buffer.alloc(16)), undefined);
      assert.equal(logs.topicById(t.topicId.subarray(0, 8)), undefined);
      const two = await logs.createTopic("second", 1);
      assert.notDeepEqual(two.topicId, t.topicId);
      assert.equal(logs.topicById(two.topicId), two);
      await b.stop();

      b = await start();
      const again = b.ctx.logs.topics.get("looked-up")!;
      assert.deepEqual(again.topicId, t.topicId, "the same id after a restart");
      assert.equal(b.ctx.logs.topicById(t.topicId), again);
      assert.equal(b.ctx.logs.topicById(two.topicId)?.name, "second");
      await b.ctx.logs.addPartitions("looked-up", 4);
      assert.equal(topicIdOnDisk(dir, "looked-up", 4), topicIdToString(t.topicId));

      await b.ctx.logs.deleteTopic("looked-up");
      assert.equal(b.ctx.logs.topicById(t.topicId), undefined, "deleted: gone from the lookup");
      assert.equal(b.ctx.logs.topicById(two.topicId)?.name, "second");
      const reborn = await b.ctx.logs.createTopic("looked-up", 2);
      assert.notDeepEqual(reborn.topicId, t.topicId, "re-created: a new id");
      assert.equal(b.ctx.logs.topicById(reborn.topicId), reborn);
      assert.equal(b.ctx.logs.topicById(t.topicId), undefined);
      assert.equal(topicIdOnDisk(dir, "looked-up", 2), topicIdToString(reborn.topicId));
    } finally {
      await b.stop();
    }
  });
});
