// kafkajs 2.2.4 writes, kcat (librdkafka 2.0.2) reads: the two clients' views of the same log
// must agree. kafkajs admin creates a 3-partition topic; its producer sends 10,000 keyed
// messages with headers in three rounds (acks 1, acks -1, gzip); kcat reads everything back and
// every message must sit on the partition kafkajs's default partitioner chose, at the offset
// implied by the base offset kafkajs got back, with key, headers, timestamp and value intact.
// Then a clean restart on the same log dir (identical read), and a crash (kill -9) after
// acks=-1 produces: everything acknowledged is there exactly once.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CompressionTypes, Kafka, logLevel, type Message, Partitioners, type Producer } from "kafkajs";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const KCAT = "/usr/bin/kcat";
const TOPIC = "kafkajs-kcat";
const PARTITIONS = 3;
const TOTAL = 10_000;
const CHUNK = 1000;

interface Sent {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
  partition: number;
  offset: number;
}

interface Read {
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  timestamp: number;
  value: string;
}

/** kcat -f '%p\t%o\t%k\t%h\t%T\t%s\n'; %h prints headers as k=v,k2=v2. */
function parseKcat(stdout: string): Read[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [p, o, k, h, t, v] = l.split("\t");
      const headers: Record<string, string> = {};
      if (h !== "") {
        for (const kv of h.split(",")) {
          const eq = kv.indexOf("=");
          headers[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
      }
      return { partition: Number(p), offset: Number(o), key: k, headers, timestamp: Number(t), value: v };
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** The partition kafkajs's DefaultPartitioner picks for a key (murmur2, as the Java client). */
function partitionerFor(partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return (key) => partitioner({ topic: TOPIC, partitionMetadata, message: { key, value: null } });
}

/**
 * Send messages in chunks through producer.send (one batch per partition per request); record
 * for each message the partition and offset implied by kafkajs's result.
 */
async function sendAll(
  producer: Producer,
  topic: string,
  messages: Omit<Sent, "partition" | "offset">[],
  opts: { acks: number; compression?: CompressionTypes },
  choose: (key: string) => number,
): Promise<Sent[]> {
  const out: Sent[] = [];
  for (let at = 0; at < messages.length; at += CHUNK) {
    const chunk = messages.slice(at, at + CHUNK);
    const result = await producer.send({
      topic,
      acks: opts.acks,
      compression: opts.compression,
      messages: chunk.map(
        (m): Message => ({ key: m.key, value: m.value, headers: m.headers, timestamp: String(m.timestamp) }),
      ),
    });
    const base = new Map<number, number>();
    for (const r of result) {
      assert.equal(r.topicName, topic);
      assert.equal(r.errorCode, 0);
      base.set(r.partition, Number(r.baseOffset));
    }
    const next = new Map<number, number>();
    for (const m of chunk) {
      const partition = choose(m.key);
      assert.ok(base.has(partition), `kafkajs reported no result for partition ${partition} (key ${m.key})`);
      const offset = base.get(partition)! + (next.get(partition) ?? 0);
      next.set(partition, (next.get(partition) ?? 0) + 1);
      out.push({ ...m, partition, offset });
    }
    assert.deepEqual(
      [...base.keys()].sort(),
      [...next.keys()].sort(),
      "kafkajs wrote to exactly the partitions its partitioner chose",
    );
  }
  return out;
}

function messagesFor(round: string, from: number, count: number, t0: number) {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return {
      key: `key-${i}`,
      value: `value ${i} of ${round} ${"v".repeat(i % 23)}`,
      headers: { idx: String(i), round },
      timestamp: t0 + i,
    };
  });
}

describe("kafkajs produces, kcat consumes", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  const choose = partitionerFor(PARTITIONS);
  const sent: Sent[] = [];
  let firstRead: Read[] = [];

  async function kcatRead(topic: string): Promise<Read[]> {
    const r = await run(
      KCAT,
      [
        "-b",
        broker.bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-X",
        "fetch.wait.max.ms=50",
        "-f",
        "%p\t%o\t%k\t%h\t%T\t%s\n",
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    return parseKcat(r.stdout);
  }

  function newKafka(retries?: number): Kafka {
    return new Kafka({
      clientId: "conformance",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: retries === undefined ? undefined : { retries },
    });
  }

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    kafka = newKafka();
  });

  after(async () => {
    await broker?.destroy();
  });

  it("kafkajs admin creates a 3-partition topic", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(
        await admin.createTopics({
          topics: [{ topic: TOPIC, numPartitions: PARTITIONS }],
          waitForLeaders: true,
        }),
        true,
      );
      const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      assert.deepEqual(md.topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
      assert.deepEqual(await admin.listTopics(), [TOPIC]);
    } finally {
      await admin.disconnect();
    }
  });

  it("kafkajs sends 10,000 keyed messages with headers: acks 1, acks -1, gzip", async () => {
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const t0 = Date.now() - 60_000;
    try {
      const rounds = [
        { name: "acks1", acks: 1 },
        { name: "acksall", acks: -1 },
        { name: "gzip", acks: -1, compression: CompressionTypes.GZIP },
      ];
      const per = Math.ceil(TOTAL / rounds.length);
      for (const [n, round] of rounds.entries()) {
        const from = n * per;
        const count = Math.min(per, TOTAL - from);
        sent.push(
          ...(await sendAll(producer, TOPIC, messagesFor(round.name, from, count, t0), round, choose)),
        );
      }
    } finally {
      await producer.disconnect();
    }
    assert.equal(sent.length, TOTAL);
    // Offsets dense from 0 on each partition, as kafkajs saw them.
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = sent
        .filter((s) => s.partition === p)
        .map((s) => s.offset)
        .sort((a, b) => a - b);
      assert.ok(offsets.length > TOTAL / PARTITIONS / 2, `partition ${p} got a fair share`);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
      );
    }
  });

  it("kcat reads everything back where kafkajs put it, intact", async () => {
    const got = await kcatRead(TOPIC);
    assert.equal(got.length, TOTAL);
    // Per partition: offsets dense from 0, in order.
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
        `partition ${p} offsets`,
      );
    }
    const byKey = new Map(got.map((r) => [r.key, r]));
    assert.equal(byKey.size, TOTAL, "every key exactly once");
    for (const s of sent) {
      const r = byKey.get(s.key);
      assert.ok(r, `${s.key} missing`);
      assert.equal(r.partition, s.partition, `${s.key}: partition`);
      assert.equal(r.offset, s.offset, `${s.key}: offset`);
      assert.equal(r.value, s.value);
      assert.equal(r.timestamp, s.timestamp);
      assert.deepEqual(r.headers, s.headers);
    }
    firstRead = got;
  });

  it("kafkajs's ListOffsets agrees with kcat on the log ends", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC);
      for (const o of offsets) {
        const n = sent.filter((s) => s.partition === o.partition).length;
        assert.equal(Number(o.high), n);
        assert.equal(Number(o.low), 0);
      }
    } finally {
      await admin.disconnect();
    }
  });

  it("after a clean restart on the same log dir, kcat reads the same", async () => {
    assert.ok(firstRead.length === TOTAL);
    await broker.restart();
    assert.match(broker.output, /shut down cleanly/);
    const again = await kcatRead(TOPIC);
    assert.deepEqual(again, firstRead);
  });

  it("after kill -9, everything acknowledged with acks=-1 is there exactly once", async () => {
    const topic = "crash";
    // No retries: once the broker is gone the in-flight send fails at once.
    kafka = newKafka(0);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { retries: 0 },
    });
    await producer.connect();
    const t0 = Date.now() - 30_000;
    const acked = await sendAll(producer, topic, messagesFor("crash", 0, 3000, t0), { acks: -1 }, choose);
    // One more send in flight while the broker dies: it may or may not have landed.
    const inFlight = messagesFor("crash", 3000, 1000, t0);
    const pending = producer
      .send({
        topic,
        acks: -1,
        messages: inFlight.map((m) => ({
          key: m.key,
          value: m.value,
          headers: m.headers,
          timestamp: String(m.timestamp),
        })),
      })
      .then(
        () => true,
        () => false,
      );
    await broker.kill();
    const inFlightAcked = await pending;
    await producer.disconnect().catch(() => {});

    await broker.restart();
    assert.match(broker.output, /unclean start/);
    const got = await kcatRead(topic);
    const counts = new Map<string, number>();
    for (const r of got) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    for (const [k, n] of counts) assert.equal(n, 1, `${k} appears ${n} times`);
    const byKey = new Map(got.map((r) => [r.key, r]));
    for (const s of acked) {
      const r = byKey.get(s.key);
      assert.ok(r, `acknowledged ${s.key} lost`);
      assert.equal(r.partition, s.partition);
      assert.equal(r.offset, s.offset);
      assert.equal(r.value, s.value);
      assert.equal(r.timestamp, s.timestamp);
      assert.deepEqual(r.headers, s.headers);
    }
    const known = new Set([...acked, ...inFlight].map((m) => m.key));
    for (const r of got) assert.ok(known.has(r.key), `unexpected ${r.key}`);
    if (inFlightAcked) for (const m of inFlight) assert.ok(byKey.has(m.key), `acknowledged ${m.key} lost`);
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
        `partition ${p} offsets dense after recovery`,
      );
    }
    // The first topic went through the crash as well.
    assert.deepEqual(await kcatRead(TOPIC), firstRead);

    // And the log takes new writes after recovery, at the next offsets.
    kafka = newKafka();
    const p2 = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await p2.connect();
    try {
      const ends = new Map<number, number>();
      for (const r of got) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
      const res = await p2.send({ topic, acks: -1, messages: [{ key: "after-crash", value: "x" }] });
      assert.equal(Number(res[0].baseOffset), ends.get(res[0].partition) ?? 0);
    } finally {
      await p2.disconnect();
    }
  });
});
