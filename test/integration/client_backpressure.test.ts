// Backpressure, for real: the broker process is stopped (SIGSTOP) while a producer keeps sending
// as fast as it can, over TCP and over WebSocket. The producer's buffered bytes (batches not yet
// acknowledged) must stay within bufferMemory while send() calls pile up waiting, none of them
// resolving; after SIGCONT every send resolves and every record is in the log, once. Also: a
// request to a stopped broker fails with a typed, retriable RequestTimeoutError.

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { Milena, type RecordMetadata, RequestTimeoutError } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const BUFFER_MEMORY = 1024 * 1024;
const BATCH_SIZE = 64 * 1024;

function pid(b: BrokerProcess): number {
  const p = (b as unknown as { child: ChildProcess | null }).child?.pid;
  if (p === undefined) throw new Error("broker has no pid");
  return p;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("producer backpressure against a stalled broker", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    try {
      process.kill(pid(broker), "SIGCONT");
    } catch {
      // already gone
    }
    await broker?.destroy();
  });

  for (const transport of ["tcp", "ws"] as const) {
    it(`keeps buffered bytes within bufferMemory while sends wait (${transport})`, async () => {
      const topic = `bp-${transport}`;
      const milena = new Milena({ bootstrap: transport === "tcp" ? broker.bootstrap : broker.wsUrl });
      const admin = milena.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const producer = milena.producer({
        acks: 1,
        bufferMemory: BUFFER_MEMORY,
        batchSize: BATCH_SIZE,
        maxInFlightRequests: 2,
      });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "warm-up" }] });

      const value = Buffer.alloc(1000, 1);
      const sends: Promise<RecordMetadata[]>[] = [];
      let resolved = 0;
      let sent = 0;
      let maxBuffered = 0;
      process.kill(pid(broker), "SIGSTOP");
      try {
        // Outrun the broker for 1.5 s: 50 records of 1 kB per send, without waiting for any, up to
        // 10 MB (ten times the buffer).
        const until = Date.now() + 1500;
        let resolvedAtStall = -1;
        while (Date.now() < until) {
          for (let i = 0; i < 20 && sent < 10_000; i++) {
            const p = producer.send({
              topic,
              messages: Array.from({ length: 50 }, (_, j) => ({ key: `${sent + j}`, value })),
            });
            p.then(
              () => resolved++,
              () => {},
            );
            sends.push(p);
            sent += 50;
            maxBuffered = Math.max(maxBuffered, producer.bufferedBytes);
          }
          await tick();
          maxBuffered = Math.max(maxBuffered, producer.bufferedBytes);
          if (resolvedAtStall < 0 && Date.now() > until - 1000) resolvedAtStall = resolved;
        }
        assert.equal(sent, 10_000, "the producer kept sending");
        assert.ok(
          maxBuffered <= BUFFER_MEMORY,
          `buffered bytes peaked at ${maxBuffered}, bound ${BUFFER_MEMORY}`,
        );
        assert.ok(maxBuffered > BUFFER_MEMORY / 2, `the buffer filled up (${maxBuffered} B)`);
        assert.ok(producer.waitingSends > 0, "sends wait for buffer memory");
        assert.equal(resolved, resolvedAtStall, "no send completes while the broker is stopped");
        assert.ok(resolved < sends.length);
      } finally {
        process.kill(pid(broker), "SIGCONT");
      }
      const results = await Promise.all(sends);
      assert.equal(resolved, sends.length);
      assert.ok(results.every((r) => r.every((m) => m.errorCode === 0 && m.baseOffset >= 0)));
      assert.equal(producer.bufferedBytes, 0, "everything acknowledged, the buffer is empty");
      assert.equal(producer.waitingSends, 0);
      await producer.disconnect();

      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(
        offsets.reduce((n, o) => n + o.high, 0),
        sent + 1,
        "every record is in the log once",
      );
      await admin.disconnect();
    });
  }

  it("times out a request to a stopped broker with a retriable RequestTimeoutError", async () => {
    const milena = new Milena({ bootstrap: broker.wsUrl, requestTimeout: 300, retry: { retries: 0 } });
    const admin = milena.admin();
    await admin.connect();
    process.kill(pid(broker), "SIGSTOP");
    try {
      await assert.rejects(admin.listTopics(), (e: unknown) => {
        assert.ok(e instanceof RequestTimeoutError, String(e));
        assert.equal(e.retriable, true);
        return true;
      });
    } finally {
      process.kill(pid(broker), "SIGCONT");
    }
    // The client reconnects once the broker answers again.
    assert.ok(Array.isArray(await admin.listTopics()));
    await admin.disconnect();
  });
});
