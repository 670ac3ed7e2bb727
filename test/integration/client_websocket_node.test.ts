// The Node client's own WebSocket transport (src/client/websocket_node.ts) against the real
// broker's uWebSockets.js listener: multi-partition Fetch replies (a fragmented message of
// reply header, records, partition header, records ...) come back byte for byte as over TCP; a
// refused upgrade is a ConnectionError that says the broker's answer; a broker that dies under a
// waiting fetch fails the wait instead of leaving it hanging; disconnect() closes the socket.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ConnectionError, Milena } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

describe("client over its own WebSocket framing", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.destroy();
  });

  it("multi-partition fetches of records up to 200 KB read back as over TCP", async () => {
    const topic = "ws-frag";
    const tcp = new Milena({ bootstrap: broker.bootstrap });
    const admin = tcp.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    await admin.disconnect();
    const producer = tcp.producer({ acks: -1 });
    await producer.connect();
    const sent = new Map<string, Buffer>();
    for (let round = 0; round < 8; round++) {
      const messages = Array.from({ length: 50 }, (_, i) => {
        const size =
          i % 10 === 0 ? 50_000 + Math.floor(Math.random() * 150_000) : Math.floor(Math.random() * 500);
        const key = `${round}-${i}`;
        const value = randomBytes(size);
        sent.set(key, value);
        return { key, value, partition: i % 4, headers: { h: key } };
      });
      await producer.send({ topic, messages });
    }
    await producer.disconnect();

    const read = async (bootstrap: string) => {
      const c = new Milena({ bootstrap }).consumer({
        autoOffsetReset: "earliest",
        maxBytesPerPartition: 256 * 1024,
        maxBytes: 16 << 20,
      });
      await c.connect();
      await c.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 })));
      const got = new Map<string, Buffer>();
      const deadline = Date.now() + 30_000;
      for await (const b of c.batches()) {
        for (const r of b.records) got.set(r.key!.toString(), Buffer.from(r.value!));
        if (got.size >= sent.size || Date.now() > deadline) break;
      }
      await c.disconnect();
      return got;
    };
    const overWs = await read(broker.wsUrl);
    const overTcp = await read(broker.bootstrap);
    assert.equal(overWs.size, sent.size);
    for (const [k, v] of sent) {
      assert.ok(overWs.get(k)?.equals(v), `record ${k} over WebSocket`);
      assert.ok(overTcp.get(k)?.equals(v), `record ${k} over TCP`);
    }
  });

  it("a refused upgrade rejects connect() with the broker's answer", async () => {
    const strict = await BrokerProcess.start({ overrides: { "max.connections.per.ip": 1 } });
    try {
      const first = new Milena({ bootstrap: strict.wsUrl }).admin();
      await first.connect();
      const second = new Milena({
        bootstrap: strict.wsUrl,
        retry: { retries: 0 },
        connectionTimeout: 5000,
      }).admin();
      await assert.rejects(second.connect(), (e: Error) => {
        assert.ok(e instanceof ConnectionError, `${e.name}: ${e.message}`);
        assert.match(e.message, /HTTP 503.*max\.connections\.per\.ip \(1\) reached/);
        return true;
      });
      await first.disconnect();
      // disconnect() closed the WebSocket: the broker counts it gone and admits the next one
      const deadline = Date.now() + 5000;
      for (;;) {
        const again = new Milena({ bootstrap: strict.wsUrl, retry: { retries: 0 } }).admin();
        try {
          await again.connect();
          await again.disconnect();
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      await strict.destroy();
    }
  });

  it("a broker killed under a waiting fetch fails it with a ConnectionError", async () => {
    const doomed = await BrokerProcess.start();
    try {
      const milena = new Milena({
        bootstrap: doomed.wsUrl,
        retry: { retries: 0 },
        connectionTimeout: 2000,
      });
      const admin = milena.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "quiet" }] });
      await admin.disconnect();
      const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 10_000 });
      await consumer.connect();
      await consumer.assign([{ topic: "quiet", offset: 0 }]);
      const it = consumer.batches()[Symbol.asyncIterator]();
      const waiting = it.next().then(
        () => null,
        (e: Error) => e,
      );
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await doomed.kill();
      const e = await waiting;
      assert.ok(e instanceof ConnectionError, `${e?.name}: ${e?.message}`);
      assert.ok(Date.now() - t0 < 9000, "failed before the fetch's own wait ran out");
      await consumer.disconnect().catch(() => {});
    } finally {
      await doomed.destroy();
    }
  });
});
