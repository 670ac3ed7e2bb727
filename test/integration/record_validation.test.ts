// The writer's record walk through the real broker: hand-made batches whose header and CRC-32C
// are right but whose records are not (garbage, a count of 1,000 over one record, a codec flag
// on plain bytes, offsets out of order, a null header key, trailing bytes, zip bombs) are each
// answered with Kafka's error code in the Produce response, and nothing is appended: ListOffsets
// latest and the segment file stay as they were. Then valid batches (none, gzip, lz4) are
// appended and kcat (librdkafka) reads every record back from the beginning.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync } from "lz4-napi";
import { ErrorCode, errorName } from "../../src/protocol/error_codes.ts";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import {
  ATTRIBUTES,
  Compression,
  CRC,
  LAST_OFFSET_DELTA,
  RECORD_COUNT,
  RECORDS,
} from "../../src/protocol/record_batch.ts";
import { encodeBatch, type NewRecord } from "../../src/protocol/records.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

registerLz4();

const KCAT = "/usr/bin/kcat";
const TOPIC = "record-validation";

function fixCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

/** A batch around a records section (header as encodeBatch writes it), CRC right. */
function batchOf(section: Buffer, count: number, codec: number = Compression.NONE): Buffer {
  const b = Buffer.alloc(RECORDS + section.length);
  encodeBatch([{ value: "x" }], codec).copy(b, 0, 0, RECORDS);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(count - 1, LAST_OFFSET_DELTA);
  b.writeInt32BE(count, RECORD_COUNT);
  section.copy(b, RECORDS);
  return fixCrc(b);
}

function withCodecFlag(b: Buffer, codec: number): Buffer {
  b.writeInt16BE((b.readInt16BE(ATTRIBUTES) & ~0x07) | codec, ATTRIBUTES);
  return fixCrc(b);
}

/** Zigzag varint bytes. */
function v(n: number): number[] {
  let u = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  for (; u >= 0x80; u >>>= 7) out.push((u & 0x7f) | 0x80);
  out.push(u);
  return out;
}

/** One record: attributes 0, timestampDelta 0, the given offset delta, key, value, header bytes. */
function record(offsetDelta: number, key: string, value: string, headers: number[] = v(0)): Buffer {
  const body = Buffer.from([
    0,
    ...v(0),
    ...v(offsetDelta),
    ...v(key.length),
    ...Buffer.from(key),
    ...v(value.length),
    ...Buffer.from(value),
    ...headers,
  ]);
  return Buffer.concat([Buffer.from(v(body.length)), body]);
}

const recs = (n: number, prefix: string): NewRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}-k${i}`, value: `${prefix} value ${i}` }));

describe("record validation on the writer threads (real broker, raw Produce v7)", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  let end = 0;
  let segment = "";

  async function produce(batch: Buffer) {
    const res = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, records: batch }] }],
    });
    return res.responses[0].partitions[0];
  }

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic(TOPIC, 1)).errorCode, 0);
    const first = encodeBatch(recs(3, "first"));
    const r = await produce(first);
    assert.equal(r.errorCode, 0);
    end = 3;
    segment = join(broker.logDir, `${TOPIC}-0`, "00000000000000000000.log");
    assert.equal(fs.statSync(segment).size, first.length);
  });

  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  const ok0 = record(0, "k0", "v0");
  const ok1 = record(1, "k1", "v1");
  const zeros = Buffer.alloc(65 << 20); // past the writer's 64 MiB decompression limit
  const cases: [string, () => Buffer, number][] = [
    [
      "a valid CRC over garbage records",
      () => batchOf(Buffer.from("garbage, not records: the CRC is right but nothing parses"), 2),
      ErrorCode.INVALID_RECORD,
    ],
    [
      "recordCount 1,000 with one record inside",
      () => {
        const b = encodeBatch([{ key: "k", value: "v" }]);
        b.writeInt32BE(1000, RECORD_COUNT);
        b.writeInt32BE(999, LAST_OFFSET_DELTA);
        return fixCrc(b);
      },
      ErrorCode.INVALID_RECORD,
    ],
    [
      "the gzip flag on plain bytes",
      () => withCodecFlag(encodeBatch(recs(5, "g")), Compression.GZIP),
      ErrorCode.CORRUPT_MESSAGE,
    ],
    [
      "the lz4 flag on plain bytes",
      () => withCodecFlag(encodeBatch(recs(5, "l")), Compression.LZ4),
      ErrorCode.CORRUPT_MESSAGE,
    ],
    ["offset deltas out of order", () => batchOf(Buffer.concat([ok1, ok0]), 2), ErrorCode.INVALID_RECORD],
    [
      "a null header key",
      () => batchOf(record(0, "k", "v", [...v(1), ...v(-1), ...v(1), 0x78]), 1),
      ErrorCode.INVALID_RECORD,
    ],
    [
      "trailing bytes after the last record",
      () => batchOf(Buffer.concat([ok0, ok1, Buffer.from([0, 0])]), 2),
      ErrorCode.INVALID_RECORD,
    ],
    [
      "gzip records that decode to garbage",
      () => batchOf(gzipSync(Buffer.alloc(50, 0xff)), 1, Compression.GZIP),
      ErrorCode.INVALID_RECORD,
    ],
    [
      "a gzip zip bomb (65 MiB of zeros in ~64 KB)",
      () => batchOf(gzipSync(zeros), 1, Compression.GZIP),
      ErrorCode.MESSAGE_TOO_LARGE,
    ],
    [
      "an lz4 zip bomb (65 MiB of zeros in ~260 KB)",
      () => batchOf(compressFrameSync(zeros), 1, Compression.LZ4),
      ErrorCode.MESSAGE_TOO_LARGE,
    ],
  ];

  for (const [name, make, code] of cases) {
    it(`${errorName(code)} (${code}): ${name}; nothing appended`, async () => {
      const batch = make();
      assert.ok(batch.length < 1_000_000, "within message.max.bytes: only the writer's walk can refuse it");
      const r = await produce(batch);
      assert.equal(errorName(r.errorCode), errorName(code));
      const lo = await c.listOffset(TOPIC, 0, -1);
      assert.equal(lo.errorCode, 0);
      assert.equal(lo.offset, end, "log end unchanged");
      assert.equal(fs.statSync(segment).size, encodeBatch(recs(3, "first")).length, "segment unchanged");
    });
  }

  it("then valid batches (none, gzip, lz4) are appended and kcat reads every record back", async () => {
    const expected = recs(3, "first");
    for (const [prefix, codec] of [
      ["none", Compression.NONE],
      ["gzip", Compression.GZIP],
      ["lz4", Compression.LZ4],
    ] as const) {
      const rs = recs(50, prefix);
      const r = await produce(encodeBatch(rs, codec));
      assert.equal(r.errorCode, 0, `${prefix}: ${errorName(r.errorCode)}`);
      assert.equal(r.baseOffset, end);
      end += rs.length;
      expected.push(...rs);
    }
    assert.equal((await c.listOffset(TOPIC, 0, -1)).offset, end);
    const out = await run(
      KCAT,
      [
        "-C",
        "-b",
        broker.bootstrap,
        "-t",
        TOPIC,
        "-o",
        "beginning",
        "-e",
        "-q",
        "-X",
        "fetch.wait.max.ms=50",
        "-f",
        "%o\t%k\t%s\n",
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split("\n").filter((l) => l !== "");
    assert.deepEqual(
      lines,
      expected.map((rec, i) => `${i}\t${rec.key}\t${rec.value}`),
    );
  });
});
