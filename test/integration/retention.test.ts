// Retention with the real broker: closed segments expire by the largest record timestamp
// (retention.ms) and by partition size (retention.bytes); the active segment stays; the log
// start offset moves, a fetch below it is OFFSET_OUT_OF_RANGE, and a consumer reading from the
// beginning starts at the new log start. Also rolling by time (segment.ms) on an idle partition.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Admin, Kafka, logLevel, type Producer } from "kafkajs";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const segments = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".log"))
    .sort();

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("retention", () => {
  let broker: BrokerProcess;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "log.retention.check.interval.ms": 200,
        "group.initial.rebalance.delay.ms": 0,
        "offsets.topic.num.partitions": 3,
      },
    });
    const kafka = new Kafka({
      clientId: "retention",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.destroy();
  });

  const low = async (topic: string) => Number((await admin.fetchTopicOffsets(topic))[0].low);
  /** The log start once retention is done with every expired closed segment: unchanged over a few checks (interval 200 ms). */
  const stableLow = async (topic: string) => {
    let start = await low(topic);
    for (;;) {
      await sleep(700);
      const now = await low(topic);
      if (now === start) return start;
      start = now;
    }
  };

  it("by time: segments whose newest record is older than retention.ms are deleted", async () => {
    await admin.createTopics({
      topics: [
        {
          topic: "by-time",
          configEntries: [
            { name: "segment.bytes", value: "2048" },
            { name: "retention.ms", value: "60000" },
          ],
        },
      ],
    });
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 20; i++) {
      await producer.send({
        topic: "by-time",
        messages: [{ value: "o".repeat(500), timestamp: String(old + i) }],
      });
    }
    for (let i = 0; i < 3; i++)
      await producer.send({ topic: "by-time", messages: [{ value: `fresh-${i}` }] });
    const dir = join(broker.logDir, "by-time-0");
    // 500-byte records, 2048-byte segments: every segment holding only old records goes; the one
    // holding the last old records and the fresh ones stays.
    await until("old segments to go", async () => (await low("by-time")) >= 15);
    const start = await stableLow("by-time");
    assert.ok(start <= 20, `log start ${start} keeps every fresh record`);
    assert.equal(start, Number(segments(dir)[0].slice(0, 20)), "log start = first remaining segment's base");
    assert.ok(segments(dir).length >= 1);

    // kcat from the beginning starts at the new log start and sees the fresh records.
    const r = await run("kcat", [
      "-b",
      broker.bootstrap,
      "-C",
      "-t",
      "by-time",
      "-o",
      "beginning",
      "-e",
      "-f",
      "%o %s\n",
    ]);
    const lines = r.stdout.trim().split("\n");
    assert.equal(Number(lines[0].split(" ")[0]), start);
    assert.deepEqual(
      lines.slice(-3).map((l) => l.split(" ")[1]),
      ["fresh-0", "fresh-1", "fresh-2"],
    );

    // A fetch below the log start is OFFSET_OUT_OF_RANGE: kcat with auto.offset.reset=error reports it.
    const below = await run("kcat", [
      "-b",
      broker.bootstrap,
      "-C",
      "-t",
      "by-time",
      "-o",
      "0",
      "-e",
      "-X",
      "auto.offset.reset=error",
    ]);
    assert.match(below.stderr + below.stdout, /out of range|OFFSET_OUT_OF_RANGE|Offset out of range/i);
  });

  it("by size: the oldest closed segments go while the partition is above retention.bytes", async () => {
    await admin.createTopics({
      topics: [
        {
          topic: "by-size",
          configEntries: [
            { name: "segment.bytes", value: "2048" },
            { name: "retention.bytes", value: "4096" },
          ],
        },
      ],
    });
    for (let i = 0; i < 30; i++)
      await producer.send({ topic: "by-size", messages: [{ value: "s".repeat(500) }] });
    const dir = join(broker.logDir, "by-size-0");
    await until("size retention", () => {
      const total = segments(dir).reduce((n, f) => n + fs.statSync(join(dir, f)).size, 0);
      return total < 4096 + 2048 + 1024;
    });
    assert.ok((await low("by-size")) > 0);
    const high = Number((await admin.fetchTopicOffsets("by-size"))[0].high);
    assert.equal(high, 30, "log end unchanged by retention");
  });

  it("an idle partition rolls by segment.ms, so its last segment can expire too", async () => {
    await admin.createTopics({
      topics: [
        {
          topic: "idle",
          configEntries: [
            { name: "segment.ms", value: "300" },
            { name: "retention.ms", value: "60000" },
          ],
        },
      ],
    });
    await producer.send({
      topic: "idle",
      messages: [{ value: "old", timestamp: String(Date.now() - 3_600_000) }],
    });
    await until("the idle segment to roll and expire", async () => (await low("idle")) === 1);
    const high = Number((await admin.fetchTopicOffsets("idle"))[0].high);
    assert.equal(high, 1);
  });

  it("a kafkajs consumer group whose committed offset fell below the log start resets to it", async () => {
    await admin.createTopics({
      topics: [
        {
          topic: "reset",
          configEntries: [
            { name: "segment.bytes", value: "2048" },
            { name: "retention.ms", value: "60000" },
          ],
        },
      ],
    });
    const kafka = new Kafka({ clientId: "reset", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    // Commit offset 1 for the group: the next consumer would start there.
    await admin.setOffsets({
      groupId: "resetters",
      topic: "reset",
      partitions: [{ partition: 0, offset: "1" }],
    });
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 20; i++) {
      await producer.send({
        topic: "reset",
        messages: [{ value: `old-${i}-${"o".repeat(500)}`, timestamp: String(old + i) }],
      });
    }
    await producer.send({ topic: "reset", messages: [{ value: "fresh" }] });
    await until("old segments to go", async () => (await low("reset")) > 1);
    // Let retention finish with every closed segment of old records: the log start is stable
    // over a few checks (log.retention.check.interval.ms=200).
    const start = await stableLow("reset");
    const consumer = kafka.consumer({ groupId: "resetters", sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: "reset", fromBeginning: true });
    const offsets: number[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          offsets.push(Number(message.offset));
          if (message.value?.toString() === "fresh") resolve();
        },
      });
    });
    await consumer.disconnect();
    assert.equal(offsets[0], start, "reset to the log start (auto.offset.reset earliest)");
  });
});
