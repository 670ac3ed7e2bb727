// A broker restart under a working producer and consumer, over TCP and over WebSocket: sends in
// flight when the broker goes away are retried on a new connection and all resolve; the consumer
// reconnects and carries on from its position, with nothing skipped.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { type ConsumedRecord, type Consumer, Milena, type RecordMetadata } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

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

async function take(c: Consumer<Buffer>, n: number): Promise<ConsumedRecord<Buffer>[]> {
  const out: ConsumedRecord<Buffer>[] = [];
  const it = c.records();
  const deadline = Date.now() + 30_000;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `read ${out.length} of ${n}`);
    const r = await it.next();
    assert.equal(r.done, false);
    out.push(r.value!);
  }
  return out;
}

describe("client across a broker restart", () => {
  let broker: BrokerProcess;

  before(async () => {
    // Fixed ports, so that the restarted broker is where the clients look for it.
    const [kafka, ws] = [await freePort(), await freePort()];
    broker = await BrokerProcess.start({
      overrides: { listeners: `PLAINTEXT://127.0.0.1:${kafka},WEBSOCKET://127.0.0.1:${ws}` },
    });
  });

  after(async () => {
    await broker?.destroy();
  });

  for (const transport of ["tcp", "ws"] as const) {
    it(`retries sends and resumes fetching after a restart (${transport})`, async () => {
      const topic = `restart-${transport}`;
      const milena = new Milena({
        bootstrap: transport === "tcp" ? broker.bootstrap : broker.wsUrl,
        retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
      });
      const admin = milena.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      await admin.disconnect();
      const producer = milena.producer({ acks: -1 });
      await producer.connect();
      const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.assign([{ topic }]);
      try {
        const msgs = (from: number, n: number) =>
          Array.from({ length: n }, (_, i) => ({ key: String(from + i), value: `v${from + i}` }));
        await producer.send({ topic, messages: msgs(0, 100) });
        assert.deepEqual(
          (await take(consumer, 100)).map((r) => r.offset),
          Array.from({ length: 100 }, (_, i) => i),
        );

        // Sends keep going while the broker restarts: each one resolves in the end.
        const sends: Promise<RecordMetadata[]>[] = [];
        let next = 100;
        const restarted = broker.restart();
        let done = false;
        void restarted.then(() => {
          done = true;
        });
        while (!done) {
          sends.push(producer.send({ topic, messages: msgs(next, 10) }));
          next += 10;
          await new Promise((r) => setTimeout(r, 20));
        }
        await restarted;
        sends.push(producer.send({ topic, messages: msgs(next, 10) }));
        next += 10;
        const results = await Promise.all(sends);
        assert.ok(results.every((r) => r[0].errorCode === 0 && r[0].baseOffset >= 0));

        // The consumer carries on from offset 100: every key sent after, in order (a send retried
        // after its reply was lost may appear twice, as in Kafka without idempotence).
        const offsets = await milena.admin();
        await offsets.connect();
        const end = (await offsets.fetchTopicOffsets(topic))[0].high;
        await offsets.disconnect();
        assert.ok(end >= next, `log end ${end} holds the ${next} records sent`);
        const rest = await take(consumer, end - 100);
        assert.deepEqual(
          rest.map((r) => r.offset),
          Array.from({ length: end - 100 }, (_, i) => 100 + i),
        );
        const keys = new Set(rest.map((r) => Number(r.key!.toString())));
        for (let k = 100; k < next; k++) assert.ok(keys.has(k), `key ${k} after the restart`);
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
      }
    });
  }
});
