// The producer's writes, against a broker faked at the transport (no socket): when several
// Produce replies arrive together (their request slots all free at once), the next requests go
// out at once, inside one cork()/uncork() (one socket write); and every record arrives once, in
// order, in batches the shared decoder reads back, each send answered with its first offset.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MilenaClient } from "../../src/client/client.ts";
import { nodePlatform } from "../../src/client/node.ts";
import type { Transport, TransportEvents } from "../../src/client/transport.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { decodeRequestHeader, finishFrame, startResponseFrame } from "../../src/protocol/header.ts";
import { metadataCodec } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { decodeBatch } from "../../src/protocol/records.ts";
import { Writer } from "../../src/protocol/writer.ts";

type Event = "cork" | "uncork" | "produce";

/** A one-broker cluster with one topic of one partition, answering Produce only when told. */
class FakeBroker implements Transport {
  readonly bufferedAmount = 0;
  readonly events: Event[] = [];
  /** Produce replies held back (release() sends them all, in one go). */
  private held: Uint8Array[] = [];
  readonly batches: Buffer[] = [];
  private next = 0;

  constructor(private readonly on: TransportEvents) {}

  cork(): void {
    this.events.push("cork");
  }

  uncork(): void {
    this.events.push("uncork");
  }

  close(): void {}

  send(chunks: readonly Uint8Array[]): void {
    const frame = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
    const r = new Reader(frame.subarray(4));
    const h = decodeRequestHeader(r);
    const w = new Writer(256);
    startResponseFrame(w, h.apiKey, h.apiVersion, h.correlationId);
    if (h.apiKey === ApiKey.ApiVersions) {
      apiVersionsCodec.encodeResponse(w, h.apiVersion, {
        errorCode: 0,
        apiKeys: [
          { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 9 },
          { apiKey: ApiKey.Metadata, minVersion: 1, maxVersion: 9 },
          { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 },
        ],
      } as never);
    } else if (h.apiKey === ApiKey.Metadata) {
      metadataCodec.encodeResponse(w, h.apiVersion, {
        brokers: [{ nodeId: 0, host: "fake", port: 9092, rack: null }],
        controllerId: 0,
        clusterId: "fake",
        topics: [
          {
            errorCode: 0,
            name: "t",
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 0,
                leaderEpoch: 0,
                replicaNodes: [0],
                isrNodes: [0],
              },
            ],
          },
        ],
      } as never);
    } else if (h.apiKey === ApiKey.Produce) {
      this.events.push("produce");
      const req = produceCodec.decodeRequest(r, h.apiVersion);
      const records = req.topics[0].partitions[0].records!;
      this.batches.push(Buffer.from(records));
      const base = this.next;
      this.next += decodeBatch(Buffer.from(records)).length;
      produceCodec.encodeResponse(w, h.apiVersion, {
        throttleTimeMs: 0,
        responses: [
          {
            name: "t",
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 0,
                baseOffset: base,
                logAppendTimeMs: -1,
                logStartOffset: 0,
                recordErrors: [],
                errorMessage: null,
              },
            ],
          },
        ],
      } as never);
      finishFrame(w);
      this.held.push(Buffer.concat(w.chunks()).subarray(4));
      return;
    } else throw new Error(`unexpected request ${h.apiKey}`);
    finishFrame(w);
    const reply = Buffer.concat(w.chunks()).subarray(4);
    queueMicrotask(() => this.on.onFrame(reply));
  }

  /** Every held Produce reply, delivered together (as one socket read would). */
  release(): number {
    const held = this.held;
    this.held = [];
    for (const f of held) this.on.onFrame(f);
    return held.length;
  }
}

test("replies that free every slot at once: the next requests go out together, in one corked write", async () => {
  let broker: FakeBroker | null = null;
  const platform = nodePlatform();
  platform.tcp = async (_host, _port, events) => {
    broker = new FakeBroker(events);
    return broker;
  };
  const client = new MilenaClient({ bootstrap: "fake:9092" }, platform);
  const producer = client.producer({ acks: 1, batchSize: 1024, maxInFlightRequests: 5 });
  await producer.connect();
  const fake = broker as unknown as FakeBroker;
  const value = Buffer.alloc(100, 7);
  // 100 sends of 10 records (batches of 1 KiB hold 8): far more batches than the 5 slots.
  const sends = Array.from({ length: 100 }, (_, i) =>
    producer.send({
      topic: "t",
      messages: Array.from({ length: 10 }, (_, j) => ({ value, key: `${i * 10 + j}` })),
    }),
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.events.filter((e) => e === "produce").length, 5, "5 requests in flight");
  for (let round = 0; round < 3; round++) {
    fake.events.length = 0;
    assert.equal(fake.release(), 5);
    await new Promise((r) => setTimeout(r, 10));
    const ev = fake.events;
    const produces = ev.filter((e) => e === "produce").length;
    assert.equal(produces, 5, `round ${round}: 5 slots freed, 5 requests: ${ev.join(" ")}`);
    // all five between the first cork and its uncork
    const first = ev.indexOf("produce");
    const last = ev.lastIndexOf("produce");
    let depth = 0;
    for (let i = 0; i <= last; i++) {
      if (ev[i] === "cork") depth++;
      else if (ev[i] === "uncork") {
        depth--;
        assert.ok(
          i < first || i > last || depth > 0,
          `round ${round}: uncorked between requests: ${ev.join(" ")}`,
        );
      } else if (i >= first)
        assert.ok(depth > 0, `round ${round}: a request outside cork(): ${ev.join(" ")}`);
    }
  }
  // the rest: answer until every send is acknowledged
  let done = false;
  const all = Promise.all(sends).then((r) => {
    done = true;
    return r;
  });
  while (!done) {
    fake.release();
    await new Promise((r) => setTimeout(r, 1));
  }
  const results = await all;
  assert.ok(results.every((r) => r.length === 1 && r[0].errorCode === 0));
  assert.deepEqual(
    results.map((r) => r[0].baseOffset),
    Array.from({ length: 100 }, (_, i) => i * 10),
    "each send's first offset",
  );
  const keys = fake.batches.flatMap((b) => decodeBatch(b).map((r) => Buffer.from(r.key!).toString()));
  assert.deepEqual(
    keys,
    Array.from({ length: 1000 }, (_, i) => `${i}`),
    "every record once, in order",
  );
  await producer.disconnect();
});

test("requests in flight at the defaults: no bound but bufferMemory without idempotence, 5 with it", async () => {
  const count = async (config: object, buffer?: number) => {
    let broker: FakeBroker | null = null;
    const platform = nodePlatform();
    platform.tcp = async (_host, _port, events) => {
      broker = new FakeBroker(events);
      return broker;
    };
    const producer = new MilenaClient({ bootstrap: "fake:9092" }, platform).producer({
      batchSize: 1024,
      ...(buffer !== undefined ? { bufferMemory: buffer } : {}),
      ...config,
    });
    await producer.connect();
    const fake = broker as unknown as FakeBroker;
    const value = Buffer.alloc(100, 7);
    // 1,000 records in batches of 8: 125 batches, none answered yet
    const sends = Array.from({ length: 100 }, () =>
      producer.send({ topic: "t", messages: Array.from({ length: 10 }, () => ({ value })) }),
    );
    await new Promise((r) => setTimeout(r, 20));
    const inFlight = fake.events.filter((e) => e === "produce").length;
    let done = false;
    const all = Promise.all(sends).then(() => {
      done = true;
    });
    while (!done) {
      fake.release();
      await new Promise((r) => setTimeout(r, 1));
    }
    await all;
    await producer.disconnect();
    return inFlight;
  };
  assert.equal(await count({ acks: 1 }), 125, "acks 1: every batch goes out at once");
  assert.equal(await count({ acks: -1, idempotent: false }), 125, "idempotence off: every batch");
  // (this broker has no InitProducerId, so the defaulted idempotence falls back, but the
  // connection keeps the idempotent default)
  assert.equal(await count({ acks: -1 }), 5, "acks -1 defaults to idempotence: 5");
  assert.equal(await count({ acks: 1, maxInFlightRequests: 3 }), 3, "the config's bound");
  // bufferMemory bounds what is in flight: 16 KiB holds 14 batches of 1 KiB (+ header room)
  const bounded = await count({ acks: 1 }, 16 * 1024);
  assert.ok(bounded > 5 && bounded <= 16, `bufferMemory 16 KiB: ${bounded} in flight`);
});
