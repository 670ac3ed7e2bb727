// The writer's record walk (src/protocol/record_validation.ts, called by checkProducedBatch):
// batches from Milena's encoders and from kafkajs's pass, uncompressed, gzip and lz4; each kind of
// corruption is refused with Kafka's code. Corrupt batches are built byte by byte (records
// section, then a header with a correct CRC-32C), so that only the record walk can catch them.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { BatchBuilder, headersSize } from "../../src/client/batch.ts";
import { lz4CompressFrame, xxh32 } from "../../src/client/lz4.ts";
import { nodePlatform } from "../../src/client/node.ts";
import { ErrorCode, errorName } from "../../src/protocol/error_codes.ts";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import {
  ATTRIBUTES,
  Compression,
  CRC,
  checkBatchHeader,
  checkProducedBatch,
  LAST_OFFSET_DELTA,
  RECORD_COUNT,
  RECORDS,
} from "../../src/protocol/record_batch.ts";
import { decodeLz4Frame, validateRecords, walkRecords } from "../../src/protocol/record_validation.ts";
import { decodeBatch, encodeBatch, type NewRecord } from "../../src/protocol/records.ts";

registerLz4();

const MAX = 1_000_000;
const { NONE, GZIP, LZ4 } = Compression;

// ---- building blocks ----

/** Zigzag varint bytes of n (as Kafka's ByteUtils.writeVarint). */
function v(n: number): number[] {
  let u = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80);
    u >>>= 7;
  }
  out.push(u);
  return out;
}

type Part = number | number[] | string | Buffer;

function bytes(...parts: Part[]): Buffer {
  return Buffer.concat(
    parts.map((p) =>
      typeof p === "number" ? Buffer.from([p]) : typeof p === "string" ? Buffer.from(p) : Buffer.from(p),
    ),
  );
}

/** Record body fields: attributes, timestampDelta 0, offsetDelta, key, value, headers. */
function body(
  offsetDelta: number,
  key: string | null,
  value: string | null,
  headers: Part[] = [v(0)],
): Buffer {
  return bytes(
    0,
    v(0),
    v(offsetDelta),
    key === null ? v(-1) : bytes(v(key.length), key),
    value === null ? v(-1) : bytes(v(value.length), value),
    ...headers,
  );
}

/** A record: its body with a length prefix (the body's length, unless told otherwise). */
function rec(b: Buffer, length = b.length): Buffer {
  return bytes(v(length), b);
}

/** A complete batch around a records section, CRC right: only the record walk can object. */
function batchOf(section: Buffer, count: number, codec: number = NONE): Buffer {
  const b = Buffer.alloc(RECORDS + section.length);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(-1, 12);
  b[16] = 2;
  b.writeInt16BE(codec, ATTRIBUTES);
  b.writeInt32BE(count - 1, LAST_OFFSET_DELTA);
  b.writeInt32BE(-1, 43); // producerId -1 (both halves)
  b.writeInt32BE(-1, 47);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(count, RECORD_COUNT);
  section.copy(b, RECORDS);
  return fixCrc(b);
}

function fixCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

/** The batch with its codec bits set to `codec` (records left as they are), CRC recomputed. */
function flagged(b: Buffer, codec: number): Buffer {
  const c = Buffer.from(b);
  c.writeInt16BE((c.readInt16BE(ATTRIBUTES) & ~0x07) | codec, ATTRIBUTES);
  return fixCrc(c);
}

function expectOk(b: Buffer, label = ""): void {
  const r = checkProducedBatch(b, MAX);
  assert.equal(r.error, ErrorCode.NONE, `${label}: ${r.message}`);
}

function expectRefused(b: Buffer, code: number, pattern: RegExp): void {
  assert.equal(checkBatchHeader(b, MAX).error, ErrorCode.NONE, "the header alone is fine");
  const r = checkProducedBatch(b, MAX);
  assert.equal(errorName(r.error), errorName(code), r.message);
  assert.match(r.message, pattern);
}

const varied: NewRecord[] = [
  { key: "k0", value: "v0", headers: { h: "x", empty: "" } },
  { key: null, value: "null key" },
  { key: "null value", value: null },
  { key: null, value: null, headers: [{ key: "null header value", value: null }] },
  { key: "", value: "" },
  { key: "big", value: "x".repeat(20_000), headers: { ключ: "значение" } }, // 3-byte lengths
];
const many: NewRecord[] = Array.from({ length: 5_000 }, (_, i) => ({
  key: i % 3 === 0 ? null : `key-${i}`,
  value: `value-${i}`.padEnd(100, "."),
  headers: i % 7 === 0 ? { n: String(i) } : undefined,
  timestamp: 1_700_000_000_000 + i * 1_000_003, // multi-byte timestamp deltas
}));

describe("record walk: valid batches pass", () => {
  for (const [name, codec] of [
    ["none", NONE],
    ["gzip", GZIP],
    ["lz4", LZ4],
  ] as const) {
    it(`encodeBatch, ${name}: keys, null keys and values, headers, 20 KB values, 5,000 records`, () => {
      expectOk(encodeBatch(varied, codec), "varied");
      expectOk(encodeBatch(many, codec), "many");
      expectOk(encodeBatch([{ value: "one" }], codec), "one");
    });
  }

  it("the client's BatchBuilder, uncompressed and with its TypeScript LZ4 (64 KiB blocks)", () => {
    const platform = nodePlatform();
    const builder = new BatchBuilder(platform, 1 << 20);
    for (let i = 0; i < 3_000; i++) {
      const value = Buffer.from(`value ${i}`.padEnd(100, "-"));
      const headers = i % 2 === 0 ? { trace: `t${i}` } : undefined;
      const key = i % 5 === 0 ? null : `k${i}`;
      const keyLen = key === null ? -1 : key.length;
      const hdr = headersSize(platform, headers);
      builder.append(
        builder.bodySize(1_700_000_000_000 + i, keyLen, 100, hdr),
        1_700_000_000_000 + i,
        key,
        keyLen,
        value,
        100,
        headers,
      );
    }
    expectOk(Buffer.from(builder.finish(0, null) as Uint8Array), "builder, none");
    expectOk(Buffer.from(builder.finish(LZ4, lz4CompressFrame) as Uint8Array), "builder, TS lz4");
  });

  it("kafkajs 2.2.4's RecordBatch encoder, uncompressed and gzip", async () => {
    const require = createRequire(import.meta.url);
    const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0");
    const Record = require("kafkajs/src/protocol/recordBatch/record/v0");
    const { Types } = require("kafkajs/src/protocol/message/compression");
    const Long = require("kafkajs/src/utils/long");
    const records = Array.from({ length: 300 }, (_, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: i * 10,
        key: i % 2 ? Buffer.from(`k${i}`) : null,
        value: Buffer.from(`v${i}`.repeat(20)),
        headers: i % 3 ? { a: Buffer.from("b") } : {},
      }),
    );
    for (const compression of [Types.None, Types.GZIP]) {
      const enc = await RecordBatch({
        compression,
        records,
        firstTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_003_000,
        producerId: Long.fromValue(-1),
        lastOffsetDelta: records.length - 1,
      });
      expectOk(Buffer.from(enc.buffer), `kafkajs codec ${compression}`);
    }
  });

  it("hand-made: non-minimal 5-byte varints and a 10-byte varlong are accepted (as Kafka reads them)", () => {
    const b = bytes(
      0,
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
      v(0),
      v(-1),
      v(1),
      "v",
      v(0),
    );
    // length 16 written in 5 bytes (0x20 = zigzag 16)
    assert.equal(b.length, 16);
    expectOk(batchOf(bytes([0xa0, 0x80, 0x80, 0x80, 0x00], b), 1));
  });

  it("compacted topics: keyed records pass, a null key is refused", () => {
    const keyed = encodeBatch([{ key: "a", value: "1" }]);
    assert.equal(checkProducedBatch(keyed, MAX, { compacted: true }).error, ErrorCode.NONE);
    const r = checkProducedBatch(encodeBatch([{ key: "a", value: "1" }, { value: "2" }]), MAX, {
      compacted: true,
    });
    assert.equal(r.error, ErrorCode.INVALID_RECORD);
    assert.match(r.message, /record 1: a compacted topic cannot accept a record without a key/);
  });

  it("the walk on the fetched side agrees: decodeBatch reads what the walk accepts", () => {
    const b = encodeBatch(varied);
    expectOk(b);
    assert.equal(decodeBatch(b).length, varied.length);
  });
});

describe("record walk: corruptions are refused (CRC right, header right)", () => {
  const ok0 = rec(body(0, "k", "v"));
  const ok1 = rec(body(1, null, "w"));

  it("the hand-made baseline passes", () => {
    expectOk(batchOf(bytes(ok0, ok1), 2));
  });

  it("INVALID_RECORD: a valid CRC over garbage records", () => {
    const garbage = Buffer.from("this is not a record batch, only text that fills the records section");
    expectRefused(batchOf(garbage, 1), ErrorCode.INVALID_RECORD, /record 0/);
    expectRefused(batchOf(Buffer.alloc(64, 0xff), 3), ErrorCode.INVALID_RECORD, /longer than 5 bytes/);
    // The records of a real batch replaced by as many zero bytes.
    const real = encodeBatch([
      { key: "a", value: "b" },
      { key: "c", value: "d" },
    ]);
    real.fill(0, RECORDS);
    expectRefused(fixCrc(real), ErrorCode.INVALID_RECORD, /record 0/);
  });

  it("INVALID_RECORD: recordCount 1,000 (lastOffsetDelta 999) with one record inside", () => {
    const b = encodeBatch([{ key: "k", value: "v" }]);
    b.writeInt32BE(1000, RECORD_COUNT);
    b.writeInt32BE(999, LAST_OFFSET_DELTA);
    expectRefused(fixCrc(b), ErrorCode.INVALID_RECORD, /says 1000 records but its records end after 1/);
  });

  it("INVALID_RECORD: recordCount 1 with two records inside (trailing record)", () => {
    expectRefused(
      batchOf(bytes(ok0, ok1), 1),
      ErrorCode.INVALID_RECORD,
      /bytes after the last of the batch's 1 records/,
    );
  });

  it("INVALID_RECORD: trailing bytes after the last record", () => {
    expectRefused(batchOf(bytes(ok0, ok1, 0), 2), ErrorCode.INVALID_RECORD, /1 bytes after the last/);
  });

  it("CORRUPT_MESSAGE: the gzip flag on plain bytes", () => {
    expectRefused(
      flagged(encodeBatch(varied), GZIP),
      ErrorCode.CORRUPT_MESSAGE,
      /gzip records do not decompress/,
    );
  });

  it("CORRUPT_MESSAGE: the lz4 flag on plain bytes", () => {
    expectRefused(flagged(encodeBatch(varied), LZ4), ErrorCode.CORRUPT_MESSAGE, /not an LZ4 frame/);
  });

  it("CORRUPT_MESSAGE: truncated gzip and lz4 streams", () => {
    const section = bytes(ok0, ok1);
    const gz = gzipSync(section);
    expectRefused(batchOf(gz.subarray(0, gz.length - 6), 2, GZIP), ErrorCode.CORRUPT_MESSAGE, /gzip/);
    const lz = compressFrameSync(section);
    expectRefused(batchOf(lz.subarray(0, lz.length - 4), 2, LZ4), ErrorCode.CORRUPT_MESSAGE, /end mark/);
    // A block size past the frame's BD maximum (64 KiB here), as Kafka's Lz4BlockInputStream refuses.
    const frame = Buffer.from(lz4CompressFrame(section));
    frame.writeUInt32LE(0x80020000, 7); // bit 31 (stored) | 131,072 bytes
    expectRefused(batchOf(frame, 2, LZ4), ErrorCode.CORRUPT_MESSAGE, /exceeds the frame's 65536/);
  });

  it("INVALID_RECORD: compressed garbage records (the stream decodes, the records do not)", () => {
    const garbage = Buffer.alloc(40, 0xff);
    expectRefused(batchOf(gzipSync(garbage), 1, GZIP), ErrorCode.INVALID_RECORD, /longer than 5 bytes/);
    expectRefused(
      batchOf(compressFrameSync(garbage), 1, LZ4),
      ErrorCode.INVALID_RECORD,
      /longer than 5 bytes/,
    );
    // A good stream of one record under a count of 2.
    expectRefused(batchOf(gzipSync(ok0), 2, GZIP), ErrorCode.INVALID_RECORD, /end after 1/);
    expectRefused(
      batchOf(compressFrameSync(bytes(ok0, 7)), 1, LZ4),
      ErrorCode.INVALID_RECORD,
      /1 bytes after/,
    );
  });

  it("MESSAGE_TOO_LARGE: a zip bomb (gzip and lz4) beyond the decompression limit", () => {
    const zeros = Buffer.alloc(8 << 20);
    const gz = batchOf(gzipSync(zeros), 1, GZIP);
    const lz = batchOf(compressFrameSync(zeros), 1, LZ4);
    assert.ok(gz.length < 16_384 && lz.length < 65_536, "small on the wire");
    for (const b of [gz, lz]) {
      const r = checkProducedBatch(b, 65_536, { maxUncompressedBytes: 1 << 20 });
      assert.equal(errorName(r.error), "MESSAGE_TOO_LARGE", r.message);
      assert.match(r.message, /more than 1048576/);
    }
    // A gzip bomb whose trailer (ISIZE) lies small is stopped at 1 MiB past what it declared.
    const liar = gzipSync(zeros);
    liar.writeUInt32LE(10, liar.length - 4);
    const r = validateRecords(batchOf(liar, 1, GZIP));
    assert.equal(errorName(r.error), "CORRUPT_MESSAGE", r.message);
    assert.match(r.message, /more than the 10 bytes their trailer declares/);
    // The limit is never below max.message.bytes.
    assert.equal(validateRecords(encodeBatch(many, GZIP), 100).error, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(checkProducedBatch(encodeBatch(many, GZIP), MAX, { maxUncompressedBytes: 100 }).error, 0);
  });

  it("INVALID_RECORD: offset deltas out of order, or not starting at 0", () => {
    const r1 = rec(body(1, "k", "v"));
    const r0 = rec(body(0, "k", "v"));
    expectRefused(batchOf(bytes(r1, r0), 2), ErrorCode.INVALID_RECORD, /record 0 has offset delta 1/);
    expectRefused(
      batchOf(bytes(ok0, rec(body(2, "k", "v"))), 2),
      ErrorCode.INVALID_RECORD,
      /record 1 has offset delta 2/,
    );
    expectRefused(
      batchOf(bytes(ok0, rec(body(0, "k", "v"))), 2),
      ErrorCode.INVALID_RECORD,
      /record 1 has offset delta 0/,
    );
  });

  it("INVALID_RECORD: record length too short and too long", () => {
    const b = body(0, "key", "value");
    // Too short: the value runs past the end the length gives.
    expectRefused(
      batchOf(rec(b, b.length - 2), 1),
      ErrorCode.INVALID_RECORD,
      /record 0: value of 5 bytes runs past/,
    );
    // Too long by one, with a spare byte there: the fields end before the length does.
    expectRefused(
      batchOf(bytes(rec(b, b.length + 1), 0), 1),
      ErrorCode.INVALID_RECORD,
      /length says 15 bytes but its fields take 14/,
    );
    // Too long: past the end of the records section.
    expectRefused(
      batchOf(rec(b, b.length + 50), 1),
      ErrorCode.INVALID_RECORD,
      /length 64 runs past the records/,
    );
    // Negative, and too short even for the attributes.
    expectRefused(batchOf(bytes(v(-3), b), 1), ErrorCode.INVALID_RECORD, /negative length -3/);
    expectRefused(batchOf(bytes(v(0), b), 1), ErrorCode.INVALID_RECORD, /too short/);
  });

  it("INVALID_RECORD: key length below -1, value length below -1", () => {
    const key = bytes(0, v(0), v(0), v(-2), v(1), "v", v(0));
    expectRefused(batchOf(rec(key), 1), ErrorCode.INVALID_RECORD, /key length -2/);
    const value = bytes(0, v(0), v(0), v(-1), v(-7), v(0));
    expectRefused(batchOf(rec(value), 1), ErrorCode.INVALID_RECORD, /value length -7/);
  });

  it("INVALID_RECORD: negative header count, headers that cannot fit", () => {
    expectRefused(
      batchOf(rec(body(0, "k", "v", [v(-1)])), 1),
      ErrorCode.INVALID_RECORD,
      /negative header count -1/,
    );
    expectRefused(batchOf(rec(body(0, "k", "v", [v(1_000_000)])), 1), ErrorCode.INVALID_RECORD, /cannot fit/);
  });

  it("INVALID_RECORD: a null header key, a header value length below -1", () => {
    const nullKey = body(0, "k", "v", [v(1), v(-1), v(1), "x"]);
    expectRefused(batchOf(rec(nullKey), 1), ErrorCode.INVALID_RECORD, /header 0 has key length -1/);
    const badValue = body(0, "k", "v", [v(2), v(1), "a", v(-1), v(1), "b", v(-5)]);
    expectRefused(batchOf(rec(badValue), 1), ErrorCode.INVALID_RECORD, /header 1 value length -5/);
    // A header key of 3 bytes with only 2 left in the record.
    const shortKey = body(0, "k", "v", [v(1), v(3), "ab"]);
    expectRefused(batchOf(rec(shortKey), 1), ErrorCode.INVALID_RECORD, /header 0 key runs past/);
  });

  it("INVALID_RECORD: a truncated varint (at the end of the records, and at the end of a record)", () => {
    expectRefused(
      batchOf(bytes(ok0, 0x80), 2),
      ErrorCode.INVALID_RECORD,
      /record 1: its length varint runs past/,
    );
    const cut = bytes(0, v(0), 0x80); // offsetDelta cut off by the record's own length
    expectRefused(
      batchOf(rec(cut), 1),
      ErrorCode.INVALID_RECORD,
      /record 0: offsetDelta at byte 3 runs past/,
    );
  });

  it("INVALID_RECORD: a 6-byte varint, an 11-byte varlong", () => {
    const six = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    expectRefused(
      batchOf(bytes(six, body(0, "k", "v")), 1),
      ErrorCode.INVALID_RECORD,
      /length varint at byte 0 is longer than 5/,
    );
    const key6 = bytes(0, v(0), v(0), six, v(0), v(0));
    expectRefused(
      batchOf(rec(key6), 1),
      ErrorCode.INVALID_RECORD,
      /keyLength varint at byte 4 is longer than 5/,
    );
    const ts11 = bytes(0, Array(10).fill(0x80), 0, v(0), v(-1), v(-1), v(0));
    expectRefused(
      batchOf(rec(ts11), 1),
      ErrorCode.INVALID_RECORD,
      /timestampDelta varint at byte 2 is longer than 10/,
    );
  });

  it("walkRecords alone: count <= 0 and an empty section", () => {
    assert.equal(walkRecords(Buffer.alloc(0), 0, 0, 0).error, ErrorCode.INVALID_RECORD);
    assert.match(walkRecords(Buffer.alloc(0), 0, 0, 1).message, /end after 0/);
    assert.equal(walkRecords(ok0, 0, ok0.length, 1).error, ErrorCode.NONE);
  });
});

describe("the LZ4 frame decoder the walk uses (against lz4-napi)", () => {
  let seed = 20240607;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  /** Inputs from incompressible to all zeros, 0 to ~300 KB. */
  function input(n: number, mode: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      if (mode === 0) b[i] = (rnd() * 256) | 0;
      else if (mode === 1) b[i] = (rnd() * 4) | 0;
      else if (mode === 2) b[i] = i % 100 < 30 ? (rnd() * 256) | 0 : 65 + (i % 7);
      else b[i] = rnd() < 0.01 ? (rnd() * 256) | 0 : 0;
    }
    return b;
  }
  const frames: { raw: Buffer; frame: Buffer }[] = [];
  for (let t = 0; t < 160; t++) {
    const raw = input(Math.floor(rnd() ** 3 * 300_000), t % 4);
    const kind = Math.floor(t / 4) % 3;
    const frame =
      kind === 0
        ? compressFrameSync(raw)
        : kind === 1
          ? Buffer.from(lz4CompressFrame(raw))
          : compressFrameSync(raw, { blockChecksums: true, contentChecksum: true });
    frames.push({ raw, frame });
  }

  it("decodes what lz4-napi and the client's TypeScript LZ4 write (with and without checksums)", () => {
    for (const { raw, frame } of frames) {
      const out = decodeLz4Frame(frame);
      assert.ok(typeof out !== "string", `${raw.length} bytes: ${out}`);
      assert.ok(Buffer.from(out).equals(raw), `${raw.length} bytes decode to the input`);
    }
  });

  it("on damaged frames, whatever it decodes lz4-napi decodes to the same bytes", () => {
    let decoded = 0;
    for (const { frame } of frames) {
      for (let m = 0; m < 4; m++) {
        const bad = Buffer.from(frame);
        for (let f = 0; f < 1 + m; f++)
          bad[4 + Math.floor(rnd() * (bad.length - 4))] ^= 1 << ((rnd() * 8) | 0);
        const ours = decodeLz4Frame(bad);
        if (typeof ours === "string") continue;
        decoded++;
        assert.ok(Buffer.from(ours).equals(decompressFrameSync(bad)), "same output as lz4-napi");
      }
    }
    assert.ok(decoded > 0);
  });

  // The 64 KiB-block frame header the client's LZ4 writes: magic, FLG 0x60, BD 0x40, HC.
  const header = Buffer.from(lz4CompressFrame(Buffer.from("x"))).subarray(0, 7);
  const frameOf = (...blocks: Buffer[]) => {
    const parts = blocks.flatMap((b) => {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(b.length);
      return [size, b];
    });
    return Buffer.concat([header, ...parts, Buffer.alloc(4)]);
  };

  it("hand-made blocks: a literals-only block decodes, bad sequences do not", () => {
    assert.deepEqual(decodeLz4Frame(frameOf(Buffer.from([0x30, 0x61, 0x62, 0x63]))), Buffer.from("abc"));
    // 'a', then a match of offset 1 and 4 + 15 + 255 x 300 bytes: past the 64 KiB block.
    const huge = Buffer.from([0x1f, 0x61, 0x01, 0x00, ...Array(300).fill(255), 0x00, 0x10, 0x62]);
    assert.match(String(decodeLz4Frame(frameOf(huge))), /decompresses past its size/);
    const farOffset = Buffer.from([0x10, 0x61, 0x02, 0x00, 0x10, 0x62]);
    assert.match(String(decodeLz4Frame(frameOf(farOffset))), /match offset 2 out of range/);
    const endsInMatch = Buffer.from([0x10, 0x61, 0x01, 0x00]);
    assert.match(String(decodeLz4Frame(frameOf(endsInMatch))), /ends after a match/);
    // A match may not reach into the previous block (blocks are independent).
    const second = Buffer.from([0x00, 0x01, 0x00, 0x10, 0x62]);
    assert.match(String(decodeLz4Frame(frameOf(Buffer.from([0x10, 0x61]), second))), /offset 1 out of range/);
  });

  it("frame headers as Kafka reads them: content size accepted; reserved bits, dependent blocks, bad HC refused", () => {
    const blocks = Buffer.from(lz4CompressFrame(Buffer.from("hello hello hello hello"))).subarray(7);
    const withHeader = (flg: number, bd: number, extra: Buffer = Buffer.alloc(0)) => {
      const desc = Buffer.concat([Buffer.from([flg, bd]), extra]);
      const hc = (xxh32(desc) >>> 8) & 0xff;
      return Buffer.concat([header.subarray(0, 4), desc, Buffer.from([hc]), blocks]);
    };
    const size = Buffer.alloc(8);
    size.writeUInt32LE(23);
    assert.deepEqual(decodeLz4Frame(withHeader(0x68, 0x40, size)), Buffer.from("hello hello hello hello"));
    assert.match(String(decodeLz4Frame(withHeader(0x61, 0x40, Buffer.alloc(4)))), /reserved bits/);
    assert.match(String(decodeLz4Frame(withHeader(0x40, 0x40))), /dependent blocks/);
    assert.match(String(decodeLz4Frame(withHeader(0x60, 0x30))), /block descriptor 0x30/);
    assert.match(String(decodeLz4Frame(withHeader(0xa0, 0x40))), /version 2/);
    const badHc = withHeader(0x60, 0x40);
    badHc[6] ^= 1;
    assert.match(String(decodeLz4Frame(badHc)), /header checksum mismatch/);
    // Through the batch check, each is CORRUPT_MESSAGE.
    const section = bytes(rec(body(0, "k", "v")));
    const lz = Buffer.from(compressFrameSync(section));
    lz[4] |= 0x01;
    const r = checkProducedBatch(batchOf(lz, 1, LZ4), MAX);
    assert.equal(errorName(r.error), "CORRUPT_MESSAGE", r.message);
  });

  it("a damaged block checksum is refused (lz4-napi checks checksummed frames)", () => {
    const section = bytes(rec(body(0, "k", "value value value value value")));
    const lz = Buffer.from(compressFrameSync(section, { blockChecksums: true, contentChecksum: true }));
    expectOk(batchOf(lz, 1, LZ4), "checksummed frame");
    const blockSize = lz.readUInt32LE(7) & 0x7fffffff;
    lz[7 + 4 + blockSize] ^= 0xff; // the block's checksum
    expectRefused(batchOf(lz, 1, LZ4), ErrorCode.CORRUPT_MESSAGE, /lz4 records do not decompress/);
  });
});
