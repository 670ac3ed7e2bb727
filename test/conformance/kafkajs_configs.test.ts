// Per-topic config overrides through kafkajs's admin: createTopics configEntries, describeConfigs
// (value and source), alterConfigs (replaces the overrides), bad names and values rejected with
// INVALID_CONFIG, and the overrides in force: max.message.bytes rejects a larger batch,
// segment.bytes rolls segments. Overrides survive a restart.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import kafkajs, { type Admin, Kafka, logLevel } from "kafkajs";
import { BrokerProcess } from "../helpers/broker_process.ts";

const { ConfigResourceTypes } = kafkajs;

// Kafka's ConfigSource values as kafkajs reports them (configSource).
const DYNAMIC_TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

describe("topic config overrides with kafkajs", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let admin: Admin;

  const describeTopic = async (topic: string) => {
    const r = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    });
    const entries = r.resources[0].configEntries;
    return new Map(entries.map((e) => [e.configName, e]));
  };

  before(async () => {
    broker = await BrokerProcess.start();
    kafka = new Kafka({
      clientId: "configs",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.destroy();
  });

  it("createTopics configEntries become the topic's overrides, shown with their source", async () => {
    await admin.createTopics({
      topics: [
        {
          topic: "configured",
          numPartitions: 2,
          configEntries: [
            { name: "retention.ms", value: "3600000" },
            { name: "segment.bytes", value: "4096" },
            { name: "max.message.bytes", value: "2000" },
          ],
        },
      ],
    });
    const c = await describeTopic("configured");
    assert.equal(c.get("retention.ms")?.configValue, "3600000");
    assert.equal(c.get("retention.ms")?.configSource, DYNAMIC_TOPIC_CONFIG);
    assert.equal(c.get("segment.bytes")?.configValue, "4096");
    assert.equal(c.get("max.message.bytes")?.configValue, "2000");
    assert.equal(c.get("retention.bytes")?.configValue, "-1");
    assert.equal(c.get("retention.bytes")?.configSource, DEFAULT_CONFIG);
    for (const p of [0, 1]) {
      const file = fs.readFileSync(join(broker.logDir, `configured-${p}`, "topic-config.properties"), "utf8");
      assert.match(file, /^segment\.bytes=4096$/m);
    }
  });

  it("max.message.bytes of the topic rejects a larger batch; segment.bytes rolls segments", async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic: "configured", messages: [{ partition: 0, value: "x".repeat(3000) }] }),
        (e: Error & { type?: string }) => e.type === "MESSAGE_TOO_LARGE" || /too large/i.test(e.message),
      );
      for (let i = 0; i < 20; i++) {
        await producer.send({ topic: "configured", messages: [{ partition: 0, value: "y".repeat(1000) }] });
      }
    } finally {
      await producer.disconnect();
    }
    const logs = fs.readdirSync(join(broker.logDir, "configured-0")).filter((f) => f.endsWith(".log"));
    assert.ok(logs.length >= 4, `segment.bytes=4096 rolled ${logs.length} segments for ~20 KB`);
  });

  it("alterConfigs replaces the overrides; a bad name or value is INVALID_CONFIG and changes nothing", async () => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: "configured",
          configEntries: [{ name: "retention.ms", value: "60000" }],
        },
      ],
    });
    let c = await describeTopic("configured");
    assert.equal(c.get("retention.ms")?.configValue, "60000");
    assert.equal(
      c.get("segment.bytes")?.configSource,
      DEFAULT_CONFIG,
      "overrides not in the set are removed (AlterConfigs replaces)",
    );
    for (const bad of [
      { name: "no.such.config", value: "1" },
      { name: "retention.ms", value: "soon" },
      { name: "segment.bytes", value: "1" },
    ]) {
      await assert.rejects(
        admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: "configured", configEntries: [bad] }],
        }),
        (e: Error & { type?: string }) => e.type === "INVALID_CONFIG",
        `${bad.name}=${bad.value}`,
      );
    }
    c = await describeTopic("configured");
    assert.equal(c.get("retention.ms")?.configValue, "60000");
  });

  it("createTopics with an unknown config name fails with INVALID_CONFIG and creates nothing", async () => {
    await assert.rejects(
      admin.createTopics({
        topics: [{ topic: "never", configEntries: [{ name: "retention.weeks", value: "1" }] }],
      }),
      (e: Error & { errors?: { type: string }[] }) =>
        (e.errors ?? []).some((x) => x.type === "INVALID_CONFIG"),
    );
    assert.ok(!(await admin.listTopics()).includes("never"));
  });

  it("overrides survive a restart", async () => {
    await admin.disconnect();
    await broker.restart();
    kafka = new Kafka({
      clientId: "configs",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    admin = kafka.admin();
    await admin.connect();
    const c = await describeTopic("configured");
    assert.equal(c.get("retention.ms")?.configValue, "60000");
    assert.equal(c.get("retention.ms")?.configSource, DYNAMIC_TOPIC_CONFIG);
  });
});
