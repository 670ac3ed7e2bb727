// @platformatic/kafka 1.35.0 (a Kafka 3.5–4.1 client that only speaks flexible versions) against
// the real broker: its Admin creates a 3-partition topic and sees it in listTopics and metadata;
// its Producer writes 10,000 keyed records with headers (acks all); its Consumer, in a group,
// reads every one exactly once from the earliest offset, commits, and the committed offsets read
// back (Consumer.listCommittedOffsets and Admin.listConsumerGroupOffsets) are the log end of each
// partition. Then its idempotent producer keeps sending sequence-numbered records while the
// broker is SIGKILLed and restarted on the same log dir and port, twice: once with a send in
// flight at a random point, once after a batch was stored but its acknowledgement was swallowed
// (so the producer must retry, with the same sequence, a batch the restarted broker already has):
// every number is stored exactly once, none missing, in order per partition.
//
// The clients reach the broker through a small TCP proxy in this file (the broker advertises the
// proxy's port), which can withhold the broker's responses.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Admin,
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const TOPIC = "plt-records";
const IDEM_TOPIC = "plt-idempotent";
const GROUP = "plt-group";
const PARTITIONS = 3;
const TOTAL = 10_000;
const IDEM_TOTAL = 3_000;
const IDEM_BATCH = 50;

type StrMessage = Message<string, string, string, string>;
type StrStream = MessagesStream<string, string, string, string>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Forwards 127.0.0.1:port to the broker's port. While `swallow` is set, the broker's bytes are
 * dropped instead of forwarded (the requests still reach the broker).
 */
class TcpProxy {
  swallow = false;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(port: number, target: () => number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port: target(), noDelay: true });
      client.setNoDelay(true);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      proxy!.pairs.add(pair);
      const close = () => {
        proxy!.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("data", (d) => upstream.write(d));
      upstream.on("data", (d) => {
        if (!proxy!.swallow) client.write(d);
      });
      for (const s of pair) {
        s.on("error", close);
        s.on("close", close);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    proxy = new TcpProxy(server, port);
    return proxy;
  }

  /** Cut every proxied connection. */
  dropAll(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
async function deadline<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Closes, ignoring errors and bounded in time (a failing test must still end). */
async function quietly(what: string, close: () => unknown): Promise<void> {
  try {
    await deadline(`closing ${what}`, 10_000, Promise.resolve(close()));
  } catch {
    // best effort
  }
}

describe("@platformatic/kafka 1.35.0 against the broker", () => {
  let broker: BrokerProcess;
  let proxy: TcpProxy;
  let admin: Admin;
  const clientBase = (clientId: string) => ({
    clientId,
    bootstrapBrokers: [`127.0.0.1:${proxy.port}`],
    timeout: 10_000,
    connectTimeout: 5_000,
    retries: 5,
    retryDelay: 200,
  });

  /** Runs a test body; on failure prints the tail of the broker's output for the report. */
  async function withBrokerLog(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      console.error(`--- broker output (tail) ---\n${broker.output.slice(-8000)}\n--- end broker output ---`);
      throw e;
    }
  }

  /** Latest offset (log end) of each partition of `topic`, from the Admin's ListOffsets. */
  async function logEnds(topic: string): Promise<bigint[]> {
    const res = await deadline(
      "Admin.listOffsets",
      20_000,
      admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, timestamp: -1n })),
          },
        ],
      }),
    );
    const t = res.find((x) => x.name === topic);
    assert.ok(
      t,
      `listOffsets has no ${topic}: ${JSON.stringify(res, (_, v) => (typeof v === "bigint" ? `${v}` : v))}`,
    );
    const out: bigint[] = [];
    for (const p of t.partitions) out[p.partitionIndex] = p.offset;
    assert.equal(out.length, PARTITIONS);
    return out;
  }

  /** Reads `topic` from the start with a fresh group until every partition reaches `ends`. */
  async function readAll(topic: string, ends: bigint[], groupId: string): Promise<StrMessage[]> {
    const consumer = new Consumer({
      ...clientBase(`plt-reader-${groupId}`),
      groupId,
      deserializers: stringDeserializers,
      maxWaitTime: 200,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
    });
    let stream: StrStream | undefined;
    const got: StrMessage[] = [];
    let streamError: Error | undefined;
    try {
      stream = await deadline(
        "Consumer.consume (reader)",
        30_000,
        consumer.consume({
          topics: [topic],
          mode: MessagesStreamModes.EARLIEST,
          autocommit: false,
        }),
      );
      stream.on("error", (e: Error) => {
        streamError = e;
      });
      const next = new Array<bigint>(PARTITIONS).fill(0n);
      stream.on("data", (m: StrMessage) => {
        got.push(m);
        if (m.offset + 1n > next[m.partition]) next[m.partition] = m.offset + 1n;
      });
      await waitFor(
        `reading ${topic} up to ${ends.join(",")}`,
        () => {
          if (streamError) throw streamError;
          return next.every((n, p) => n >= ends[p]);
        },
        30_000,
      );
      return got;
    } finally {
      await quietly("reader stream", () => stream?.close());
      await quietly("reader consumer", () => consumer.close(true));
    }
  }

  before(async () => {
    // Fixed ports, so that the broker restarted in the last test is where the proxy looks.
    const [port, proxyPort] = [await freePort(), await freePort()];
    proxy = await TcpProxy.start(proxyPort, () => port);
    broker = await BrokerProcess.start({
      overrides: {
        listeners: `PLAINTEXT://127.0.0.1:${port}`,
        "advertised.listeners": `PLAINTEXT://127.0.0.1:${proxyPort}`,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": 1000,
      },
    });
    admin = new Admin(clientBase("plt-admin"));
  });

  after(async () => {
    await quietly("admin", () => admin?.close());
    await quietly("proxy", () => proxy?.close());
    await broker?.destroy();
  });

  test("Admin creates a 3-partition topic; listTopics and metadata show it", { timeout: 30_000 }, () =>
    withBrokerLog(async () => {
      const created = await deadline(
        "Admin.createTopics",
        20_000,
        admin.createTopics({ topics: [TOPIC, IDEM_TOPIC], partitions: PARTITIONS, replicas: 1 }),
      );
      assert.deepEqual(created.map((t) => t.name).sort(), [IDEM_TOPIC, TOPIC].sort());
      for (const t of created) {
        assert.equal(t.partitions, PARTITIONS);
        assert.equal(t.replicas, 1);
        assert.match(t.id, /^[0-9a-f-]{36}$/);
      }

      const topics = await deadline("Admin.listTopics", 20_000, admin.listTopics());
      assert.ok(topics.includes(TOPIC), `listTopics: ${topics.join(",")}`);
      assert.ok(topics.includes(IDEM_TOPIC), `listTopics: ${topics.join(",")}`);

      const md = await deadline(
        "Admin.metadata",
        20_000,
        admin.metadata({ topics: [TOPIC], forceUpdate: true }),
      );
      const t = md.topics.get(TOPIC);
      assert.ok(t, "metadata has the topic");
      assert.equal(t.partitionsCount, PARTITIONS);
      assert.equal(t.partitions.length, PARTITIONS);
      assert.equal(t.id, created.find((c) => c.name === TOPIC)!.id);
      assert.equal(md.brokers.size, 1);
      const [nodeId, b] = [...md.brokers][0];
      assert.equal(b.port, proxy.port, "the advertised port");
      for (const p of t.partitions) {
        assert.equal(p.leader, nodeId);
        assert.deepEqual(p.replicas, [nodeId]);
        assert.deepEqual(p.isr, [nodeId]);
      }
    }),
  );

  test(
    "Producer writes 10,000 keyed records with headers; a group Consumer reads each once and commits the log end",
    { timeout: 90_000 },
    () =>
      withBrokerLog(async () => {
        const producer = new Producer({
          ...clientBase("plt-producer"),
          serializers: stringSerializers,
        });
        const sentPerPartition = new Array<number>(PARTITIONS).fill(0);
        try {
          for (let from = 0; from < TOTAL; from += 500) {
            const messages = Array.from({ length: 500 }, (_, j) => {
              const i = from + j;
              return {
                topic: TOPIC,
                key: `key-${i}`,
                value: `value-${i}-${"x".repeat(i % 37)}`,
                headers: { seq: String(i), source: "platformatic", parity: i % 2 === 0 ? "even" : "odd" },
              };
            });
            const res = await deadline(
              `Producer.send ${from}`,
              20_000,
              producer.send({ messages, acks: ProduceAcks.ALL }),
            );
            assert.ok(res.offsets && res.offsets.length > 0, "acks=all sends report offsets");
            for (const o of res.offsets) {
              assert.equal(o.topic, TOPIC);
              assert.ok(o.partition >= 0 && o.partition < PARTITIONS);
              sentPerPartition[o.partition]++;
            }
          }
        } finally {
          await quietly("producer", () => producer.close());
        }

        const ends = await logEnds(TOPIC);
        assert.equal(
          ends.reduce((a, b) => a + b, 0n),
          BigInt(TOTAL),
          `log ends ${ends.join(",")}`,
        );
        for (let p = 0; p < PARTITIONS; p++) assert.ok(ends[p] > 0n, `partition ${p} got records`);

        const consumer = new Consumer({
          ...clientBase("plt-consumer"),
          groupId: GROUP,
          deserializers: stringDeserializers,
          maxWaitTime: 200,
          sessionTimeout: 6_000,
          heartbeatInterval: 500,
        });
        let stream: StrStream | undefined;
        try {
          stream = await deadline(
            "Consumer.consume (group)",
            30_000,
            consumer.consume({
              topics: [TOPIC],
              mode: MessagesStreamModes.COMMITTED,
              fallbackMode: MessagesStreamFallbackModes.EARLIEST,
              autocommit: false,
            }),
          );
          let streamError: Error | undefined;
          stream.on("error", (e: Error) => {
            streamError = e;
          });
          const seen = new Map<string, StrMessage>();
          const dupes: string[] = [];
          const last = new Array<StrMessage | undefined>(PARTITIONS);
          let count = 0;
          stream.on("data", (m: StrMessage) => {
            count++;
            if (seen.has(m.key)) dupes.push(`${m.key}@${m.partition}:${m.offset}`);
            seen.set(m.key, m);
            if (!last[m.partition] || m.offset > last[m.partition]!.offset) last[m.partition] = m;
          });
          await waitFor(
            `${TOTAL} records (group consumer)`,
            () => {
              if (streamError) throw streamError;
              return count >= TOTAL;
            },
            45_000,
          );
          // Anything extra (a duplicate delivery) would arrive right behind.
          await sleep(500);
          assert.deepEqual(dupes, [], "no record delivered twice");
          assert.equal(count, TOTAL);
          assert.equal(consumer.groupId, GROUP);
          assert.ok(consumer.memberId, "joined the group");
          assert.deepEqual(
            (consumer.assignments ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)).sort(),
            Array.from({ length: PARTITIONS }, (_, p) => `${TOPIC}:${p}`),
          );

          const offsetsByPartition = new Map<number, bigint[]>();
          for (let i = 0; i < TOTAL; i++) {
            const m = seen.get(`key-${i}`);
            assert.ok(m, `key-${i} missing`);
            assert.equal(m.topic, TOPIC);
            assert.equal(m.value, `value-${i}-${"x".repeat(i % 37)}`);
            assert.deepEqual(
              Object.fromEntries(m.headers),
              { seq: String(i), source: "platformatic", parity: i % 2 === 0 ? "even" : "odd" },
              `headers of key-${i}`,
            );
            offsetsByPartition.set(m.partition, [...(offsetsByPartition.get(m.partition) ?? []), m.offset]);
          }
          // Each partition's offsets are 0..end-1, each once.
          for (let p = 0; p < PARTITIONS; p++) {
            const offs = (offsetsByPartition.get(p) ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
            assert.equal(BigInt(offs.length), ends[p], `partition ${p} count`);
            assert.deepEqual(
              offs,
              Array.from({ length: offs.length }, (_, i) => BigInt(i)),
              `partition ${p} offsets`,
            );
          }

          // Commit the position after the last record of each partition.
          for (const m of last) {
            assert.ok(m);
            await deadline(`commit ${m.partition}:${m.offset}`, 20_000, Promise.resolve(m.commit()));
          }

          const committed = await deadline(
            "Consumer.listCommittedOffsets",
            20_000,
            consumer.listCommittedOffsets({
              topics: [{ topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => p) }],
            }),
          );
          assert.deepEqual(committed.get(TOPIC), ends, "consumer's committed offsets = log ends");
        } finally {
          await quietly("group stream", () => stream?.close());
          await quietly("group consumer", () => consumer.close(true));
        }

        const groups = await deadline(
          "Admin.listConsumerGroupOffsets",
          20_000,
          admin.listConsumerGroupOffsets({ groups: [GROUP] }),
        );
        const g = groups.find((x) => x.groupId === GROUP);
        assert.ok(g, "the group's offsets");
        const t = g.topics.find((x) => x.name === TOPIC);
        assert.ok(t, "the topic in the group's offsets");
        const fromAdmin: bigint[] = [];
        for (const p of t.partitions) fromAdmin[p.partitionIndex] = p.committedOffset;
        assert.deepEqual(fromAdmin, ends, "admin's committed offsets = log ends");
      }),
  );

  test(
    "idempotent Producer across SIGKILLs and restarts of the broker: each sequence number once, no gaps",
    { timeout: 120_000 },
    () =>
      withBrokerLog(async () => {
        const producer = new Producer({
          ...clientBase("plt-idempotent"),
          idempotent: true,
          // Bounded: 150 retries 100 ms apart ride over a restart but do not hang for ever.
          retries: 150,
          retryDelay: 100,
          serializers: stringSerializers,
        });
        const batches = IDEM_TOTAL / IDEM_BATCH;
        const killInFlight = Math.floor(batches / 3);
        const killAfterStored = Math.floor((batches * 2) / 3);
        const producerIds = new Set<bigint>();
        let restarts = 0;
        const restartBroker = async () => {
          await broker.kill();
          proxy.swallow = false;
          proxy.dropAll();
          await sleep(300);
          await broker.launch();
          restarts++;
        };
        /** Log end of each partition of the idempotent topic, asked of the broker directly. */
        const storedEnds = async (): Promise<number[]> => {
          const raw = await RawClient.tcp(broker.bootstrap);
          try {
            const ends: number[] = [];
            for (let p = 0; p < PARTITIONS; p++) {
              const r = await raw.listOffset(IDEM_TOPIC, p, -1);
              assert.equal(r.errorCode, 0);
              ends.push(Number(r.offset));
            }
            return ends;
          } finally {
            raw.close();
          }
        };
        const storedCount = async () => (await storedEnds()).reduce((a, b) => a + b, 0);
        /** Log ends just before the batch whose acknowledgement is swallowed. */
        let endsBeforeSwallowed: number[] = [];
        let restart: Promise<void> | undefined;
        try {
          for (let b = 0; b < batches; b++) {
            const messages = Array.from({ length: IDEM_BATCH }, (_, j) => {
              const i = b * IDEM_BATCH + j;
              return { topic: IDEM_TOPIC, key: `seq-${i}`, value: String(i) };
            });
            if (b === killAfterStored) {
              endsBeforeSwallowed = await storedEnds();
              proxy.swallow = true;
            }
            const sent = producer.send({ messages });
            if (b === killInFlight) {
              // Kill the broker with this send in flight (stored or not); the producer keeps
              // retrying it until the broker is back on the same port and log dir.
              restart = restartBroker();
            } else if (b === killAfterStored) {
              // The broker stores this batch but its acknowledgement never reaches the producer;
              // then the broker dies and the producer retries the batch on the restarted broker.
              const end = Date.now() + 20_000;
              while ((await storedCount()) < (b + 1) * IDEM_BATCH) {
                assert.ok(Date.now() < end, `batch ${b} was not stored in 20 s`);
                await sleep(20);
              }
              assert.equal(await storedCount(), (b + 1) * IDEM_BATCH);
              restart = restartBroker();
            }
            const res = await deadline(`idempotent send of batch ${b}`, 40_000, sent);
            assert.ok(res.offsets && res.offsets.length > 0);
            if (b === killAfterStored) {
              // The retry was a duplicate: acknowledged with the offsets where the batch was stored.
              for (const o of res.offsets) {
                assert.equal(
                  o.offset,
                  BigInt(endsBeforeSwallowed[o.partition]),
                  `base offset of the retried (duplicate) batch on partition ${o.partition}`,
                );
              }
            }
            if (producer.producerId !== undefined) producerIds.add(producer.producerId);
            if (restart) {
              await deadline("broker restart", 40_000, restart);
              restart = undefined;
            }
          }
        } finally {
          proxy.swallow = false;
          if (restart) await quietly("broker restart", () => restart);
          await quietly("idempotent producer", () => producer.close());
        }
        assert.equal(restarts, 2);
        assert.equal(broker.output.match(/unclean start/g)?.length, 2, "two unclean starts");
        assert.equal(producerIds.size, 1, `one producer id throughout: ${[...producerIds].join(",")}`);
        assert.ok([...producerIds][0] >= 0n);

        // Milena's raw fetch, straight from the log.
        const raw = await RawClient.tcp(broker.bootstrap);
        const rawValues: number[][] = [];
        try {
          for (let p = 0; p < PARTITIONS; p++) {
            const recs = await deadline(`raw read of partition ${p}`, 20_000, raw.readAll(IDEM_TOPIC, p));
            rawValues.push(recs.map((r) => Number(r.value!.toString())));
          }
        } finally {
          raw.close();
        }
        const counts = new Map<number, number>();
        for (const v of rawValues.flat()) counts.set(v, (counts.get(v) ?? 0) + 1);
        const dupes = [...counts].filter(([, n]) => n > 1).map(([v, n]) => `${v}x${n}`);
        assert.deepEqual(dupes, [], "no sequence number stored twice");
        const missing = Array.from({ length: IDEM_TOTAL }, (_, i) => i).filter((i) => !counts.has(i));
        assert.deepEqual(missing, [], "no sequence number missing");
        assert.equal(rawValues.flat().length, IDEM_TOTAL);
        // In send order within each partition (one producer, one request in flight).
        for (let p = 0; p < PARTITIONS; p++) {
          assert.deepEqual(
            rawValues[p],
            [...rawValues[p]].sort((a, b) => a - b),
            `partition ${p} in order`,
          );
        }

        // And a fresh platformatic Consumer on the restarted broker reads the same.
        const ends = await logEnds(IDEM_TOPIC);
        assert.equal(
          ends.reduce((a, b) => a + b, 0n),
          BigInt(IDEM_TOTAL),
          `log ends ${ends.join(",")}`,
        );
        const got = await readAll(IDEM_TOPIC, ends, "plt-idempotent-reader");
        assert.equal(got.length, IDEM_TOTAL);
        for (let p = 0; p < PARTITIONS; p++) {
          const values = got
            .filter((m) => m.partition === p)
            .sort((a, b) => (a.offset < b.offset ? -1 : 1))
            .map((m) => Number(m.value));
          assert.deepEqual(values, rawValues[p], `consumer read of partition ${p}`);
        }
        for (const m of got) assert.equal(m.key, `seq-${m.value}`);
      }),
  );
});
