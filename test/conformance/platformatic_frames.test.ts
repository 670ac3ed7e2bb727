// Fixtures captured live from @platformatic/kafka (a client that only speaks flexible versions):
// a recording proxy between it and the broker keeps every request frame it sends and every
// response frame the broker returns, while its Admin creates a topic, its idempotent Producer
// writes and a group Consumer reads and commits. Then each request must decode with Milena's
// codec for its api key and version, to its last byte (tagged fields included), and encode back
// to the very bytes the client sent; each response likewise. This is the round-trip check over
// fixtures from a real client, for every API x version this client uses.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  decodeRequestHeader,
  encodeRequestHeader,
  responseHeaderVersion,
} from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { codecFor } from "../../src/protocol/registry.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const TOPIC = "plt-frames";

/** Cuts a byte stream into Kafka frames (size prefix dropped). */
function cutter(out: Buffer[]): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const n = pending.readInt32BE(0);
      out.push(Buffer.from(pending.subarray(4, 4 + n)));
      pending = pending.subarray(4 + n);
    }
  };
}

interface Conversation {
  requests: Buffer[];
  responses: Buffer[];
}

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

/** Encode everything a Writer produced into one Buffer. */
function bytesOf(w: Writer): Buffer {
  const v = w.view();
  return Buffer.from(v.buffer, v.byteOffset, v.length);
}

describe("@platformatic/kafka's frames, captured, round-trip through Milena's codecs", () => {
  let broker: BrokerProcess;
  let proxy: net.Server;
  const conversations: Conversation[] = [];
  let proxyPort = 0;

  before(async () => {
    proxyPort = await freePort();
    broker = await BrokerProcess.start({
      overrides: {
        "group.initial.rebalance.delay.ms": 0,
        "advertised.listeners": `PLAINTEXT://127.0.0.1:${proxyPort}`,
      },
    });
    const target = Number(broker.bootstrap.split(":")[1]);
    proxy = net.createServer((client) => {
      const conv: Conversation = { requests: [], responses: [] };
      conversations.push(conv);
      const upstream = net.connect({ host: "127.0.0.1", port: target });
      const toBroker = cutter(conv.requests);
      const toClient = cutter(conv.responses);
      client.on("data", (d) => {
        toBroker(d);
        upstream.write(d);
      });
      upstream.on("data", (d) => {
        toClient(d);
        client.write(d);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("close", close);
      upstream.on("close", close);
      client.on("error", close);
      upstream.on("error", close);
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await broker.destroy();
  });

  test("admin, idempotent producer and group consumer: every frame re-encodes to the same bytes", async () => {
    const bootstrapBrokers = [`127.0.0.1:${proxyPort}`];
    const admin = new Admin({ clientId: "plt-frames", bootstrapBrokers });
    const producer = new Producer({
      clientId: "plt-frames",
      bootstrapBrokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      serializers: stringSerializers,
    });
    const consumer = new Consumer({
      clientId: "plt-frames",
      groupId: "plt-frames-group",
      bootstrapBrokers,
      deserializers: stringDeserializers,
      autocommit: false,
    });
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: 2, replicas: 1 });
      await admin.metadata({ topics: [TOPIC] });
      for (let i = 0; i < 5; i++)
        await producer.send({
          messages: [
            { topic: TOPIC, key: `k${i}`, value: `v${i}`, headers: new Map([["h", `${i}`]]) },
            { topic: TOPIC, key: `j${i}`, value: `w${i}` },
          ],
        });
      const stream = await consumer.consume({ topics: [TOPIC], mode: MessagesStreamModes.EARLIEST });
      let seen = 0;
      const deadline = Date.now() + 30_000;
      for await (const m of stream) {
        seen++;
        if (seen === 10) {
          await m.commit();
          break;
        }
        if (Date.now() > deadline) break;
      }
      await stream.close();
      assert.equal(seen, 10, "the consumer read the 10 records");
      await admin.listGroups();
      await admin.describeGroups({ groups: ["plt-frames-group"] });
    } finally {
      await Promise.resolve(consumer.close(true)).catch(() => {});
      await producer.close().catch(() => {});
      await admin.close().catch(() => {});
    }

    const seen = new Map<string, number>();
    for (const conv of conversations) {
      // Responses follow requests in order on a connection (acks=0 produce aside: not sent here).
      let ri = 0;
      for (const frame of conv.requests) {
        const r = new Reader(frame);
        const header = decodeRequestHeader(r);
        const codec = codecFor(header.apiKey);
        assert.ok(codec, `api key ${header.apiKey} is served`);
        const label = `${codec.name} v${header.apiVersion}`;
        seen.set(label, (seen.get(label) ?? 0) + 1);
        const req = codec.decodeRequest(r, header.apiVersion);
        assert.equal(r.remaining, 0, `${label} request: decoded to its last byte`);
        const w = new Writer(frame.length + 64);
        encodeRequestHeader(w, header);
        codec.encodeRequest(w, header.apiVersion, req);
        assert.deepEqual(bytesOf(w), frame, `${label} request: re-encodes to the bytes the client sent`);

        const res = conv.responses[ri++];
        if (res === undefined) continue; // the connection closed before the answer came
        const rr = new Reader(res);
        assert.equal(rr.int32(), header.correlationId, `${label}: responses in request order`);
        if (responseHeaderVersion(header.apiKey, header.apiVersion) === 1) rr.skipTaggedFields();
        const body = res.subarray(rr.offset);
        const decoded = codec.decodeResponse(rr, header.apiVersion);
        assert.equal(rr.remaining, 0, `${label} response: decoded to its last byte`);
        const rw = new Writer(body.length + 64);
        codec.encodeResponse(rw, header.apiVersion, decoded);
        assert.deepEqual(
          bytesOf(rw),
          Buffer.from(body),
          `${label} response: re-encodes to the broker's bytes`,
        );
      }
    }
    const apis = [...seen.keys()].sort();
    // The client spoke flexible versions of the APIs this run needs.
    for (const want of [
      "ApiVersions",
      "Metadata",
      "CreateTopics",
      "InitProducerId",
      "Produce",
      "FindCoordinator",
      "JoinGroup",
      "SyncGroup",
      "Fetch",
      "OffsetCommit",
    ])
      assert.ok(
        apis.some((a) => a.startsWith(`${want} v`)),
        `${want} was captured (captured: ${apis.join(", ")})`,
      );
    assert.ok(seen.size >= 10, apis.join(", "));
    assert.equal(ApiKey.Produce, 0);
  });
});
