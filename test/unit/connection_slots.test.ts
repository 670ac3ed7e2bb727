// The broker's Connection lets go of a reply once it is sent: its reply queue kept the sent
// slots (and each slot's completion callback, whose closure holds the request and its read
// buffers) until 1,024 had piled up, long enough for them to survive scavenges and be promoted;
// under a steady load every scavenge then copied them (the broker's young-generation pauses
// were 5-8 ms at 1,800 requests/s, the W4 latency tail).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { createLogger } from "../../src/broker/log.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { finishFrame, startRequestFrame } from "../../src/protocol/header.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { Connection, type Dispatcher, ON_SENT, type TransportSink } from "../../src/transport/connection.ts";
import { RequestMemory, ResponseMemory } from "../../src/transport/request_memory.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** An ApiVersions v0 request frame without its size prefix. */
function apiVersionsFrame(correlationId: number): Buffer {
  const w = new Writer(64);
  startRequestFrame(w, { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId, clientId: "t" });
  finishFrame(w);
  return Buffer.from(w.view().subarray(4));
}

describe("Connection reply queue", () => {
  it("holds no sent reply's completion callback (the request's memory is collectable once sent)", async () => {
    const callbacks: WeakRef<() => void>[] = [];
    let sentCount = 0;
    const sink: TransportSink = {
      // The bytes leave at once: the transport calls `sent` as a real one does after the write.
      send: (_chunks, _length, sent) => {
        sentCount++;
        sent?.();
      },
      close: () => {},
      pause: () => {},
      resume: () => {},
      remote: "127.0.0.1:1",
      listener: "PLAINTEXT",
    };
    const dispatcher: Dispatcher = {
      handlerFor: (apiKey) =>
        apiKey === ApiKey.ApiVersions
          ? () => {
              // The callback's closure holds a large buffer, as a fetch's holds its reads.
              const held = Buffer.alloc(1 << 20);
              const done = () => {
                held[0] = 1;
              };
              callbacks.push(new WeakRef(done));
              return { errorCode: 0, apiKeys: [], throttleTimeMs: 0, [ON_SENT]: done };
            }
          : undefined,
      logger: createLogger(() => {}),
      throttled: () => false,
      requests: new RequestMemory(1 << 30),
      responses: new ResponseMemory(1 << 30),
      connectionResponseBytes: 1 << 30,
    };
    const conn = new Connection(sink, dispatcher);
    for (let i = 0; i < 10; i++) conn.onFrame(apiVersionsFrame(i));
    for (let i = 0; i < 10 && sentCount < 10; i++) await tick();
    assert.equal(sentCount, 10);
    assert.equal(conn.inFlight, 0);
    // WeakRefs hold their targets until the end of the job that made them.
    await tick();
    gc();
    const alive = callbacks.filter((r) => r.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of 10 sent replies' callbacks are still held`);
  });
});
