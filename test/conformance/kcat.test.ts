// kcat 1.7.1 (librdkafka 2.0.2) against the broker: keyed lines produced from stdin with lz4
// and gzip (and stored compressed, as sent), read back from the beginning, from an absolute
// offset, the last N, and by timestamp (s@ms, librdkafka's offsets_for_times → ListOffsets);
// and `kcat -L` metadata.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTRIBUTES,
  BATCH_LENGTH,
  Compression,
  LOG_OVERHEAD,
} from "../../src/protocol/record_batch.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";
const FORMAT = "%p\t%o\t%k\t%T\t%s\n";

interface Line {
  partition: number;
  offset: number;
  key: string;
  timestamp: number;
  value: string;
}

function parse(stdout: string): Line[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [p, o, k, t, v] = l.split("\t");
      return { partition: Number(p), offset: Number(o), key: k, timestamp: Number(t), value: v };
    });
}

/** Codec ids of the batches stored in a partition's first segment. */
function storedCodecs(logDir: string, topic: string, partition: number): number[] {
  const data = fs.readFileSync(join(logDir, `${topic}-${partition}`, "00000000000000000000.log"));
  const out: number[] = [];
  for (let at = 0; at + LOG_OVERHEAD <= data.length; ) {
    out.push(data.readInt16BE(at + ATTRIBUTES) & ATTR_COMPRESSION_MASK);
    at += data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
  }
  return out;
}

describe("kcat (librdkafka 2.0.2)", () => {
  let broker: BrokerProcess;

  async function kcat(args: string[], input?: string): Promise<string> {
    const r = await run(KCAT, ["-b", broker.bootstrap, ...args], { input, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `kcat ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
    return r.stdout;
  }

  async function produce(topic: string, codec: string, lines: string[]): Promise<void> {
    await kcat(["-P", "-K:", "-t", topic, "-z", codec, "-X", "linger.ms=20"], `${lines.join("\n")}\n`);
  }

  async function consume(topic: string, offset: string): Promise<Line[]> {
    // fetch.wait.max.ms: -e ends on an empty fetch, which otherwise long-polls 500 ms.
    return parse(
      await kcat(["-C", "-t", topic, "-o", offset, "-e", "-q", "-X", "fetch.wait.max.ms=50", "-f", FORMAT]),
    );
  }

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "num.partitions": 1 } });
  });

  after(async () => {
    await broker?.destroy();
  });

  for (const [codec, id] of [
    ["lz4", Compression.LZ4],
    ["gzip", Compression.GZIP],
  ] as const) {
    describe(`-z ${codec}`, () => {
      const topic = `kcat-${codec}`;
      const N = 300;
      // Every value compressible on its own: librdkafka sends a batch uncompressed when
      // compressing does not make it smaller (rd_kafka_msgset_writer_compress), and on a loaded
      // machine linger.ms can close a batch of one short record (a CI run stored one such batch).
      const lines = Array.from({ length: N }, (_, i) => `key-${i}:value ${i} ${"z".repeat(100 + (i % 50))}`);
      let t0 = 0;

      before(async () => {
        t0 = Date.now();
        await produce(topic, codec, lines);
      });

      // librdkafka 2.0.2 turns LZ4 off unless the broker advertises FindCoordinator v0
      // (rdkafka_feature.c, feature LZ4; kafka-protocol.md §2): this failed for lz4 until
      // FindCoordinator was served.
      it("stores the batches compressed, as sent", () => {
        const codecs = storedCodecs(broker.logDir, topic, 0);
        assert.ok(codecs.length >= 1);
        assert.deepEqual([...new Set(codecs)], [id], `every stored batch is ${codec}`);
      });

      it("-o beginning -e reads every line back in order", async () => {
        const got = await consume(topic, "beginning");
        assert.equal(got.length, N);
        got.forEach((l, i) => {
          assert.equal(l.partition, 0);
          assert.equal(l.offset, i);
          const [k, v] = [
            lines[i].slice(0, lines[i].indexOf(":")),
            lines[i].slice(lines[i].indexOf(":") + 1),
          ];
          assert.equal(l.key, k);
          assert.equal(l.value, v);
          assert.ok(l.timestamp >= t0 - 1000 && l.timestamp <= Date.now(), `timestamp ${l.timestamp}`);
        });
      });

      it("-o N reads from an absolute offset", async () => {
        for (const from of [0, 1, 137, N - 1]) {
          const got = await consume(topic, String(from));
          assert.deepEqual(
            got.map((l) => l.offset),
            Array.from({ length: N - from }, (_, i) => from + i),
            `-o ${from}`,
          );
          assert.equal(got[0].key, `key-${from}`);
        }
      });

      it("-o -N reads the last N", async () => {
        for (const n of [1, 10, 120]) {
          const got = await consume(topic, `-${n}`);
          assert.deepEqual(
            got.map((l) => l.offset),
            Array.from({ length: n }, (_, i) => N - n + i),
            `-o -${n}`,
          );
          assert.equal(got[got.length - 1].key, `key-${N - 1}`);
        }
      });

      it("-o s@<ms> reads from the first message at or after a timestamp", async () => {
        const groupA = 40;
        const groupB = 25;
        const tTopic = `${topic}-time`;
        await produce(
          tTopic,
          codec,
          Array.from({ length: groupA }, (_, i) => `a${i}:first group ${i}`),
        );
        await sleep(30);
        const tB = Date.now();
        await sleep(5);
        await produce(
          tTopic,
          codec,
          Array.from({ length: groupB }, (_, i) => `b${i}:second group ${i}`),
        );
        const all = await consume(tTopic, "beginning");
        assert.equal(all.length, groupA + groupB);
        assert.ok(all.slice(0, groupA).every((l) => l.timestamp < tB));
        assert.ok(all.slice(groupA).every((l) => l.timestamp >= tB));

        const fromB = await consume(tTopic, `s@${tB}`);
        assert.equal(fromB.length, groupB);
        assert.equal(fromB[0].offset, groupA, "starts at the second group's first offset");
        assert.equal(fromB[0].key, "b0");
        // A timestamp inside the first group: from the first record at or after it.
        const mid = all[10].timestamp;
        const firstAtMid = all.findIndex((l) => l.timestamp >= mid);
        const fromMid = await consume(tTopic, `s@${mid}`);
        assert.equal(fromMid[0].offset, firstAtMid);
        assert.equal(fromMid.length, groupA + groupB - firstAtMid);
        // Before everything: all of it.
        assert.equal((await consume(tTopic, `s@${all[0].timestamp - 60_000}`)).length, groupA + groupB);
      });
    });
  }

  it("reads lz4 batches stored as produced (Milena's codec, lz4-napi frames)", async () => {
    registerLz4();
    const client = await RawClient.tcp(broker.bootstrap);
    const topic = "milena-lz4";
    const t0 = Date.now() - 10_000;
    try {
      assert.equal((await client.createTopic(topic, 1)).errorCode, 0);
      for (let b = 0; b < 3; b++) {
        const records = Array.from({ length: 100 }, (_, i) => ({
          key: `k${b * 100 + i}`,
          value: `lz4 value ${b * 100 + i} ${"q".repeat(i)}`,
          timestamp: t0 + b * 100 + i,
        }));
        const res = await client.request(produceCodec, 7, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topics: [
            {
              name: topic,
              partitions: [{ partitionIndex: 0, records: encodeBatch(records, Compression.LZ4) }],
            },
          ],
        });
        assert.equal(res.responses[0].partitions[0].errorCode, 0);
      }
    } finally {
      client.close();
    }
    assert.deepEqual(storedCodecs(broker.logDir, topic, 0), [
      Compression.LZ4,
      Compression.LZ4,
      Compression.LZ4,
    ]);
    const got = await consume(topic, "beginning");
    assert.equal(got.length, 300);
    got.forEach((l, i) => {
      assert.equal(l.offset, i);
      assert.equal(l.key, `k${i}`);
      assert.equal(l.value, `lz4 value ${i} ${"q".repeat(i % 100)}`);
      assert.equal(l.timestamp, t0 + i);
    });
    // By timestamp inside the second batch: the broker decodes the lz4 batch to find the record.
    const mid = await consume(topic, `s@${t0 + 150}`);
    assert.equal(mid[0].offset, 150);
    assert.equal(mid.length, 150);
  });

  it("kcat -L shows the broker and the topics", async () => {
    const text = await kcat(["-L"]);
    assert.match(text, new RegExp(`broker 0 at 127\\.0\\.0\\.1:${broker.kafkaPort}`));
    assert.match(text, /topic "kcat-lz4" with 1 partitions/);
    const md = JSON.parse(await kcat(["-L", "-J"])) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    assert.deepEqual(md.brokers, [{ id: 0, name: `127.0.0.1:${broker.kafkaPort}` }]);
    const names = md.topics.map((t) => t.topic).sort();
    assert.deepEqual(names, ["kcat-gzip", "kcat-gzip-time", "kcat-lz4", "kcat-lz4-time", "milena-lz4"]);
    for (const t of md.topics)
      assert.deepEqual(
        t.partitions.map((p) => [p.partition, p.leader]),
        [[0, 0]],
      );
    // -L -t for one topic.
    const one = JSON.parse(await kcat(["-L", "-J", "-t", "kcat-gzip"])) as { topics: { topic: string }[] };
    assert.deepEqual(
      one.topics.map((t) => t.topic),
      ["kcat-gzip"],
    );
  });
});
