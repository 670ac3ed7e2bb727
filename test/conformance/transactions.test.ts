// Kafka transactions against the real broker with kafkajs producers and consumers and kcat
// (librdkafka): commit and abort seen by read_committed and read_uncommitted readers; a
// consume-transform-produce loop whose offsets commit with its output (sendOffsets); a producer
// killed mid-transaction aborted after its timeout; a second producer with the same
// transactional.id fencing the first; a broker restart (clean and kill -9) in the middle of a
// transaction, which the coordinator recovers from __transaction_state and completes.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel, type Producer } from "kafkajs";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { describeTransactionsCodec, listTransactionsCodec } from "../../src/protocol/transactions.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A TCP port free right now (bound once, then let go). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function kcatRead(broker: BrokerProcess, topic: string, isolation: string): Promise<string[]> {
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
      `isolation.level=${isolation}`,
      "-X",
      "fetch.wait.max.ms=50",
      "-f",
      "%s\n",
    ],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, `kcat exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

describe("transactions (kafkajs, kcat)", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let admin: Admin;
  const producers: Producer[] = [];

  const connect = async () => {
    kafka = new Kafka({
      clientId: "txn",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100 },
    });
    admin = kafka.admin();
    await admin.connect();
  };

  const txnProducer = async (transactionalId: string, transactionTimeout = 60_000) => {
    const p = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout,
      allowAutoTopicCreation: false,
    });
    await p.connect();
    producers.push(p);
    return p;
  };

  /** Every value of `topic` a kafkajs consumer of `isolation` reads within a few seconds. */
  const kafkajsRead = async (topic: string, readUncommitted: boolean, expect: number): Promise<string[]> => {
    const consumer = kafka.consumer({
      groupId: `read-${topic}-${readUncommitted}-${Math.random()}`,
      readUncommitted,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    const until = Date.now() + 15_000;
    while (seen.length < expect && Date.now() < until) await sleep(100);
    await sleep(500); // anything more that should not be there
    await consumer.disconnect();
    return seen.sort();
  };

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "transaction.state.log.num.partitions": 5,
        "offsets.topic.num.partitions": 5,
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
        "group.initial.rebalance.delay.ms": 0,
      },
    });
    await connect();
  });

  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await broker?.destroy();
  });

  it("commit and abort: read_committed readers see only committed records, read_uncommitted both", async () => {
    const topic = "txn-basic";
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const p = await txnProducer("basic");
    let t = await p.transaction();
    await t.send({
      topic,
      messages: [
        { key: "a", value: "c1" },
        { key: "b", value: "c2" },
      ],
    });
    await t.commit();
    t = await p.transaction();
    await t.send({
      topic,
      messages: [
        { key: "a", value: "a1" },
        { key: "b", value: "a2" },
      ],
    });
    await t.abort();
    t = await p.transaction();
    await t.send({ topic, messages: [{ key: "c", value: "c3" }] });
    await t.commit();
    assert.deepEqual(await kafkajsRead(topic, false, 3), ["c1", "c2", "c3"]);
    assert.deepEqual(await kafkajsRead(topic, true, 5), ["a1", "a2", "c1", "c2", "c3"]);
    assert.deepEqual(await kcatRead(broker, topic, "read_committed"), ["c1", "c2", "c3"]);
    assert.deepEqual(await kcatRead(broker, topic, "read_uncommitted"), ["a1", "a2", "c1", "c2", "c3"]);
    // An open transaction holds read_committed readers at its first offset.
    t = await p.transaction();
    await t.send({ topic, messages: [{ key: "a", value: "open" }] });
    assert.deepEqual(await kcatRead(broker, topic, "read_committed"), ["c1", "c2", "c3"]);
    assert.ok((await kcatRead(broker, topic, "read_uncommitted")).includes("open"));
    await t.commit();
    assert.deepEqual(await kcatRead(broker, topic, "read_committed"), ["c1", "c2", "c3", "open"]);
  });

  it("DescribeTransactions and ListTransactions show an open transaction, then its completion", async () => {
    const topic = "txn-described";
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const p = await txnProducer("described", 45_000);
    const t = await p.transaction();
    await t.send({ topic, messages: [{ partition: 1, value: "x" }] });
    const client = await RawClient.tcp(broker.bootstrap);
    try {
      const d = await client.request(describeTransactionsCodec, 0, {
        transactionalIds: ["described", "nobody"],
      });
      const [open, unknown] = d.transactionStates;
      assert.equal(open.errorCode, 0);
      assert.equal(open.transactionState, "Ongoing");
      assert.equal(open.transactionTimeoutMs, 45_000);
      assert.ok(open.producerId >= 0);
      assert.deepEqual(open.topics, [{ topic, partitions: [1] }]);
      assert.equal(unknown.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      const l = await client.request(listTransactionsCodec, 1, {
        stateFilters: ["Ongoing", "NoSuchState"],
        producerIdFilters: [],
        durationFilter: -1,
      });
      assert.deepEqual(l.unknownStateFilters, ["NoSuchState"]);
      assert.deepEqual(
        l.transactionStates.map((x) => [x.transactionalId, x.transactionState]),
        [["described", "Ongoing"]],
      );
      await t.commit();
      // EndTxn is answered once PrepareCommit is recorded; the markers and CompleteCommit follow.
      let state = "";
      for (const until = Date.now() + 10_000; Date.now() < until; await sleep(50)) {
        const after = await client.request(describeTransactionsCodec, 0, { transactionalIds: ["described"] });
        state = after.transactionStates[0].transactionState;
        if (state === "CompleteCommit") {
          assert.deepEqual(after.transactionStates[0].topics, []);
          break;
        }
        assert.equal(state, "PrepareCommit");
      }
      assert.equal(state, "CompleteCommit");
    } finally {
      client.close();
    }
  });

  it("consume-transform-produce: sendOffsets commits the group's offsets with the output, or neither", async () => {
    const input = "ctp-in";
    const output = "ctp-out";
    await admin.createTopics({ topics: [{ topic: input }, { topic: output }] });
    const plain = kafka.producer();
    await plain.connect();
    producers.push(plain);
    await plain.send({ topic: input, messages: [0, 1, 2, 3, 4, 5].map((i) => ({ value: `in-${i}` })) });
    const p = await txnProducer("ctp");
    const group = "ctp-group";
    // Records 0-2 transformed and committed, 3-5 transformed and aborted.
    for (const [from, commit] of [
      [0, true],
      [3, false],
    ] as const) {
      const t = await p.transaction();
      await t.send({ topic: output, messages: [0, 1, 2].map((i) => ({ value: `out-${from + i}` })) });
      await t.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic: input, partitions: [{ partition: 0, offset: String(from + 3) }] }],
      });
      if (commit) await t.commit();
      else await t.abort();
    }
    const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
    assert.equal(committed[0].partitions[0].offset, "3", "only the committed transaction's offset");
    assert.deepEqual(await kcatRead(broker, output, "read_committed"), ["out-0", "out-1", "out-2"]);
  });

  it("a second producer with the same transactional.id fences the first", async () => {
    const topic = "txn-fence";
    await admin.createTopics({ topics: [{ topic }] });
    const first = await txnProducer("fenced");
    const t1 = await first.transaction();
    await t1.send({ topic, messages: [{ value: "zombie" }] });
    // The newcomer's InitProducerId aborts the open transaction and bumps the epoch.
    const second = await txnProducer("fenced");
    const t2 = await second.transaction();
    await t2.send({ topic, messages: [{ value: "winner" }] });
    await t2.commit();
    await assert.rejects(
      (async () => {
        await t1.send({ topic, messages: [{ value: "zombie-2" }] });
        await t1.commit();
      })(),
      (e: Error & { type?: string }) =>
        /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|fenced|epoch/i.test(`${e.type} ${e.message}`),
    );
    assert.deepEqual(await kcatRead(broker, topic, "read_committed"), ["winner"]);
  });

  it("a producer killed mid-transaction is aborted after its transaction timeout", async () => {
    const topic = "txn-killed";
    await admin.createTopics({ topics: [{ topic }] });
    // A child process opens a transaction, writes, then dies without ending it.
    const script = join(tmpdir(), `milena-txn-killed-${process.pid}.mjs`);
    writeFileSync(
      script,
      `import { Kafka, logLevel } from ${JSON.stringify(join(ROOT, "node_modules/kafkajs/index.js"))};
const kafka = new Kafka({ clientId: "doomed", brokers: [${JSON.stringify(broker.bootstrap)}], logLevel: logLevel.NOTHING });
const p = kafka.producer({ transactionalId: "doomed", idempotent: true, maxInFlightRequests: 1, transactionTimeout: 3000 });
await p.connect();
const t = await p.transaction();
await t.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: "never" }] });
process.stdout.write("sent\\n");
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("sent")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`the child exited (${code}) before writing`)));
    });
    child.kill("SIGKILL");
    // A committed record after it: held back from read_committed readers until the abort.
    const other = await txnProducer("after-kill");
    const t = await other.transaction();
    await t.send({ topic, messages: [{ value: "later" }] });
    await t.commit();
    assert.deepEqual(
      await kcatRead(broker, topic, "read_committed"),
      [],
      "the open transaction holds the LSO",
    );
    const until = Date.now() + 20_000;
    let seen: string[] = [];
    while (Date.now() < until) {
      seen = await kcatRead(broker, topic, "read_committed");
      if (seen.length > 0) break;
      await sleep(250);
    }
    assert.deepEqual(seen, ["later"], "aborted by the coordinator after 3 s");
    assert.deepEqual(await kcatRead(broker, topic, "read_uncommitted"), ["later", "never"]);
    assert.match(broker.output, /aborting the transaction of doomed/);
  });

  for (const how of ["restart", "kill -9"] as const) {
    it(`a broker ${how} in the middle of a transaction: the coordinator recovers it and it commits`, async () => {
      // Its own broker on fixed ports, so the producer finds it again after the restart.
      const [kafkaPort, wsPort] = [await freePort(), await freePort()];
      const b = await BrokerProcess.start({
        overrides: {
          listeners: `PLAINTEXT://127.0.0.1:${kafkaPort},WEBSOCKET://127.0.0.1:${wsPort}`,
          "transaction.state.log.num.partitions": 5,
          "offsets.topic.num.partitions": 5,
        },
      });
      const k = new Kafka({
        clientId: "survivor",
        brokers: [b.bootstrap],
        logLevel: logLevel.NOTHING,
        retry: { retries: 12, initialRetryTime: 200 },
      });
      const a = k.admin();
      const p = k.producer({ transactionalId: "survivor", idempotent: true, maxInFlightRequests: 1 });
      try {
        await a.connect();
        const topic = "txn-survives";
        await a.createTopics({ topics: [{ topic, numPartitions: 2 }] });
        await p.connect();
        const t = await p.transaction();
        await t.send({
          topic,
          messages: [
            { key: "a", value: "before" },
            { key: "b", value: "before-2" },
          ],
        });
        const httpPort = b.metricsPort;
        if (how === "restart") await b.restart();
        else {
          await b.kill();
          await b.launch();
        }
        // Its HTTP listener kept its port too (an ephemeral one once took the freed WebSocket port).
        assert.equal(b.metricsPort, httpPort);
        await t.send({ topic, messages: [{ key: "a", value: "after" }] });
        await t.commit();
        assert.deepEqual(await kcatRead(b, topic, "read_committed"), ["after", "before", "before-2"]);
        assert.match(b.output, /replayed \d+ record\(s\) of __transaction_state/);
      } finally {
        await p.disconnect().catch(() => {});
        await a.disconnect().catch(() => {});
        await b.destroy();
      }
    });
  }
});
