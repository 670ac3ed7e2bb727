// Fetch memory (issue 8): a response is capped by fetch.max.bytes whatever max_bytes asks, and a
// consumer that pipelines fetches and never reads them holds one response's worth of broker
// memory, not one per fetch: 8 pipelined fetches of max_bytes 2^31-1, never read, while 500 MB
// is produced, over TCP and over WebSocket. Before, each cost up to 512 MB (4.4 GB on TCP,
// 6 GB and an OOM kill on WebSocket).

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { consumerFetch, fetchCodec, fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient, requestFrame, sizePrefixed } from "./raw_client.ts";

const MB = 1024 * 1024;
const FETCH_MAX_BYTES = 57_671_680; // Kafka's default fetch.max.bytes

function hugeFetch(topic: string, offset: number) {
  return consumerFetch(topic, 0, offset, { maxBytes: 2 ** 31 - 1 });
}

function fetchFrame(topic: string, correlationId: number): Buffer {
  const req = hugeFetch(topic, 0);
  return requestFrame(1, 11, correlationId, (w) => fetchCodec.encodeRequest(w, 11, req));
}

/** Produce `total` bytes of 900 kB batches (under message.max.bytes, acks=1) through one connection. */
async function produceBytes(c: RawClient, topic: string, total: number): Promise<void> {
  const batch = encodeBatch([{ value: Buffer.alloc(900_000, 0x62) }]);
  const inflight: Promise<number>[] = [];
  for (let sent = 0; sent < total; sent += batch.length) {
    inflight.push(
      c
        .request(produceCodec, 7, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 30_000,
          topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: batch }] }],
        })
        .then((r) => r.responses[0].partitions[0].errorCode),
    );
    if (inflight.length >= 16) assert.equal(await inflight.shift(), 0);
  }
  for (const code of await Promise.all(inflight)) assert.equal(code, 0);
}

describe("fetch memory", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "num.partition.writers": 1 } });
  });
  after(async () => {
    await broker.destroy();
  });

  it("a fetch asking 2^31-1 bytes gets at most fetch.max.bytes (plus one batch)", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    await produceBytes(c, "capped", 80 * MB);
    const res = await c.request(fetchCodec, 11, { ...hugeFetch("capped", 0), maxWaitMs: 0 });
    const bytes = fetchRecordsBuffer(res.responses[0].partitions[0].records).length;
    assert.ok(bytes > 0);
    assert.ok(bytes <= FETCH_MAX_BYTES + MB, `${bytes} bytes`);
    c.close();
  });

  for (const transport of ["TCP", "WebSocket"] as const) {
    it(`8 pipelined fetches never read over ${transport} while 500 MB is produced: RSS stays bounded`, async (t) => {
      const topic = `slow-${transport}`;
      const producer = await RawClient.tcp(broker.bootstrap);
      // Half before the fetches (so each has 250 MB to read), half while they wait unread.
      await produceBytes(producer, topic, 250 * MB);
      await new Promise((r) => setTimeout(r, 500));
      const start = broker.rssBytes();
      let close: () => void;
      if (transport === "TCP") {
        const s = net.connect({ host: "127.0.0.1", port: broker.kafkaPort });
        s.on("error", () => {});
        await new Promise((r) => s.once("connect", r));
        s.pause(); // never read a reply
        for (let i = 0; i < 8; i++) s.write(sizePrefixed(fetchFrame(topic, i + 1)));
        close = () => s.destroy();
      } else {
        const ws = new WebSocket(broker.wsUrl);
        ws.on("error", () => {});
        await new Promise((r) => ws.once("open", r));
        (ws as unknown as { _socket: net.Socket })._socket.pause();
        for (let i = 0; i < 8; i++) ws.send(fetchFrame(topic, i + 1), { binary: true });
        close = () => ws.terminate();
      }
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, broker.rssBytes() - start);
      }, 50);
      await produceBytes(producer, topic, 250 * MB);
      await new Promise((r) => setTimeout(r, 1000));
      clearInterval(sampler);
      peak = Math.max(peak, broker.rssBytes() - start);
      close();
      producer.close();
      // The bound from the caps: one response held for the slow connection (fetch.max.bytes in a
      // 64 MiB pooled buffer) plus, on WebSocket, one copy inside uWebSockets.js; the read pool
      // keeps at most 64 MiB idle; the writers' backlog throttles at 64 MiB; plus the producer's
      // own frames and garbage. Before the fix the 8 fetches held 2-3 GB here.
      const bound = 320 * MB;
      t.diagnostic(`broker RSS grew by at most ${Math.round(peak / MB)} MB`);
      assert.ok(peak < bound, `RSS grew by ${Math.round(peak / MB)} MB (bound ${bound / MB} MB)`);
      const c = await RawClient.tcp(broker.bootstrap);
      assert.equal((await c.apiVersions(2)).errorCode, 0);
      c.close();
    });
  }
});
