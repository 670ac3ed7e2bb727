// Log compaction against the real broker, produced with kafkajs and read with kcat: 100 keys each
// overwritten 1,000 times, cleaned to exactly the last record per key at its original offset; a
// reader during cleaning never sees a key go back to an older value; tombstones kept through
// delete.retention.ms, then removed; SIGKILL while the cleaner works, restart: every key's latest
// value is there; transactions on a compacted topic leave the last committed value per key; a
// keyless record on a compacted topic is INVALID_RECORD; __consumer_offsets is compacted.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import kafkajs, { type Admin, Kafka, logLevel, type Producer } from "kafkajs";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const { ConfigResourceTypes } = kafkajs;
const KCAT = "/usr/bin/kcat";
const KEYS = 100;
const ROUNDS = 1000;

interface Line {
  offset: number;
  key: string;
  value: string | null;
}

/** Every record of partition 0 from the beginning, as kcat reads it (-Z: a null value is NULL). */
async function readAll(broker: BrokerProcess, topic: string, isolation = "read_committed"): Promise<Line[]> {
  const r = await run(
    KCAT,
    [
      "-b",
      broker.bootstrap,
      "-C",
      "-t",
      topic,
      "-p",
      "0",
      "-o",
      "beginning",
      "-e",
      "-q",
      "-Z",
      "-X",
      "fetch.wait.max.ms=50",
      "-X",
      `isolation.level=${isolation}`,
      "-f",
      "%o\t%k\t%s\n",
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, `kcat exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [o, k, v] = l.split("\t");
      return { offset: Number(o), key: k, value: v === "NULL" ? null : v };
    });
}

/** Keys seen with their values' rounds in read order: each key's rounds must only grow. */
function assertNeverBackwards(lines: readonly Line[], what: string): void {
  const last = new Map<string, number>();
  let prevOffset = -1;
  for (const l of lines) {
    assert.ok(l.offset > prevOffset, `${what}: offsets grow (${prevOffset} then ${l.offset})`);
    prevOffset = l.offset;
    if (l.value === null) continue;
    const round = Number(l.value.split(":")[1]);
    const before = last.get(l.key) ?? -1;
    assert.ok(round > before, `${what}: key ${l.key} went back from round ${before} to ${round}`);
    last.set(l.key, round);
  }
}

async function eventually<T>(what: string, f: () => Promise<T | null>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms (${last})`);
    await sleep(250);
  }
}

describe("log compaction (kafkajs, kcat)", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  const connect = async () => {
    kafka = new Kafka({
      clientId: "compaction",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  };
  const disconnect = async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
  };

  const createCompacted = (topic: string, extra: { name: string; value: string }[] = []) =>
    admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: [
            { name: "cleanup.policy", value: "compact" },
            { name: "segment.bytes", value: "65536" },
            { name: "segment.ms", value: "1500" },
            { name: "min.cleanable.dirty.ratio", value: "0.01" },
            ...extra,
          ],
        },
      ],
    });

  /** ROUNDS rounds of every key: value "<key>:<round>", record of round r, key k at offset r*KEYS+k. */
  const overwrite = async (topic: string, rounds: number, firstRound = 0) => {
    for (let r = firstRound; r < firstRound + rounds; r += 10) {
      const messages = [];
      for (let rr = r; rr < Math.min(r + 10, firstRound + rounds); rr++)
        for (let k = 0; k < KEYS; k++) messages.push({ key: `k${k}`, value: `k${k}:${rr}`, partition: 0 });
      await producer.send({ topic, messages, acks: -1 });
    }
  };

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "log.cleaner.backoff.ms": 100, "log.retention.check.interval.ms": 500 },
    });
    await connect();
  });

  after(async () => {
    await disconnect();
    await broker?.destroy();
  });

  it("100 keys overwritten 1,000 times: one record per key, the last, at its offset; readers never go back", async () => {
    const topic = "compacted";
    await createCompacted(topic);
    await overwrite(topic, ROUNDS);
    const reads: Line[][] = [];
    const final = await eventually("cleaned to one record per key", async () => {
      const lines = await readAll(broker, topic);
      reads.push(lines);
      return lines.length === KEYS ? lines : null;
    });
    assert.ok(reads.length >= 1);
    for (const [i, lines] of reads.entries()) assertNeverBackwards(lines, `read ${i}`);
    for (const l of final) {
      const k = Number(l.key.slice(1));
      assert.equal(l.value, `${l.key}:${ROUNDS - 1}`);
      assert.equal(l.offset, (ROUNDS - 1) * KEYS + k, `${l.key} keeps its offset`);
    }
    assert.match(broker.output, /log cleaner: cleaned compacted-0/);
    // Appends go on after the gaps, at the log end.
    const r = await producer.send({ topic, messages: [{ key: "k0", value: "k0:1000", partition: 0 }] });
    assert.equal(r[0].baseOffset, String(ROUNDS * KEYS));
  });

  it("tombstones stay through delete.retention.ms, then go with every older value", async () => {
    const topic = "tombstones";
    await createCompacted(topic, [{ name: "delete.retention.ms", value: "3000" }]);
    await overwrite(topic, 20);
    // Tombstones for the even keys.
    const dead = [];
    for (let k = 0; k < KEYS; k += 2) dead.push({ key: `k${k}`, value: null, partition: 0 });
    await producer.send({ topic, messages: dead, acks: -1 });
    const cleaned = await eventually("the first cleaning keeps the tombstones", async () => {
      const lines = await readAll(broker, topic);
      return lines.length === KEYS ? lines : null;
    });
    const tombstones = cleaned.filter((l) => l.value === null).map((l) => l.key);
    assert.equal(tombstones.length, KEYS / 2, "one tombstone per deleted key, nothing older of it");
    const gone = await eventually(
      "tombstones removed after delete.retention.ms",
      async () => {
        const lines = await readAll(broker, topic);
        return lines.length === KEYS / 2 ? lines : null;
      },
      60_000,
    );
    for (const l of gone) {
      assert.equal(Number(l.key.slice(1)) % 2, 1, `${l.key}: only the live keys are left`);
      assert.equal(l.value, `${l.key}:19`);
    }
  });

  it("SIGKILL while the cleaner works, restart: every key's latest value is there", async () => {
    const topic = "killed";
    await createCompacted(topic, [{ name: "segment.bytes", value: "32768" }]);
    let round = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      await overwrite(topic, 200, round);
      round += 200;
      // Kill somewhere in the cleaning that follows (rolls and cleans start within ~2 s).
      await sleep(1500 + attempt * 400);
      await disconnect();
      await broker.kill();
      await broker.restart();
      await connect();
      const lines = await readAll(broker, topic);
      assertNeverBackwards(lines, `after kill ${attempt}`);
      const latest = new Map<string, string | null>();
      for (const l of lines) latest.set(l.key, l.value);
      assert.equal(latest.size, KEYS, `after kill ${attempt}: every key is there`);
      for (let k = 0; k < KEYS; k++) assert.equal(latest.get(`k${k}`), `k${k}:${round - 1}`);
    }
    const final = await eventually("cleaned after the restarts", async () => {
      const lines = await readAll(broker, topic);
      return lines.length === KEYS ? lines : null;
    });
    for (const l of final) assert.equal(l.value, `${l.key}:${round - 1}`);
  });

  it("transactions on a compacted topic: aborted records are cleaned away, committed values win", async () => {
    const topic = "compacted-txn";
    await createCompacted(topic);
    const tp = kafka.producer({ transactionalId: "compactor", idempotent: true, maxInFlightRequests: 1 });
    await tp.connect();
    try {
      for (let round = 0; round < 6; round++) {
        const t = await tp.transaction();
        const messages = [];
        for (let k = 0; k < 20; k++) messages.push({ key: `k${k}`, value: `k${k}:${round}`, partition: 0 });
        await t.send({ topic, messages });
        // Rounds 1, 3 and 5 are aborted: the last committed value of every key is round 4's.
        if (round % 2 === 0) await t.commit();
        else await t.abort();
      }
    } finally {
      await tp.disconnect();
    }
    const committed = await eventually("cleaned to one committed value per key", async () => {
      const lines = await readAll(broker, topic);
      const data = lines.filter((l) => l.value !== null);
      return data.length === 20 ? data : null;
    });
    for (const l of committed)
      assert.equal(l.value, `${l.key}:4`, "the last committed value, not an aborted one");
    // The aborted records are gone from the log, not only hidden from read_committed readers.
    const all = (await readAll(broker, topic, "read_uncommitted")).filter((l) => l.value !== null);
    assert.deepEqual(
      all.map((l) => l.value),
      committed.map((l) => l.value),
    );
  });

  it("a record without a key on a compacted topic is INVALID_RECORD; nothing is stored", async () => {
    const topic = "needs-keys";
    await createCompacted(topic);
    const strict = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await strict.connect();
    try {
      await assert.rejects(
        strict.send({ topic, messages: [{ value: "no key", partition: 0 }] }),
        (e: Error & { type?: string }) =>
          e.type === "INVALID_RECORD" ||
          /INVALID_RECORD|invalid record/i.test(`${e.message} ${(e as { cause?: Error }).cause?.message}`),
      );
    } finally {
      await strict.disconnect();
    }
    assert.deepEqual(await readAll(broker, topic), []);
  });

  it("__consumer_offsets is compacted", async () => {
    // A commit makes the group coordinator's topic.
    await admin.createTopics({ topics: [{ topic: "committed-to", numPartitions: 1 }] });
    await admin.setOffsets({
      groupId: "compaction-group",
      topic: "committed-to",
      partitions: [{ partition: 0, offset: "0" }],
    });
    const r = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: "__consumer_offsets" }],
      includeSynonyms: false,
    });
    const policy = r.resources[0].configEntries.find((e) => e.configName === "cleanup.policy");
    assert.equal(policy?.configValue, "compact");
  });
});
