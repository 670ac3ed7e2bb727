// The Kafka protocol over the WebSocket listener, with the `ws` package as the client: one binary
// message = one request frame without TCP's 4-byte size prefix, and each response comes back the
// same way. Produce (acks 1 and -1, several partitions) and Fetch round trips, ApiVersions and
// Metadata (which must advertise the WebSocket port to a WebSocket client), and pipelining.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { fetchCodec, fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { decodeResponseHeader } from "../../src/protocol/header.ts";
import { listOffsetsCodec } from "../../src/protocol/list_offsets.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { Compression } from "../../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch, type NewRecord, splitBatches } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient, requestFrame } from "./raw_client.ts";

const TOPIC = "ws-topic";
const PARTITIONS = 3;

function records(prefix: string, n: number, t0: number): NewRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-k${i}`,
    value: `${prefix}-v${i}-${"x".repeat(i % 7)}`,
    headers: { h: `${prefix}-h${i}` },
    timestamp: t0 + i,
  }));
}

describe("Kafka protocol over WebSocket", () => {
  let broker: BrokerProcess;
  let client: RawClient;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    client = await RawClient.ws(broker.wsUrl);
  });

  after(async () => {
    client?.close();
    await broker?.destroy();
  });

  it("answers ApiVersions v0-v4 (v3 and v4 with their flexible body)", async () => {
    for (const v of [0, 1, 2, 3, 4]) {
      const res = await client.apiVersions(v);
      assert.equal(res.errorCode, 0, `v${v}`);
      const produce = res.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
      assert.deepEqual(produce, { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 11 }, `v${v}`);
      const av = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
      assert.deepEqual(av, { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }, `v${v}`);
    }
  });

  it("creates a topic and answers Metadata v1-v12 advertising the WebSocket port", async () => {
    const created = await client.createTopic(TOPIC, PARTITIONS);
    assert.equal(created.errorCode, 0, created.errorMessage ?? "");
    for (const v of [1, 2, 3, 4, 5, 6, 9, 10, 12]) {
      const md = await client.request(metadataCodec, v, metadataRequest([TOPIC], false));
      assert.equal(md.brokers.length, 1, `v${v}`);
      assert.equal(
        md.brokers[0].port,
        broker.wsPort,
        `v${v}: a WebSocket client is sent back to the WebSocket port`,
      );
      assert.notEqual(md.brokers[0].port, broker.kafkaPort);
      assert.equal(md.brokers[0].host, "127.0.0.1");
      assert.equal(md.topics.length, 1);
      assert.equal(md.topics[0].errorCode, 0);
      assert.deepEqual(
        md.topics[0].partitions.map((p) => [p.partitionIndex, p.leaderId]).sort(),
        [...Array(PARTITIONS).keys()].map((p) => [p, md.brokers[0].nodeId]),
      );
    }
    // The same broker over TCP advertises the TCP port.
    const tcp = await RawClient.tcp(broker.bootstrap);
    try {
      const md = await tcp.request(metadataCodec, 4, metadataRequest([], false));
      assert.equal(md.brokers[0].port, broker.kafkaPort);
    } finally {
      tcp.close();
    }
  });

  it("produces with acks 1 and -1 to several partitions and fetches everything back", async () => {
    const t0 = Date.now();
    const sent = new Map<number, NewRecord[]>();
    for (const [round, acks] of [
      [0, 1],
      [1, -1],
      [2, 1],
      [3, -1],
    ] as const) {
      const topicData = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const recs = records(`r${round}p${p}`, 5 + p * 3 + round, t0 + round * 1000);
        const compression = round === 2 ? Compression.GZIP : Compression.NONE;
        topicData.push({ partitionIndex: p, records: encodeBatch(recs, compression) });
        sent.set(p, [...(sent.get(p) ?? []), ...recs]);
      }
      const before = await Promise.all([...Array(PARTITIONS).keys()].map((p) => client.listOffset(TOPIC, p)));
      const res = await client.request(produceCodec, 7, {
        transactionalId: null,
        acks,
        timeoutMs: 5000,
        topics: [{ name: TOPIC, partitions: topicData }],
      });
      assert.equal(res.responses.length, 1);
      for (const pr of res.responses[0].partitions) {
        assert.equal(pr.errorCode, 0, `round ${round} partition ${pr.partitionIndex}`);
        assert.equal(pr.baseOffset, before[pr.partitionIndex].offset, "base offset = previous log end");
        assert.equal(pr.logStartOffset, 0);
      }
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const got = await client.readAll(TOPIC, p);
      const want = sent.get(p)!;
      assert.equal(got.length, want.length, `partition ${p}`);
      got.forEach((r, i) => {
        assert.equal(r.offset, i);
        assert.equal(r.key?.toString(), want[i].key);
        assert.equal(r.value?.toString(), want[i].value);
        assert.equal(r.timestamp, want[i].timestamp);
        assert.deepEqual(
          r.headers.map((h) => [h.key, h.value?.toString()]),
          Object.entries(want[i].headers as object),
        );
      });
      const latest = await client.listOffset(TOPIC, p, -1);
      assert.equal(latest.offset, want.length);
    }
  });

  it("returns pipelined replies in request order", async () => {
    // A long-poll on an empty position first: it answers last in time but must come out first.
    const end = (await client.listOffset(TOPIC, 0)).offset;
    const longPoll = client.request(fetchCodec, 11, {
      replicaId: -1,
      maxWaitMs: 400,
      minBytes: 1,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: TOPIC,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: end,
              logStartOffset: -1,
              partitionMaxBytes: 1024 * 1024,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    });
    const rest: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      rest.push(client.apiVersions(i % 3));
      rest.push(client.request(metadataCodec, 6, metadataRequest(null, false)));
      rest.push(
        client.request(listOffsetsCodec, 3, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, timestamp: -2 }] }],
        }),
      );
      rest.push(
        client.request(produceCodec, 7, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topics: [
            {
              name: TOPIC,
              partitions: [{ partitionIndex: 2, records: encodeBatch(records(`pipe${i}`, 2, Date.now())) }],
            },
          ],
        }),
      );
    }
    const firstSent = client.received.length;
    const fetched = await longPoll;
    await Promise.all(rest);
    const ids = client.received.slice(firstSent);
    assert.equal(ids.length, 21);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      "replies come back in request order",
    );
    assert.equal(fetched.responses[0].partitions[0].errorCode, 0);
    assert.equal(fetched.responses[0].partitions[0].records.length, 0, "nothing was produced to partition 0");
  });

  it("sends a multi-partition fetch of megabytes as one message", async () => {
    const topic = "ws-big";
    assert.equal((await client.createTopic(topic, PARTITIONS)).errorCode, 0);
    const sent: string[][] = [[], [], []];
    for (let round = 0; round < 8; round++) {
      const partitions = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const recs = Array.from({ length: 20 }, (_, i) => ({
          key: `p${p}r${round}i${i}`,
          value: `${p}:${round}:${i}:`.padEnd(5000, String.fromCharCode(97 + ((round + i) % 26))),
        }));
        sent[p].push(...recs.map((r) => r.value));
        partitions.push({ partitionIndex: p, records: encodeBatch(recs) });
      }
      const res = await client.request(produceCodec, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topics: [{ name: topic, partitions }],
      });
      assert.ok(res.responses[0].partitions.every((p) => p.errorCode === 0));
    }
    const res = await client.request(fetchCodec, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [...Array(PARTITIONS).keys()].map((p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            logStartOffset: -1,
            partitionMaxBytes: 16 * 1024 * 1024,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    });
    let bytes = 0;
    for (const pr of res.responses[0].partitions) {
      assert.equal(pr.errorCode, 0);
      const data = fetchRecordsBuffer(pr.records);
      bytes += data.length;
      const values = splitBatches(data).flatMap((b) => decodeBatch(b).map((r) => r.value?.toString()));
      assert.deepEqual(values, sent[pr.partitionIndex], `partition ${pr.partitionIndex}`);
    }
    assert.ok(bytes > 2 * 1024 * 1024, `${bytes} bytes fetched`);
  });

  it("answers raw `ws` frames: no size prefix either way, one message per reply", async () => {
    const ws = new WebSocket(broker.wsUrl);
    ws.binaryType = "nodebuffer";
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const messages: Buffer[] = [];
    const got = new Promise<void>((resolve) => {
      ws.on("message", (data: Buffer) => {
        messages.push(data);
        if (messages.length === 2) resolve();
      });
    });
    // Two requests in one go; each must come back as exactly one message.
    ws.send(requestFrame(ApiKey.ApiVersions, 0, 77, () => {}));
    ws.send(
      requestFrame(ApiKey.Metadata, 1, 78, (w) =>
        metadataCodec.encodeRequest(w, 1, metadataRequest([TOPIC], false)),
      ),
    );
    await got;
    ws.close();
    // No size prefix: the message starts with the correlation id.
    assert.equal(messages[0].readInt32BE(0), 77);
    const r0 = new Reader(messages[0]);
    decodeResponseHeader(r0, ApiKey.ApiVersions, 0);
    const av = apiVersionsCodec.decodeResponse(r0, 0);
    assert.equal(r0.remaining, 0);
    assert.equal(av.errorCode, 0);
    assert.equal(messages[1].readInt32BE(0), 78);
    const r1 = new Reader(messages[1]);
    decodeResponseHeader(r1, ApiKey.Metadata, 1);
    const md = metadataCodec.decodeResponse(r1, 1);
    assert.equal(r1.remaining, 0);
    assert.equal(md.topics[0].partitions.length, PARTITIONS);
  });

  it("closes on an unsupported version but keeps accepting WebSocket clients", async () => {
    const bad = await RawClient.ws(broker.wsUrl);
    bad.sendRawFrame(requestFrame(ApiKey.Fetch, 99, 1, () => {}));
    assert.equal(await bad.closesWithin(5000), true);
    const good = await RawClient.ws(broker.wsUrl);
    try {
      assert.equal((await good.apiVersions(2)).errorCode, 0);
    } finally {
      good.close();
    }
  });
});
