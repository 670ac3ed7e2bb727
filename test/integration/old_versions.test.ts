// Old request versions that common clients still send (issue 9), answered field by field:
// Metadata v0 (kafka-python's version probe, sarama's ListTopics: an empty list means every
// topic, and no rack, controller or is_internal in the answer) and ListOffsets v0 (Burrow's lag
// checks: max_num_offsets in the request, a list of offsets in the answer), OffsetCommit v0 and
// v1 (sarama's default; v1 carries a per-partition commit_timestamp) and OffsetFetch v0; Produce
// v0/v2 with message sets of magic 0/1 (stored as RecordBatch v2) and Fetch v0/v2, which answer
// message sets converted down from the stored batches (sarama with Version 0.10, kafka-go).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { crc32, gzipSync } from "node:zlib";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { fetchCodec, fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Reader as ByteReader, type Reader } from "../../src/protocol/reader.ts";
import { decodeBatch, encodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

describe("old versions", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic("old-a", 2)).errorCode, 0);
    const res = await c.request(produceCodec, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "old-a",
          partitions: [
            {
              partitionIndex: 1,
              records: encodeBatch([
                { key: null, value: "x" },
                { key: null, value: "y" },
              ]),
            },
          ],
        },
      ],
    });
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  /** A v0 Metadata answer read by hand, as a v0 client reads it. */
  function readMetadataV0(r: Reader) {
    const brokers = [];
    for (let i = r.int32(); i > 0; i--)
      brokers.push({ nodeId: r.int32(), host: r.string(), port: r.int32() });
    const topics = [];
    for (let i = r.int32(); i > 0; i--) {
      const errorCode = r.int16();
      const name = r.string();
      const partitions = [];
      for (let j = r.int32(); j > 0; j--) {
        const p = {
          errorCode: r.int16(),
          partition: r.int32(),
          leader: r.int32(),
          replicas: [] as number[],
          isr: [] as number[],
        };
        for (let k = r.int32(); k > 0; k--) p.replicas.push(r.int32());
        for (let k = r.int32(); k > 0; k--) p.isr.push(r.int32());
        partitions.push(p);
      }
      topics.push({ errorCode, name, partitions });
    }
    assert.equal(r.remaining, 0, "nothing after the v0 answer");
    return { brokers, topics };
  }

  it("Metadata v0: an empty list is every topic; a named one; an unknown one", async () => {
    const all = readMetadataV0(await c.requestRaw(3, 0, (w) => w.int32(0)));
    assert.equal(all.brokers.length, 1);
    assert.equal(all.brokers[0].port, Number(broker.bootstrap.split(":")[1]));
    const a = all.topics.find((t) => t.name === "old-a");
    assert.ok(a, JSON.stringify(all.topics.map((t) => t.name)));
    assert.deepEqual(
      a.partitions.map((p) => [p.errorCode, p.partition, p.leader, p.replicas, p.isr]),
      [
        [0, 0, all.brokers[0].nodeId, [all.brokers[0].nodeId], [all.brokers[0].nodeId]],
        [0, 1, all.brokers[0].nodeId, [all.brokers[0].nodeId], [all.brokers[0].nodeId]],
      ],
    );
    const named = readMetadataV0(await c.requestRaw(3, 0, (w) => w.int32(2).string("old-a").string("nope")));
    assert.deepEqual(
      named.topics.map((t) => [t.name, t.errorCode, t.partitions.length]),
      [
        ["old-a", 0, 2],
        ["nope", 3, 0],
      ],
    );
  });

  it("ListOffsets v0: latest, earliest, by timestamp, and an unknown partition", async () => {
    const r = await c.requestRaw(2, 0, (w) => {
      w.int32(-1).int32(1).string("old-a").int32(4);
      for (const [p, ts] of [
        [1, -1],
        [1, -2],
        [1, 0],
        [9, -1],
      ])
        w.int32(p).int64(ts).int32(10);
    });
    assert.equal(r.int32(), 1);
    assert.equal(r.string(), "old-a");
    const answers = [];
    for (let i = r.int32(); i > 0; i--) {
      const partition = r.int32();
      const errorCode = r.int16();
      const offsets = [];
      for (let j = r.int32(); j > 0; j--) offsets.push(r.int64());
      answers.push([partition, errorCode, offsets]);
    }
    assert.equal(r.remaining, 0);
    assert.deepEqual(answers, [
      [1, 0, [2]],
      [1, 0, [0]],
      [1, 0, [0]],
      [9, 3, []],
    ]);
  });

  /** An OffsetCommit v0-1 / OffsetFetch v0 answer: topics => name [partition error ...]. */
  function readTopics(r: Reader, partition: (r: Reader) => unknown[]) {
    const out = [];
    for (let i = r.int32(); i > 0; i--) {
      const name = r.string();
      const parts = [];
      for (let j = r.int32(); j > 0; j--) parts.push(partition(r));
      out.push([name, parts]);
    }
    assert.equal(r.remaining, 0);
    return out;
  }

  it("OffsetCommit v0 and v1 commit outside any generation; OffsetFetch v0 reads them back", async () => {
    const v0 = await c.requestRaw(8, 0, (w) => {
      w.string("old-group").int32(1).string("old-a").int32(1);
      w.int32(0).int64(17).string("meta-0");
    });
    assert.deepEqual(
      readTopics(v0, (r) => [r.int32(), r.int16()]),
      [["old-a", [[0, 0]]]],
    );
    const v1 = await c.requestRaw(8, 1, (w) => {
      w.string("old-group").int32(-1).string("").int32(1).string("old-a").int32(1);
      w.int32(1).int64(2).int64(-1).nullableString(null);
    });
    assert.deepEqual(
      readTopics(v1, (r) => [r.int32(), r.int16()]),
      [["old-a", [[1, 0]]]],
    );
    const fetched = await c.requestRaw(9, 0, (w) => {
      w.string("old-group").int32(1).string("old-a").int32(3).int32(0).int32(1).int32(9);
    });
    assert.deepEqual(
      readTopics(fetched, (r) => [r.int32(), r.int64(), r.nullableString(), r.int16()]),
      [
        [
          "old-a",
          [
            [0, 17, "meta-0", 0],
            // No metadata is "" in Kafka's answers (OffsetFetchResponse.NO_METADATA).
            [1, 2, "", 0],
            [9, -1, "", 0],
          ],
        ],
      ],
    );
  });

  /** A legacy message (LegacyRecord.java), built here independently of the broker's codec. */
  function legacyMessage(
    magic: 0 | 1,
    offset: number,
    ts: number,
    key: string | null,
    value: string,
  ): Buffer {
    const k = key === null ? null : Buffer.from(key);
    const v = Buffer.from(value);
    const body = Buffer.alloc(1 + 1 + (magic === 1 ? 8 : 0) + 4 + (k?.length ?? 0) + 4 + v.length);
    let at = body.writeInt8(magic, 0);
    at = body.writeInt8(0, at); // attributes: no compression, CreateTime
    if (magic === 1) at = body.writeBigInt64BE(BigInt(ts), at);
    at = body.writeInt32BE(k === null ? -1 : k.length, at);
    if (k !== null) at += k.copy(body, at);
    at = body.writeInt32BE(v.length, at);
    v.copy(body, at);
    const head = Buffer.alloc(16);
    head.writeBigInt64BE(BigInt(offset), 0);
    head.writeInt32BE(4 + body.length, 8);
    head.writeUInt32BE(crc32(body), 12);
    return Buffer.concat([head, body]);
  }

  /** A message set read back by hand: [offset, magic, timestamp, key, value] per message. */
  function readMessageSet(set: Uint8Array) {
    const r = new ByteReader(set);
    const out = [];
    while (r.remaining >= 12) {
      const offset = r.int64();
      const size = r.int32();
      if (size > r.remaining) break; // a partial message at the end is the consumer's to drop
      const crc = r.uint32();
      const start = r.offset;
      const magic = r.int8();
      r.int8();
      const timestamp = magic === 1 ? r.int64() : null;
      const key = r.nullableBytes();
      const value = r.nullableBytes();
      assert.equal(crc32(set.subarray(start, r.offset)), crc, `message ${offset}: CRC`);
      out.push([
        offset,
        magic,
        timestamp,
        key && Buffer.from(key).toString(),
        value && Buffer.from(value).toString(),
      ]);
    }
    return out;
  }

  /** Produce v0-2 by hand: one partition; the answer's [errorCode, baseOffset]. */
  async function produceOld(version: 0 | 2, partition: number, set: Buffer): Promise<number[]> {
    const r = await c.requestRaw(0, version, (w) => {
      w.int16(-1).int32(5000).int32(1).string("old-msgs").int32(1).int32(partition).bytes(set);
    });
    assert.equal(r.int32(), 1);
    assert.equal(r.string(), "old-msgs");
    assert.equal(r.int32(), 1);
    assert.equal(r.int32(), partition);
    const answer = [r.int16(), r.int64()];
    if (version >= 2) assert.equal(r.int64(), -1, "log_append_time: CreateTime topic");
    if (version >= 1) assert.equal(r.int32(), 0, "throttle");
    assert.equal(r.remaining, 0);
    return answer;
  }

  /** Fetch v0-3 by hand: one partition; [errorCode, highWatermark, message set]. */
  async function fetchOld(version: 0 | 2, partition: number, offset: number) {
    const r = await c.requestRaw(1, version, (w) => {
      w.int32(-1).int32(100).int32(1).int32(1).string("old-msgs").int32(1);
      w.int32(partition)
        .int64(offset)
        .int32(1 << 20);
    });
    if (version >= 1) assert.equal(r.int32(), 0, "throttle");
    assert.equal(r.int32(), 1);
    assert.equal(r.string(), "old-msgs");
    assert.equal(r.int32(), 1);
    assert.equal(r.int32(), partition);
    const errorCode = r.int16();
    const highWatermark = r.int64();
    const set = r.bytes();
    assert.equal(r.remaining, 0);
    return { errorCode, highWatermark, messages: readMessageSet(set) };
  }

  it("Produce v2 (magic 1) and v0 (magic 0) are stored as RecordBatch v2; Fetch v2 and v0 read them as message sets", async () => {
    assert.equal((await c.createTopic("old-msgs", 2)).errorCode, 0);
    const t0 = 1_700_000_000_000;
    // sarama (Version 0.10) numbers a set's offsets from 0; the broker assigns the real ones.
    const v1set = Buffer.concat([
      legacyMessage(1, 0, t0, "k1", "one"),
      legacyMessage(1, 1, t0 + 1, null, "two"),
      legacyMessage(1, 2, t0 + 2, "k3", "three"),
    ]);
    assert.deepEqual(await produceOld(2, 0, v1set), [0, 0]);
    assert.deepEqual(await produceOld(2, 0, legacyMessage(1, 0, t0 + 3, "k4", "four")), [0, 3]);
    assert.deepEqual(await produceOld(0, 1, legacyMessage(0, 0, 0, "z", "magic zero")), [0, 0]);

    // A v4+ consumer reads RecordBatch v2, the records as sent.
    const f = await c.request(fetchCodec, 11, {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: "old-msgs",
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    });
    const stored = splitBatches(fetchRecordsBuffer(f.responses[0].partitions[0].records)).flatMap((b) =>
      decodeBatch(b),
    );
    assert.deepEqual(
      stored.map((x) => [x.offset, x.timestamp, x.key?.toString() ?? null, x.value?.toString()]),
      [
        [0, t0, "k1", "one"],
        [1, t0 + 1, null, "two"],
        [2, t0 + 2, "k3", "three"],
        [3, t0 + 3, "k4", "four"],
      ],
    );

    // Fetch v2 reads magic 1 (timestamps kept), v0 magic 0 (none), from the offset asked.
    const v2 = await fetchOld(2, 0, 1);
    assert.equal(v2.errorCode, 0);
    assert.equal(v2.highWatermark, 4);
    assert.deepEqual(v2.messages, [
      [1, 1, t0 + 1, null, "two"],
      [2, 1, t0 + 2, "k3", "three"],
      [3, 1, t0 + 3, "k4", "four"],
    ]);
    const v0 = await fetchOld(0, 0, 0);
    assert.deepEqual(
      v0.messages.map((m) => [m[0], m[1], m[3], m[4]]),
      [
        [0, 0, "k1", "one"],
        [1, 0, null, "two"],
        [2, 0, "k3", "three"],
        [3, 0, "k4", "four"],
      ],
    );
    // A magic-0 message has no timestamp: stored with -1 (Kafka's NO_TIMESTAMP), read back by v2 as -1.
    assert.deepEqual((await fetchOld(2, 1, 0)).messages, [[0, 1, -1, "z", "magic zero"]]);
  });

  it("Produce v2 refuses a message set with a bad CRC (CORRUPT_MESSAGE) and stores nothing", async () => {
    const bad = legacyMessage(1, 0, 1, "k", "v");
    bad[bad.length - 1] ^= 0xff;
    const before = (await fetchOld(2, 1, 0)).highWatermark;
    assert.deepEqual(await produceOld(2, 1, bad), [2, -1]);
    assert.equal((await fetchOld(2, 1, 0)).highWatermark, before);
  });

  /** A magic-0 gzip wrapper (attributes codec 1) around one message of `zeros` zero bytes. */
  function gzipBomb(zeros: number): Buffer {
    // the inner message, with a value of `zeros` bytes (legacyMessage takes strings)
    const value = Buffer.alloc(zeros);
    const body = Buffer.alloc(1 + 1 + 4 + 4 + value.length);
    body.writeInt8(0, 0);
    body.writeInt8(0, 1);
    body.writeInt32BE(-1, 2);
    body.writeInt32BE(value.length, 6);
    value.copy(body, 10);
    const head = Buffer.alloc(16);
    head.writeInt32BE(4 + body.length, 8);
    head.writeUInt32BE(crc32(body), 12);
    const set = Buffer.concat([head, body]);
    const compressed = gzipSync(set);
    const wbody = Buffer.alloc(2 + 4 + 4 + compressed.length);
    wbody.writeInt8(0, 0);
    wbody.writeInt8(1, 1); // gzip
    wbody.writeInt32BE(-1, 2);
    wbody.writeInt32BE(compressed.length, 6);
    compressed.copy(wbody, 10);
    const whead = Buffer.alloc(16);
    whead.writeInt32BE(4 + wbody.length, 8);
    whead.writeUInt32BE(crc32(wbody), 12);
    return Buffer.concat([whead, wbody]);
  }

  it("Produce v2: a partition named twice is written once; the sets decompress within a per-request bound and stay compressed on disk", async () => {
    assert.equal((await c.createTopic("old-bombs", 80)).errorCode, 0);
    const bomb = gzipBomb(990_000);
    // The same partition 50 times: the first is stored, the repeats answer INVALID_REQUEST.
    const r = await c.requestRaw(0, 2, (w) => {
      w.int16(-1).int32(5000).int32(1).string("old-bombs").int32(50);
      for (let i = 0; i < 50; i++) w.int32(0).bytes(bomb);
    });
    r.int32();
    r.string();
    const codes = [];
    for (let i = r.int32(); i > 0; i--) {
      r.int32();
      codes.push(r.int16());
      r.int64();
      r.int64();
    }
    assert.deepEqual(codes, [0, ...new Array(49).fill(ErrorCode.INVALID_REQUEST)]);
    // 80 partitions of one bomb each: past 64 MiB decompressed in one request, MESSAGE_TOO_LARGE.
    const r2 = await c.requestRaw(0, 2, (w) => {
      w.int16(-1).int32(5000).int32(1).string("old-bombs").int32(80);
      for (let p = 0; p < 80; p++) w.int32(p).bytes(bomb);
    });
    r2.int32();
    r2.string();
    const codes2 = [];
    for (let i = r2.int32(); i > 0; i--) {
      r2.int32();
      codes2.push(r2.int16());
      r2.int64();
      r2.int64();
    }
    const stored = codes2.filter((x) => x === 0).length;
    assert.ok(stored >= 60 && stored <= 68, `${stored} of 80 stored within the 64 MiB bound`);
    assert.ok(
      codes2.slice(stored).every((x) => x === ErrorCode.MESSAGE_TOO_LARGE),
      JSON.stringify(codes2),
    );
    // On disk they stay gzip-compressed (as Kafka's up-conversion stores them): kilobytes, not ~1 MB each.
    let bytes = 0;
    for (const name of fs.readdirSync(broker.logDir).filter((n) => n.startsWith("old-bombs-")))
      for (const f of fs.readdirSync(join(broker.logDir, name)))
        if (f.endsWith(".log")) bytes += fs.statSync(join(broker.logDir, name, f)).size;
    assert.ok(bytes < 2_000_000, `${bytes} bytes on disk for ${stored + 1} batches of 990,000 zeros`);
  });

  it("Produce v0-2 with an empty message set appends nothing and answers NONE (Kafka's answer)", async () => {
    const r = await c.requestRaw(0, 2, (w) => {
      w.int16(-1).int32(5000).int32(1).string("old-msgs").int32(1).int32(0).bytes(Buffer.alloc(0));
    });
    r.int32();
    r.string();
    r.int32();
    r.int32();
    assert.deepEqual([r.int16(), r.int64()], [0, -1]);
  });
});
