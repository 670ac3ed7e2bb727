// Error answers over a raw TCP connection (hand-built frames through Milena's codecs): each
// Kafka error the broker gives, then proof that the same connection still answers and that
// nothing was appended (ListOffsets latest / Fetch). Also the cases where Kafka closes the
// connection instead (unknown api key, unsupported version, oversized or garbage frames): the
// broker keeps serving new connections. And the admin errors and auto-creation.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { crc32c } from "@node-rs/crc32";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { consumerFetch, fetchCodec, fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import {
  ATTRIBUTES,
  BASE_OFFSET,
  Compression,
  CRC,
  LAST_OFFSET_DELTA,
  writeInt64,
} from "../../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch, type NewRecord } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient, requestFrame, sizePrefixed } from "./raw_client.ts";

const MAX_MESSAGE_BYTES = 4096;
const MAX_REQUEST_BYTES = 256 * 1024;
const TOPIC = "errors";

function recs(n: number, prefix = "m", valueBytes = 10): NewRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    value: `${prefix}${i}:`.padEnd(valueBytes, "."),
    headers: { n: String(i) },
  }));
}

/** Recompute a batch's CRC-32C (bytes 21..end) after editing a field inside it. */
function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)), CRC);
  return batch;
}

function produceReq(topic: string, partitions: { partition: number; records: Buffer | null }[], acks = -1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topics: [
      {
        name: topic,
        partitions: partitions.map((p) => ({ partitionIndex: p.partition, records: p.records })),
      },
    ],
  };
}

function fetchReq(topic: string, partition: number, fetchOffset: number) {
  return consumerFetch(topic, partition, fetchOffset, { maxWaitMs: 0, maxBytes: 1024 * 1024 });
}

describe("error answers (auto.create.topics.enable=false, small message.max.bytes)", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  /** What the topic's partitions hold: checked after every error. */
  const ends = [0, 0];

  async function produceOne(partition: number, batch: Buffer | null, acks = -1, version = 7) {
    const res = await c.request(
      produceCodec,
      version,
      produceReq(TOPIC, [{ partition, records: batch }], acks),
    );
    assert.equal(res.responses.length, 1);
    assert.equal(res.responses[0].partitions.length, 1);
    return res.responses[0].partitions[0];
  }

  /** The same connection still answers, and the log ends where they were (nothing appended). */
  async function assertUnchanged(): Promise<void> {
    for (let p = 0; p < ends.length; p++) {
      const lo = await c.listOffset(TOPIC, p, -1);
      assert.equal(lo.errorCode, 0);
      assert.equal(lo.offset, ends[p], `partition ${p}: log end moved`);
      const f = await c.fetchPartition(TOPIC, p, ends[p]);
      assert.equal(f.errorCode, 0);
      assert.equal(f.highWatermark, ends[p]);
      assert.equal(f.records.length, 0, `partition ${p}: records past the log end`);
    }
    assert.equal(c.closed, false);
  }

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "auto.create.topics.enable": false,
        "message.max.bytes": MAX_MESSAGE_BYTES,
        "socket.request.max.bytes": MAX_REQUEST_BYTES,
      },
    });
    c = await RawClient.tcp(broker.bootstrap);
    const t = await c.createTopic(TOPIC, 2);
    assert.equal(t.errorCode, 0);
    // Some data first, so that "nothing appended" means something.
    for (let p = 0; p < 2; p++) {
      const r = await produceOne(p, encodeBatch(recs(3 + p)));
      assert.equal(r.errorCode, 0);
      assert.equal(r.baseOffset, 0);
      ends[p] = 3 + p;
    }
    await assertUnchanged();
  });

  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  it("MESSAGE_TOO_LARGE (10) above message.max.bytes", async () => {
    const big = encodeBatch(recs(1, "big", MAX_MESSAGE_BYTES));
    assert.ok(big.length > MAX_MESSAGE_BYTES);
    for (const acks of [1, -1]) {
      const r = await produceOne(0, big, acks);
      assert.equal(r.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
      assert.equal(r.baseOffset, -1);
    }
    // Just at the limit is fine.
    let fits = encodeBatch(recs(1, "fit", MAX_MESSAGE_BYTES - 200));
    fits = encodeBatch(recs(1, "fit", MAX_MESSAGE_BYTES - 200 + (MAX_MESSAGE_BYTES - fits.length)));
    assert.equal(fits.length, MAX_MESSAGE_BYTES);
    const ok = await produceOne(1, fits);
    assert.equal(ok.errorCode, 0);
    assert.equal(ok.baseOffset, ends[1]);
    ends[1] += 1;
    await assertUnchanged();
  });

  it("CORRUPT_MESSAGE (2) on a CRC mismatch", async () => {
    const b = encodeBatch(recs(4));
    b[b.length - 1] ^= 0x01; // the last value byte, inside the CRC
    assert.equal((await produceOne(0, b)).errorCode, ErrorCode.CORRUPT_MESSAGE);
    const b2 = encodeBatch(recs(4));
    b2[ATTRIBUTES + 1] ^= 0x08; // a header field covered by the CRC (timestamp type bit)
    assert.equal((await produceOne(1, b2)).errorCode, ErrorCode.CORRUPT_MESSAGE);
    // Shorter than a batch header.
    assert.equal(
      (await produceOne(0, encodeBatch(recs(1)).subarray(0, 40))).errorCode,
      ErrorCode.CORRUPT_MESSAGE,
    );
    await assertUnchanged();
  });

  it("INVALID_RECORD (87): lastOffsetDelta != count-1, two batches, baseOffset != 0", async () => {
    const delta = encodeBatch(recs(5));
    delta.writeInt32BE(5, LAST_OFFSET_DELTA);
    assert.equal((await produceOne(0, fixCrc(delta))).errorCode, ErrorCode.INVALID_RECORD);
    const delta2 = encodeBatch(recs(5));
    delta2.writeInt32BE(2, LAST_OFFSET_DELTA);
    assert.equal((await produceOne(1, fixCrc(delta2))).errorCode, ErrorCode.INVALID_RECORD);

    const two = Buffer.concat([encodeBatch(recs(2, "a")), encodeBatch(recs(3, "b"))]);
    assert.equal((await produceOne(0, two)).errorCode, ErrorCode.INVALID_RECORD);

    const based = encodeBatch(recs(2));
    writeInt64(based, BASE_OFFSET, 17); // outside the CRC: the CRC stays right
    assert.equal((await produceOne(1, based)).errorCode, ErrorCode.INVALID_RECORD);

    // An empty or null record set.
    assert.equal((await produceOne(0, Buffer.alloc(0))).errorCode, ErrorCode.INVALID_RECORD);
    assert.equal((await produceOne(0, null)).errorCode, ErrorCode.INVALID_RECORD);
    await assertUnchanged();
  });

  it("errors are per partition: the good partition of the same request is appended", async () => {
    const bad = encodeBatch(recs(3));
    bad[bad.length - 1] ^= 0x10;
    const res = await c.request(
      produceCodec,
      7,
      produceReq(TOPIC, [
        { partition: 1, records: bad },
        { partition: 0, records: encodeBatch(recs(2, "good")) },
      ]),
    );
    assert.deepEqual(
      res.responses[0].partitions.map((p) => [p.partitionIndex, p.errorCode, p.baseOffset]),
      [
        [1, ErrorCode.CORRUPT_MESSAGE, -1],
        [0, 0, ends[0]],
      ],
    );
    const got = await c.readAll(TOPIC, 0, ends[0]);
    assert.deepEqual(
      got.map((r) => r.key?.toString()),
      ["good0", "good1"],
    );
    ends[0] += 2;
    await assertUnchanged();
  });

  it("INVALID_REQUIRED_ACKS (21) for acks=2", async () => {
    const res = await c.request(
      produceCodec,
      7,
      produceReq(
        TOPIC,
        [
          { partition: 0, records: encodeBatch(recs(2)) },
          { partition: 1, records: encodeBatch(recs(2)) },
        ],
        2,
      ),
    );
    assert.deepEqual(
      res.responses[0].partitions.map((p) => [p.partitionIndex, p.errorCode]),
      [
        [0, ErrorCode.INVALID_REQUIRED_ACKS],
        [1, ErrorCode.INVALID_REQUIRED_ACKS],
      ],
    );
    await assertUnchanged();
  });

  it("UNKNOWN_TOPIC_OR_PARTITION (3) for produce, fetch and metadata without auto-creation", async () => {
    const res = await c.request(
      produceCodec,
      7,
      produceReq("no-such-topic", [{ partition: 0, records: encodeBatch(recs(2)) }]),
    );
    assert.equal(res.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const f = await c.request(fetchCodec, 11, fetchReq("no-such-topic", 0, 0));
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    for (const v of [1, 4, 6]) {
      const md = await c.request(metadataCodec, v, metadataRequest(["no-such-topic"], true));
      assert.equal(md.topics.length, 1);
      assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `metadata v${v}`);
      assert.deepEqual(md.topics[0].partitions, []);
    }
    const all = await c.request(metadataCodec, 6, metadataRequest(null, true));
    assert.deepEqual(
      all.topics.map((t) => t.name),
      [TOPIC],
      "nothing was created",
    );
    const lo = await c.listOffset("no-such-topic", 0);
    assert.equal(lo.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(fs.existsSync(join(broker.logDir, "no-such-topic-0")), false);
    await assertUnchanged();
  });

  it("UNKNOWN_TOPIC_OR_PARTITION (3) for a partition index beyond the topic's count", async () => {
    const res = await c.request(
      produceCodec,
      7,
      produceReq(TOPIC, [
        { partition: 2, records: encodeBatch(recs(2)) },
        { partition: -1, records: encodeBatch(recs(2)) },
      ]),
    );
    assert.deepEqual(
      res.responses[0].partitions.map((p) => p.errorCode),
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    const f = await c.request(fetchCodec, 11, fetchReq(TOPIC, 2, 0));
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await c.listOffset(TOPIC, 7)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await assertUnchanged();
  });

  it("OFFSET_OUT_OF_RANGE (1) below the log start and above the log end", async () => {
    for (const offset of [-1, -5, ends[0] + 1, ends[0] + 1000]) {
      const f = await c.fetchPartition(TOPIC, 0, offset);
      assert.equal(f.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset}`);
      assert.equal(f.records.length, 0);
      assert.equal(f.highWatermark, ends[0]);
      assert.equal(f.logStartOffset, 0);
    }
    // At the log end: empty, no error. Inside: data from the requested offset.
    const atEnd = await c.fetchPartition(TOPIC, 0, ends[0]);
    assert.equal(atEnd.errorCode, 0);
    assert.equal(atEnd.records.length, 0);
    const inside = await c.fetchPartition(TOPIC, 0, 1);
    assert.equal(inside.errorCode, 0);
    const offsets = decodeBatch(fetchRecordsBuffer(inside.records)).map((r) => r.offset);
    assert.ok(offsets.includes(1));
    await assertUnchanged();
  });

  it("UNSUPPORTED_COMPRESSION_TYPE (76) for a snappy-flagged batch", async () => {
    for (const codec of [Compression.SNAPPY, Compression.ZSTD]) {
      const b = encodeBatch(recs(3));
      b.writeInt16BE((b.readInt16BE(ATTRIBUTES) & ~0x07) | codec, ATTRIBUTES);
      fixCrc(b);
      assert.equal(b.readUInt32BE(CRC), crc32c(b.subarray(21)));
      assert.equal(
        (await produceOne(0, b)).errorCode,
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `codec ${codec}`,
      );
    }
    await assertUnchanged();
  });

  it("Produce v0-v2 carrying RecordBatch v2 (not a magic 0/1 message set) get INVALID_RECORD per partition", async () => {
    for (const v of [0, 1, 2]) {
      const res = await c.request(
        produceCodec,
        v,
        produceReq(TOPIC, [
          { partition: 0, records: encodeBatch(recs(2)) },
          { partition: 1, records: encodeBatch(recs(2)) },
        ]),
      );
      assert.deepEqual(
        res.responses[0].partitions.map((p) => [p.partitionIndex, p.errorCode, p.baseOffset]),
        [
          [0, ErrorCode.INVALID_RECORD, -1],
          [1, ErrorCode.INVALID_RECORD, -1],
        ],
        `produce v${v}`,
      );
    }
    await assertUnchanged();
  });

  it("ApiVersions v9 gets error 35 and [{18, 0, 4}] in a v0 body", async () => {
    // v9's body as v3's (Kafka's newer versions keep v3's layout): the broker must not read it.
    const r = await c.requestRaw(ApiKey.ApiVersions, 9, (w) =>
      apiVersionsCodec.encodeRequest(w, 3, { clientSoftwareName: "x", clientSoftwareVersion: "1" }),
    );
    const res = apiVersionsCodec.decodeResponse(r, 0);
    assert.equal(r.remaining, 0, "a v0 body: error, array, nothing more");
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.deepEqual(res.apiKeys, [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }]);
    // And the connection goes on: a supported version is answered normally.
    const ok = await c.apiVersions(3);
    assert.equal(ok.errorCode, 0);
    await assertUnchanged();
  });

  it("acks=0 gets no reply: the next request's reply comes first", async () => {
    const before = c.received.length;
    const id = c.sendOnly(
      produceCodec,
      7,
      produceReq(TOPIC, [{ partition: 0, records: encodeBatch(recs(2, "zero")) }], 0),
    );
    // An invalid acks=0 produce gets no reply either, and appends nothing.
    const bad = encodeBatch(recs(2));
    bad[bad.length - 1] ^= 0xff;
    const id2 = c.sendOnly(produceCodec, 7, produceReq(TOPIC, [{ partition: 1, records: bad }], 0));
    const res = await c.apiVersions(2);
    assert.equal(res.errorCode, 0);
    const replies = c.received.slice(before);
    assert.equal(replies.length, 1);
    assert.ok(!replies.includes(id) && !replies.includes(id2));
    // The acks=0 batch was appended (the writer has it before the next ListOffsets answers,
    // but give it a moment: acks=0 promises nothing).
    let end = 0;
    for (let i = 0; i < 50 && end !== ends[0] + 2; i++) {
      end = (await c.listOffset(TOPIC, 0)).offset;
      if (end !== ends[0] + 2) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(end, ends[0] + 2);
    ends[0] += 2;
    await assertUnchanged();
  });

  it("CreateTopics with replication factor 2 gets INVALID_REPLICATION_FACTOR (38) and a message", async () => {
    const t = await c.createTopic("rf2", 1, 2);
    assert.equal(t.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.ok(t.errorMessage && t.errorMessage.length > 0, "an error message");
    assert.match(t.errorMessage!, /[Rr]eplication factor/);
    assert.equal(fs.existsSync(join(broker.logDir, "rf2-0")), false);
    // Existing topic: TOPIC_ALREADY_EXISTS; bad partition count: INVALID_PARTITIONS.
    assert.equal((await c.createTopic(TOPIC, 2)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal((await c.createTopic("zero-parts", 0)).errorCode, ErrorCode.INVALID_PARTITIONS);
    // v0 has no error message field; the code is still there.
    const v0 = await c.request(createTopicsCodec, 0, {
      topics: [{ name: "rf2", numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(v0.topics[0].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    await assertUnchanged();
  });

  it("DeleteTopics renames the partition dirs away at once, then removes them", async () => {
    assert.equal((await c.createTopic("doomed", 3)).errorCode, 0);
    const r = await c.request(
      produceCodec,
      7,
      produceReq("doomed", [{ partition: 1, records: encodeBatch(recs(3)) }]),
    );
    assert.equal(r.responses[0].partitions[0].errorCode, 0);
    for (let p = 0; p < 3; p++)
      assert.ok(fs.existsSync(join(broker.logDir, `doomed-${p}`)), `doomed-${p} exists`);
    const del = await c.request(deleteTopicsCodec, 1, { topicNames: ["doomed"], timeoutMs: 5000 });
    assert.deepEqual(
      del.responses.map((x) => [x.name, x.errorCode]),
      [["doomed", 0]],
    );
    for (let p = 0; p < 3; p++)
      assert.equal(fs.existsSync(join(broker.logDir, `doomed-${p}`)), false, `doomed-${p} removed`);
    // What is left is Kafka's "<topic>-<p>.<uuid>-delete", removed in the background.
    const left = () => fs.readdirSync(broker.logDir).filter((n) => n.startsWith("doomed"));
    for (const n of left()) assert.match(n, /^doomed-\d\.[0-9a-f]{32}-delete$/);
    for (let i = 0; i < 50 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(left(), []);
    const md = await c.request(metadataCodec, 1, metadataRequest(["doomed"], false));
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const again = await c.request(deleteTopicsCodec, 1, { topicNames: ["doomed"], timeoutMs: 5000 });
    assert.equal(again.responses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await assertUnchanged();
  });

  it("an unknown api key or Fetch v99 closes the connection; new connections are served", async () => {
    for (const [key, version] of [
      [1000, 0],
      [ApiKey.Fetch, 99],
      [ApiKey.Metadata, 0],
      [-1, 0],
    ]) {
      const bad = await RawClient.tcp(broker.bootstrap);
      const reply = bad.requestRaw(key, version, () => {});
      await assert.rejects(reply, /connection closed/, `api ${key} v${version}`);
      assert.equal(bad.closed, true);
      const good = await RawClient.tcp(broker.bootstrap);
      assert.equal((await good.apiVersions()).errorCode, 0);
      good.close();
    }
    await assertUnchanged();
  });

  it("a frame above socket.request.max.bytes closes the connection", async () => {
    const bad = await RawClient.tcp(broker.bootstrap);
    // Only the size prefix: the broker must not wait for (or buffer) the body.
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(MAX_REQUEST_BYTES + 1);
    bad.sendRawBytes(prefix);
    assert.equal(await bad.closesWithin(5000), true);

    // A whole produce request over the limit: closed, and nothing appended.
    const bad2 = await RawClient.tcp(broker.bootstrap);
    const records = encodeBatch(recs(1, "huge", MAX_REQUEST_BYTES));
    const frame = requestFrame(ApiKey.Produce, 7, 1, (w) =>
      produceCodec.encodeRequest(w, 7, produceReq(TOPIC, [{ partition: 0, records }])),
    );
    bad2.sendRawBytes(sizePrefixed(frame));
    assert.equal(await bad2.closesWithin(5000), true);

    // A negative size.
    const bad3 = await RawClient.tcp(broker.bootstrap);
    bad3.sendRawBytes(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
    assert.equal(await bad3.closesWithin(5000), true);

    // Just under the limit is served (MESSAGE_TOO_LARGE, being above message.max.bytes).
    const c2 = await RawClient.tcp(broker.bootstrap);
    const under = encodeBatch(recs(1, "under", MAX_REQUEST_BYTES - 1024));
    const r = await c2.request(produceCodec, 7, produceReq(TOPIC, [{ partition: 0, records: under }]));
    assert.equal(r.responses[0].partitions[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    c2.close();
    await assertUnchanged();
  });

  it("garbage frames close the connection without crashing the broker", async () => {
    const garbage: Buffer[] = [
      Buffer.from([0x00]), // too short for a header
      Buffer.from("0123456789abcdef0123456789", "utf8"), // random header
      // Valid Produce v7 header, body cut short.
      requestFrame(ApiKey.Produce, 7, 5, (w) => w.nullableString(null).int16(1)),
      // Valid Metadata header, array count far beyond the frame.
      requestFrame(ApiKey.Metadata, 4, 6, (w) => w.int32(0x7ffffff0)),
      // Valid Produce header, a topic name with a length past the end.
      requestFrame(ApiKey.Produce, 7, 7, (w) =>
        w.nullableString(null).int16(1).int32(1000).int32(1).int16(3000),
      ),
      // Fetch with a negative partition count and a bogus records length.
      requestFrame(ApiKey.Fetch, 11, 8, (w) =>
        w.int32(-1).int32(0).int32(1).int32(100).int8(0).int32(0).int32(-1).int32(-7),
      ),
      // Client id length past the end.
      Buffer.from([0, 18, 0, 0, 0, 0, 0, 9, 0x7f, 0xff]),
    ];
    for (let i = 0; i < 20; i++) {
      const n = 1 + ((i * 7919) % 300);
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = (j * 31 + i * 17 + ((j * i) >> 3)) & 0xff;
      garbage.push(b);
    }
    for (const [i, g] of garbage.entries()) {
      const bad = await RawClient.tcp(broker.bootstrap);
      bad.sendRawFrame(g);
      // Either closed, or (a frame that happens to decode) still alive: the broker must answer a
      // new connection either way.
      await bad.closesWithin(i < 7 ? 5000 : 200);
      if (i < 7) assert.equal(bad.closed, true, `garbage frame ${i} closes the connection`);
      bad.close();
    }
    assert.equal(broker.exitCode, null, "broker still running");
    const good = await RawClient.tcp(broker.bootstrap);
    assert.equal((await good.apiVersions()).errorCode, 0);
    good.close();
    await assertUnchanged();
  });
});

describe("auto-creation (auto.create.topics.enable=true, num.partitions=3)", () => {
  let broker: BrokerProcess;
  let c: RawClient;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "auto.create.topics.enable": true, "num.partitions": 3 },
    });
    c = await RawClient.tcp(broker.bootstrap);
  });

  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  async function partitionsOf(topic: string): Promise<number[]> {
    const md = await c.request(metadataCodec, 4, metadataRequest([topic], false));
    assert.equal(md.topics[0].errorCode, 0, `${topic} exists`);
    return md.topics[0].partitions.map((p) => p.partitionIndex).sort();
  }

  function assertDirs(topic: string): void {
    for (let p = 0; p < 3; p++)
      assert.ok(fs.existsSync(join(broker.logDir, `${topic}-${p}`)), `${topic}-${p}`);
    assert.equal(fs.existsSync(join(broker.logDir, `${topic}-3`)), false);
  }

  it("Metadata creates an unknown topic with num.partitions partitions", async () => {
    const md = await c.request(metadataCodec, 1, metadataRequest(["auto-md"], true));
    assert.equal(md.topics[0].errorCode, 0);
    assert.equal(md.topics[0].partitions.length, 3);
    assert.deepEqual(await partitionsOf("auto-md"), [0, 1, 2]);
    assertDirs("auto-md");
  });

  it("Metadata v4+ with allow_auto_topic_creation=false does not create", async () => {
    const md = await c.request(metadataCodec, 4, metadataRequest(["auto-not"], false));
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(fs.existsSync(join(broker.logDir, "auto-not-0")), false);
  });

  it("Produce creates an unknown topic and appends", async () => {
    const res = await c.request(
      produceCodec,
      7,
      produceReq("auto-produce", [{ partition: 2, records: encodeBatch(recs(4)) }]),
    );
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
    assert.equal(res.responses[0].partitions[0].baseOffset, 0);
    assert.deepEqual(await partitionsOf("auto-produce"), [0, 1, 2]);
    assertDirs("auto-produce");
    assert.equal((await c.listOffset("auto-produce", 2)).offset, 4);
    assert.equal((await c.listOffset("auto-produce", 0)).offset, 0);
  });

  it("Fetch creates an unknown topic", async () => {
    const f = await c.request(fetchCodec, 11, fetchReq("auto-fetch", 0, 0));
    assert.equal(f.responses[0].partitions[0].errorCode, 0);
    assert.equal(f.responses[0].partitions[0].highWatermark, 0);
    assert.deepEqual(await partitionsOf("auto-fetch"), [0, 1, 2]);
    assertDirs("auto-fetch");
  });

  it("concurrent first uses create the topic once", async () => {
    const results = await Promise.all([
      c.request(metadataCodec, 1, metadataRequest(["auto-race"], true)),
      c.request(produceCodec, 7, produceReq("auto-race", [{ partition: 0, records: encodeBatch(recs(1)) }])),
      c.request(fetchCodec, 11, fetchReq("auto-race", 1, 0)),
    ]);
    assert.equal(results[0].topics[0].errorCode, 0);
    assert.equal(results[1].responses[0].partitions[0].errorCode, 0);
    assert.equal(results[2].responses[0].partitions[0].errorCode, 0);
    assert.deepEqual(await partitionsOf("auto-race"), [0, 1, 2]);
  });

  it("a produce racing a CreateTopics of the same topic waits for it", async () => {
    const [created, produced, again] = await Promise.all([
      c.createTopic("race-create", 5),
      c.request(
        produceCodec,
        7,
        produceReq("race-create", [{ partition: 4, records: encodeBatch(recs(2)) }]),
      ),
      c.createTopic("race-create", 5),
    ]);
    assert.equal(created.errorCode, 0);
    assert.equal(produced.responses[0].partitions[0].errorCode, 0, "partition 4 of the created topic");
    assert.equal(again.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.deepEqual(await partitionsOf("race-create"), [0, 1, 2, 3, 4]);
  });

  it("an invalid topic name is not created", async () => {
    const md = await c.request(metadataCodec, 1, metadataRequest(["bad/name"], true));
    assert.equal(md.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.deepEqual(
      fs.readdirSync(broker.logDir).filter((n) => n.startsWith("bad")),
      [],
    );
  });
});
