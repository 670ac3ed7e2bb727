// WebSocket replies a client has not read yet: pipelined large fetches are served (they were
// closed at 16 MiB of unread replies before), and the broker stops taking requests while too
// much is unread instead of buffering without bound.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { fetchCodec } from "../../src/protocol/fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { ApiKey, RawClient, requestFrame } from "./raw_client.ts";

const MiB = 1024 * 1024;

describe("WebSocket backpressure", () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "message.max.bytes": 2 * MiB } });
  });
  after(async () => broker?.destroy());

  it("four pipelined 8 MiB fetches over one WebSocket are all answered, in order", async () => {
    const tcp = await RawClient.tcp(broker.bootstrap);
    assert.equal((await tcp.createTopic("big", 1)).errorCode, 0);
    const value = Buffer.alloc(1000, 7);
    const batch = encodeBatch(Array.from({ length: 1000 }, () => ({ value })));
    for (let i = 0; i < 40; i++) {
      const r = await tcp.request(produceCodec, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topics: [{ name: "big", partitions: [{ partitionIndex: 0, records: batch }] }],
      });
      assert.equal(r.responses[0].partitions[0].errorCode, 0);
    }
    tcp.close();
    const ws = await RawClient.ws(broker.wsUrl);
    const fetchAt = (offset: number) =>
      ws.request(fetchCodec, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 8 * MiB,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: "big",
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                logStartOffset: -1,
                partitionMaxBytes: 8 * MiB,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: "",
      });
    const replies = await Promise.all([0, 8000, 16000, 24000].map(fetchAt));
    for (const r of replies) {
      const p = r.responses[0].partitions[0];
      assert.equal(p.errorCode, 0);
      const bytes = p.records.reduce((n, c) => n + c.length, 0);
      assert.ok(bytes > 7 * MiB, `a full fetch (${bytes} bytes)`);
    }
    // The connection is still good.
    assert.equal((await ws.apiVersions()).errorCode, 0);
    ws.close();
  });

  it("a client that reads nothing for a while still gets every pipelined reply (up to the hard limit)", async () => {
    const fetchBody = (offset: number) => (w: Parameters<typeof fetchCodec.encodeRequest>[0]) =>
      fetchCodec.encodeRequest(w, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 8 * MiB,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: "big",
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                logStartOffset: -1,
                partitionMaxBytes: 8 * MiB,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: "",
      });
    const ws = new WebSocket(broker.wsUrl, { maxPayload: 64 * MiB });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    let replies = 0;
    let closed = false;
    ws.on("message", () => {
      replies++;
    });
    ws.on("close", () => {
      closed = true;
    });
    // Stop reading the socket: the broker's replies pile up unread on its side.
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.pause();
    for (const [i, o] of [0, 8000, 16000, 24000, 32000].entries()) {
      ws.send(requestFrame(ApiKey.Fetch, 11, i + 1, fetchBody(o)));
    }
    await new Promise((r) => setTimeout(r, 1500));
    socket.resume();
    const until = Date.now() + 15_000;
    while (replies < 5 && !closed && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false, "the broker kept the connection");
    assert.equal(replies, 5);
    ws.close();
  });
});
