// Magic 0 and magic 1 message sets (src/protocol/message_set.ts): produced sets up-converted to one
// RecordBatch v2, stored v2 batches down-converted for Fetch v0-v3. Sets are built here by an
// encoder of the test's own (Kafka's LegacyRecord layout, zlib's CRC-32) and decoded by a decoder
// of its own, so that a layout mistake in message_set.ts cannot cancel out against itself.

import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32, gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync } from "lz4-napi";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import {
  batchesToMessageSet,
  downConvertBatches,
  type MessageSetOptions,
  type MessageSetResult,
  messageSetToBatch,
} from "../../src/protocol/message_set.ts";
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTRIBUTES,
  Compression,
  CRC,
  checkProducedBatch,
  MAX_TIMESTAMP,
  RECORD_COUNT,
  readInt64,
  writeInt64,
} from "../../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch, type NewRecord } from "../../src/protocol/records.ts";

registerLz4();

const LIMITS: MessageSetOptions = { maxRecords: 10_000, maxUncompressedBytes: 1 << 20 };
const NOW = 1_700_000_000_000;

// ---- the test's own encoder and decoder of legacy messages ----

interface Msg {
  offset?: number;
  magic: 0 | 1;
  attributes?: number;
  timestamp?: number;
  key?: string | Buffer | null;
  value?: string | Buffer | null;
}

function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function i64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

function sized(v: string | Buffer | null | undefined): Buffer {
  if (v === null || v === undefined) return i32(-1);
  const b = Buffer.from(v);
  return Buffer.concat([i32(b.length), b]);
}

/** One message: offset, size, CRC-32 of magic..end, then the fields. */
function msg(m: Msg): Buffer {
  const body = Buffer.concat([
    Buffer.from([m.magic, m.attributes ?? 0]),
    m.magic === 1 ? i64(m.timestamp ?? -1) : Buffer.alloc(0),
    sized(m.key),
    sized(m.value === undefined ? null : m.value),
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([i64(m.offset ?? 0), i32(body.length + 4), crc, body]);
}

function set(...ms: Msg[]): Buffer {
  return Buffer.concat(ms.map(msg));
}

/** A compressed wrapper holding `inner` (already a message set, compressed by `compress`). */
function wrapper(
  magic: 0 | 1,
  codec: number,
  compressed: Buffer | null,
  opts: { offset?: number; timestamp?: number; logAppendTime?: boolean } = {},
): Buffer {
  return msg({
    magic,
    offset: opts.offset ?? 0,
    attributes: codec | (opts.logAppendTime ? 0x08 : 0),
    timestamp: opts.timestamp ?? -1,
    key: null,
    value: compressed,
  });
}

interface Decoded {
  offset: number;
  magic: number;
  attributes: number;
  timestamp: number | null;
  key: string | null;
  value: string | null;
}

/** Decode a message set, checking every CRC and that nothing is left over. */
function decodeSet(b: Buffer): Decoded[] {
  const out: Decoded[] = [];
  let p = 0;
  while (p < b.length) {
    const offset = Number(b.readBigInt64BE(p));
    const size = b.readInt32BE(p + 8);
    const end = p + 12 + size;
    assert.ok(end <= b.length, `message at ${p} runs past the set`);
    assert.equal(b.readUInt32BE(p + 12), crc32(b.subarray(p + 16, end)), `CRC of message at ${p}`);
    const magic = b[p + 16];
    const attributes = b[p + 17];
    let q = p + 18;
    let timestamp: number | null = null;
    if (magic === 1) {
      timestamp = Number(b.readBigInt64BE(q));
      q += 8;
    }
    const kl = b.readInt32BE(q);
    q += 4;
    const key = kl < 0 ? null : b.toString("latin1", q, q + kl);
    q += Math.max(0, kl);
    const vl = b.readInt32BE(q);
    q += 4;
    const value = vl < 0 ? null : b.toString("latin1", q, q + vl);
    q += Math.max(0, vl);
    assert.equal(q, end, `message at ${p}: fields end where its size says`);
    out.push({ offset, magic, attributes, timestamp, key, value });
    p = end;
  }
  return out;
}

function okBatch(r: MessageSetResult): Buffer {
  if (!("batch" in r)) assert.fail(`expected a batch, got error ${r.errorCode}: ${r.message}`);
  const check = checkProducedBatch(r.batch, 1 << 30);
  assert.equal(check.error, ErrorCode.NONE, check.message);
  return r.batch;
}

function errorOf(r: MessageSetResult): number {
  if ("batch" in r) assert.fail("expected an error, got a batch");
  assert.equal(typeof r.message, "string");
  assert.ok(r.message.length > 0);
  return r.errorCode;
}

function str(b: Buffer | null): string | null {
  return b === null ? null : b.toString("latin1");
}

function records(batch: Buffer) {
  return decodeBatch(batch).map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: str(r.key),
    value: str(r.value),
    headers: r.headers.length,
  }));
}

function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)), CRC);
  return batch;
}

function stored(recs: NewRecord[], baseOffset: number, compression: number = Compression.NONE): Buffer {
  const b = encodeBatch(recs, compression, NOW);
  writeInt64(b, 0, baseOffset); // outside the CRC, as the writer does
  return b;
}

// ---- produce: message sets up to a v2 batch ----

test("magic 0 uncompressed set: one v2 batch, timestamps -1, keys and values kept; back down byte for byte", () => {
  const s = set(
    { magic: 0, offset: 0, key: "k0", value: "v0" },
    { magic: 0, offset: 1, key: null, value: "v1" },
    { magic: 0, offset: 2, key: "k2", value: null },
    { magic: 0, offset: 3, key: "", value: "" },
  );
  const batch = okBatch(messageSetToBatch(s, NOW, LIMITS));
  assert.equal(readInt64(batch, MAX_TIMESTAMP), -1);
  assert.equal(batch.readInt16BE(ATTRIBUTES), 0);
  assert.deepEqual(records(batch), [
    { offset: 0, timestamp: -1, key: "k0", value: "v0", headers: 0 },
    { offset: 1, timestamp: -1, key: null, value: "v1", headers: 0 },
    { offset: 2, timestamp: -1, key: "k2", value: null, headers: 0 },
    { offset: 3, timestamp: -1, key: "", value: "", headers: 0 },
  ]);
  assert.deepEqual(batchesToMessageSet(batch, 0, 1 << 20), s);
});

test("magic 1 uncompressed set keeps each message's timestamp; back down byte for byte", () => {
  const s = set(
    { magic: 1, offset: 0, timestamp: NOW + 5, key: "a", value: "1" },
    { magic: 1, offset: 1, timestamp: NOW, key: "b", value: "2" },
    { magic: 1, offset: 2, timestamp: -1, key: null, value: "3" },
  );
  const batch = okBatch(messageSetToBatch(s, 0, LIMITS));
  assert.deepEqual(
    records(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    [
      [0, NOW + 5, "a", "1"],
      [1, NOW, "b", "2"],
      [2, -1, null, "3"],
    ],
  );
  assert.equal(readInt64(batch, MAX_TIMESTAMP), NOW + 5);
  assert.deepEqual(batchesToMessageSet(batch, 1, 1 << 20), s);
});

test("offsets a client sends do not matter: the batch counts from 0", () => {
  const s = set({ magic: 0, offset: 77, value: "x" }, { magic: 0, offset: 5, value: "y" });
  assert.deepEqual(
    records(okBatch(messageSetToBatch(s, 0, LIMITS))).map((r) => r.offset),
    [0, 1],
  );
});

test("gzip magic 1 wrapper: relative inner offsets, the wrapper carrying the last", () => {
  const inner = set(
    { magic: 1, offset: 0, timestamp: NOW + 1, key: "k0", value: "v0" },
    { magic: 1, offset: 1, timestamp: NOW + 2, key: "k1", value: "v1" },
    { magic: 1, offset: 2, timestamp: NOW + 3, key: null, value: "v2" },
  );
  const s = wrapper(1, Compression.GZIP, gzipSync(inner), { offset: 2, timestamp: NOW + 3 });
  const batch = okBatch(messageSetToBatch(s, 0, LIMITS));
  // Stored compressed with the wrapper's codec, as Kafka's up-conversion does.
  assert.equal(batch.readInt16BE(ATTRIBUTES) & 0x07, Compression.GZIP);
  assert.deepEqual(
    records(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    [
      [0, NOW + 1, "k0", "v0"],
      [1, NOW + 2, "k1", "v1"],
      [2, NOW + 3, null, "v2"],
    ],
  );
  // librdkafka's wrapper offset 0 is accepted; one below the last inner offset is not.
  okBatch(messageSetToBatch(wrapper(1, Compression.GZIP, gzipSync(inner), { offset: 0 }), 0, LIMITS));
  const low = wrapper(1, Compression.GZIP, gzipSync(inner), { offset: 1 });
  assert.equal(errorOf(messageSetToBatch(low, 0, LIMITS)), ErrorCode.INVALID_RECORD);
});

test("a LogAppendTime magic 1 wrapper gives its timestamp to every inner message", () => {
  const inner = set(
    { magic: 1, offset: 0, timestamp: 1, value: "a" },
    { magic: 1, offset: 1, timestamp: 2, value: "b" },
  );
  const s = wrapper(1, Compression.GZIP, gzipSync(inner), {
    offset: 1,
    timestamp: NOW + 9,
    logAppendTime: true,
  });
  const batch = okBatch(messageSetToBatch(s, 0, LIMITS));
  assert.deepEqual(
    records(batch).map((r) => r.timestamp),
    [NOW + 9, NOW + 9],
  );
  // Without the bit, the inner timestamps stand.
  const create = wrapper(1, Compression.GZIP, gzipSync(inner), { offset: 1, timestamp: NOW + 9 });
  assert.deepEqual(
    records(okBatch(messageSetToBatch(create, 0, LIMITS))).map((r) => r.timestamp),
    [1, 2],
  );
});

test("gzip magic 0 wrapper: absolute inner offsets 0..n-1", () => {
  const inner = set(
    { magic: 0, offset: 0, key: "a", value: "1" },
    { magic: 0, offset: 1, key: "b", value: "2" },
    { magic: 0, offset: 2, key: "c", value: "3" },
  );
  const batch = okBatch(messageSetToBatch(wrapper(0, Compression.GZIP, gzipSync(inner)), 0, LIMITS));
  assert.deepEqual(
    records(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    [
      [0, -1, "a", "1"],
      [1, -1, "b", "2"],
      [2, -1, "c", "3"],
    ],
  );
});

/** Where an LZ4 frame's header checksum byte is. */
function hcAt(frame: Buffer): number {
  return 6 + ((frame[4] & 0x08) !== 0 ? 8 : 0);
}

test("lz4 wrappers; magic 0 takes a broken header checksum (KAFKA-3160), magic 1 does not", () => {
  const inner1 = set(
    { magic: 1, offset: 0, timestamp: NOW, key: "x", value: "hello hello hello" },
    { magic: 1, offset: 1, timestamp: NOW + 1, key: "y", value: "world world world" },
  );
  const frame1 = compressFrameSync(inner1);
  const batch = okBatch(messageSetToBatch(wrapper(1, Compression.LZ4, frame1, { offset: 1 }), 0, LIMITS));
  assert.deepEqual(
    records(batch).map((r) => [r.offset, r.timestamp, r.key, r.value]),
    [
      [0, NOW, "x", "hello hello hello"],
      [1, NOW + 1, "y", "world world world"],
    ],
  );

  const inner0 = set({ magic: 0, offset: 0, value: "zero zero zero" }, { magic: 0, offset: 1, value: "one" });
  const frame0 = compressFrameSync(inner0);
  const broken0 = Buffer.from(frame0);
  broken0[hcAt(broken0)] ^= 0x5a;
  for (const f of [frame0, broken0]) {
    const b = okBatch(messageSetToBatch(wrapper(0, Compression.LZ4, f), 0, LIMITS));
    assert.deepEqual(
      records(b).map((r) => r.value),
      ["zero zero zero", "one"],
    );
  }
  // The broken frame was fixed in a copy, not in the caller's bytes.
  assert.notEqual(broken0[hcAt(broken0)], frame0[hcAt(frame0)]);

  const broken1 = Buffer.from(frame1);
  broken1[hcAt(broken1)] ^= 0x5a;
  const r = messageSetToBatch(wrapper(1, Compression.LZ4, broken1, { offset: 1 }), 0, LIMITS);
  assert.equal(errorOf(r), ErrorCode.CORRUPT_MESSAGE);
});

test("corrupt sets are CORRUPT_MESSAGE: CRC, truncation, trailing bytes, sizes, lengths", () => {
  const good = set(
    { magic: 1, timestamp: NOW, key: "k", value: "v" },
    { magic: 1, timestamp: NOW, value: "w" },
  );
  okBatch(messageSetToBatch(good, 0, LIMITS));

  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 1; // last byte of the second message's value
  assert.equal(errorOf(messageSetToBatch(badCrc, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);

  for (const cut of [1, 5, 12, 20]) {
    const t = good.subarray(0, good.length - cut);
    assert.equal(errorOf(messageSetToBatch(t, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE, `cut ${cut}`);
  }
  assert.equal(
    errorOf(messageSetToBatch(Buffer.concat([good, Buffer.alloc(3)]), 0, LIMITS)),
    ErrorCode.CORRUPT_MESSAGE,
  );

  // messageSize below 14.
  const small = Buffer.from(good);
  small.writeInt32BE(13, 8);
  assert.equal(errorOf(messageSetToBatch(small, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);

  // A magic 1 message of 14..21 bytes has no room for its lengths (correct CRC).
  const body = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const shortMsg = Buffer.concat([i64(0), i32(body.length + 4), i32(crc32(body) | 0), body]);
  assert.equal(errorOf(messageSetToBatch(shortMsg, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);

  // A key length past the message, and spare bytes after the value, both with a correct CRC.
  const withBody = (b: Buffer) => Buffer.concat([i64(0), i32(b.length + 4), i32(crc32(b) | 0), b]);
  const longKey = withBody(Buffer.concat([Buffer.from([0, 0]), i32(50), Buffer.from("abc"), i32(-1)]));
  assert.equal(errorOf(messageSetToBatch(longKey, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);
  const spare = withBody(Buffer.concat([Buffer.from([0, 0]), i32(-1), i32(1), Buffer.from("ab")]));
  assert.equal(errorOf(messageSetToBatch(spare, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);
  const negative = withBody(Buffer.concat([Buffer.from([0, 0]), i32(-2), i32(-1)]));
  assert.equal(errorOf(messageSetToBatch(negative, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);

  // A magic byte Kafka does not know.
  const magic7 = withBody(Buffer.concat([Buffer.from([7, 0]), i32(-1), i32(-1)]));
  assert.equal(errorOf(messageSetToBatch(magic7, 0, LIMITS)), ErrorCode.CORRUPT_MESSAGE);

  // A bad CRC inside a wrapper, and a wrapper value that is not gzip.
  const inner = set({ magic: 0, value: "a" }, { magic: 0, offset: 1, value: "b" });
  inner[inner.length - 1] ^= 1;
  assert.equal(
    errorOf(messageSetToBatch(wrapper(0, Compression.GZIP, gzipSync(inner)), 0, LIMITS)),
    ErrorCode.CORRUPT_MESSAGE,
  );
  assert.equal(
    errorOf(messageSetToBatch(wrapper(0, Compression.GZIP, Buffer.from("not gzip at all")), 0, LIMITS)),
    ErrorCode.CORRUPT_MESSAGE,
  );
  // A torn last inner message.
  const torn = set({ magic: 0, value: "a" }, { magic: 0, offset: 1, value: "b" }).subarray(0, 30);
  assert.equal(
    errorOf(messageSetToBatch(wrapper(0, Compression.GZIP, gzipSync(torn)), 0, LIMITS)),
    ErrorCode.CORRUPT_MESSAGE,
  );
});

test("snappy and unknown codecs are UNSUPPORTED_COMPRESSION_TYPE; zstd in a legacy wrapper is INVALID_RECORD", () => {
  const inner = set({ magic: 1, timestamp: NOW, value: "x" });
  assert.equal(
    errorOf(messageSetToBatch(wrapper(1, Compression.SNAPPY, inner), 0, LIMITS)),
    ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  );
  for (const codec of [5, 6, 7]) {
    assert.equal(
      errorOf(messageSetToBatch(wrapper(0, codec, inner), 0, LIMITS)),
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
  }
  assert.equal(
    errorOf(messageSetToBatch(wrapper(1, Compression.ZSTD, inner), 0, LIMITS)),
    ErrorCode.INVALID_RECORD,
  );
});

test("a gzip bomb (100 MiB of zeros) against a 1 MiB limit is MESSAGE_TOO_LARGE, not an OOM", () => {
  const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024));
  assert.ok(bomb.length < 200_000);
  const heapBefore = process.memoryUsage().rss;
  const started = Date.now();
  const r = messageSetToBatch(wrapper(1, Compression.GZIP, bomb), 0, {
    maxRecords: 1000,
    maxUncompressedBytes: 1 << 20,
  });
  assert.equal(errorOf(r), ErrorCode.MESSAGE_TOO_LARGE);
  assert.ok(Date.now() - started < 2000, "stopped early, not after inflating 100 MiB");
  assert.ok(process.memoryUsage().rss - heapBefore < 64 * 1024 * 1024);
  // Under the limit the same codec path works: a real set just below it converts.
  const fine = set({ magic: 1, timestamp: NOW, value: Buffer.alloc(1000) });
  okBatch(messageSetToBatch(wrapper(1, Compression.GZIP, gzipSync(fine)), 0, LIMITS));
});

test("an lz4 bomb is MESSAGE_TOO_LARGE before it is decompressed", () => {
  const bomb = compressFrameSync(Buffer.alloc(64 * 1024 * 1024));
  const r = messageSetToBatch(wrapper(1, Compression.LZ4, bomb), 0, {
    maxRecords: 1000,
    maxUncompressedBytes: 1 << 20,
  });
  assert.equal(errorOf(r), ErrorCode.MESSAGE_TOO_LARGE);
});

test("more messages than maxRecords is MESSAGE_TOO_LARGE, plain or inside a wrapper", () => {
  const ms: Msg[] = [];
  for (let i = 0; i < 10; i++) ms.push({ magic: 0, offset: i, value: `v${i}` });
  const s = set(...ms);
  const limits = { maxRecords: 9, maxUncompressedBytes: 1 << 20 };
  assert.equal(errorOf(messageSetToBatch(s, 0, limits)), ErrorCode.MESSAGE_TOO_LARGE);
  assert.equal(
    errorOf(messageSetToBatch(wrapper(0, Compression.GZIP, gzipSync(s)), 0, limits)),
    ErrorCode.MESSAGE_TOO_LARGE,
  );
  // Exactly at the limit is fine.
  assert.equal(records(okBatch(messageSetToBatch(s, 0, { ...limits, maxRecords: 10 }))).length, 10);
});

test("structure Kafka refuses is INVALID_RECORD", () => {
  const m0 = { magic: 0 as const, value: "a" };
  const m1 = { magic: 1 as const, timestamp: NOW, value: "b" };
  const cases: [string, Buffer][] = [
    ["mixed magics", set(m0, m1)],
    ["mixed magics the other way", set(m1, m0)],
    ["empty set", Buffer.alloc(0)],
    ["a v2 batch", encodeBatch([{ value: "x" }])],
    ["a v2 batch after a message", Buffer.concat([set(m0), encodeBatch([{ value: "x" }])])],
    [
      "wrapper and another message",
      Buffer.concat([wrapper(0, Compression.GZIP, gzipSync(set(m0))), set(m0)]),
    ],
    ["message and a wrapper", Buffer.concat([set(m0), wrapper(0, Compression.GZIP, gzipSync(set(m0)))])],
    ["wrapper with a null value", wrapper(0, Compression.GZIP, null)],
    ["wrapper with no inner messages", wrapper(1, Compression.GZIP, gzipSync(Buffer.alloc(0)))],
    ["inner magic differs", wrapper(1, Compression.GZIP, gzipSync(set(m0)))],
    [
      "compressed inner message",
      wrapper(0, Compression.GZIP, gzipSync(wrapper(0, Compression.GZIP, gzipSync(set(m0))))),
    ],
  ];
  for (const [name, s] of cases) {
    assert.equal(errorOf(messageSetToBatch(s, 0, LIMITS)), ErrorCode.INVALID_RECORD, name);
  }
});

test("compacted topics need keys; timestamps below -1 and LogAppendTime from producers are INVALID_TIMESTAMP", () => {
  const keyless = set({ magic: 0, key: "k", value: "a" }, { magic: 0, offset: 1, key: null, value: "b" });
  okBatch(messageSetToBatch(keyless, 0, LIMITS));
  assert.equal(
    errorOf(messageSetToBatch(keyless, 0, { ...LIMITS, compacted: true })),
    ErrorCode.INVALID_RECORD,
  );
  const past = set({ magic: 1, timestamp: -5, value: "a" });
  assert.equal(errorOf(messageSetToBatch(past, 0, LIMITS)), ErrorCode.INVALID_TIMESTAMP);

  // LogAppendTime set by the producer: kept on a CreateTime topic, refused on a LogAppendTime one,
  // refused with no timestamp at all (LogValidator.validateTimestamp).
  const lat = set({ magic: 1, attributes: 0x08, timestamp: NOW, value: "a" });
  assert.deepEqual(
    records(okBatch(messageSetToBatch(lat, 0, LIMITS))).map((r) => r.timestamp),
    [NOW],
  );
  assert.equal(
    errorOf(messageSetToBatch(lat, 0, { ...LIMITS, logAppendTime: true })),
    ErrorCode.INVALID_TIMESTAMP,
  );
  const latNone = set({ magic: 1, attributes: 0x08, timestamp: -1, value: "a" });
  assert.equal(errorOf(messageSetToBatch(latNone, 0, LIMITS)), ErrorCode.INVALID_TIMESTAMP);
});

test("on a LogAppendTime topic the batch says LogAppendTime and its maxTimestamp is now", () => {
  const s = set({ magic: 1, timestamp: 5, value: "a" }, { magic: 1, offset: 1, timestamp: 6, value: "b" });
  const batch = okBatch(messageSetToBatch(s, NOW, { ...LIMITS, logAppendTime: true }));
  assert.notEqual(batch.readInt16BE(ATTRIBUTES) & ATTR_LOG_APPEND_TIME, 0);
  assert.equal(readInt64(batch, MAX_TIMESTAMP), NOW);
  // Down again, magic 1 consumers see the append time and the bit.
  const down = decodeSet(batchesToMessageSet(batch, 1, 1 << 20));
  assert.deepEqual(
    down.map((m) => [m.timestamp, m.attributes]),
    [
      [NOW, 0x08],
      [NOW, 0x08],
    ],
  );
});

/** A deterministic PRNG (mulberry32) for the fuzz tests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("no input throws: mutated, cut and random sets all get an answer", () => {
  const bases = [
    set({ magic: 0, key: "k", value: "v" }, { magic: 0, offset: 1, value: "w" }),
    set({ magic: 1, timestamp: NOW, key: "k", value: "v" }),
    wrapper(1, Compression.GZIP, gzipSync(set({ magic: 1, timestamp: NOW, value: "abc" })), { offset: 0 }),
    wrapper(0, Compression.LZ4, compressFrameSync(set({ magic: 0, value: "abcabcabc" }))),
  ];
  const random = rng(42);
  let errors = 0;
  for (let n = 0; n < 4000; n++) {
    const base = bases[n % bases.length];
    const s = Buffer.from(base);
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) s[Math.floor(random() * s.length)] = Math.floor(random() * 256);
    const input = random() < 0.3 ? s.subarray(0, Math.floor(random() * s.length)) : s;
    const r = messageSetToBatch(input, NOW, LIMITS);
    if ("batch" in r) okBatch(r);
    else errors++;
  }
  for (let n = 0; n < 500; n++) {
    const junk = Buffer.alloc(Math.floor(random() * 200));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
    const r = messageSetToBatch(junk, NOW, LIMITS);
    assert.ok("batch" in r || typeof r.errorCode === "number");
  }
  assert.ok(errors > 3000, `most mutations are caught (${errors})`);
});

// ---- fetch: stored v2 batches down to a message set ----

const WITH_HEADERS: NewRecord[] = [
  { key: "k0", value: "v0", timestamp: NOW, headers: { h: "1" } },
  { key: null, value: "v1", timestamp: NOW + 10, headers: { a: "x", b: "y" } },
  { key: "k2", value: null, timestamp: NOW + 3 },
  { key: "k3", value: "v3", timestamp: NOW + 20, headers: [{ key: "n", value: null }] },
];

for (const [name, codec] of [
  ["uncompressed", Compression.NONE],
  ["gzip", Compression.GZIP],
  ["lz4", Compression.LZ4],
] as const) {
  test(`down-conversion of a ${name} v2 batch with headers to magic 0 and magic 1`, () => {
    const batch = stored(WITH_HEADERS, 100, codec);
    assert.equal(batch.readInt16BE(ATTRIBUTES) & 0x07, codec);
    const m1 = decodeSet(batchesToMessageSet(batch, 1, 1 << 20));
    assert.deepEqual(m1, [
      { offset: 100, magic: 1, attributes: 0, timestamp: NOW, key: "k0", value: "v0" },
      { offset: 101, magic: 1, attributes: 0, timestamp: NOW + 10, key: null, value: "v1" },
      { offset: 102, magic: 1, attributes: 0, timestamp: NOW + 3, key: "k2", value: null },
      { offset: 103, magic: 1, attributes: 0, timestamp: NOW + 20, key: "k3", value: "v3" },
    ]);
    const m0 = decodeSet(batchesToMessageSet(batch, 0, 1 << 20));
    assert.deepEqual(
      m0,
      m1.map((m) => ({ ...m, magic: 0, timestamp: null })),
    );
    // And back up: the magic 1 set converts to the same records, headers gone.
    const up = okBatch(messageSetToBatch(batchesToMessageSet(batch, 1, 1 << 20), 0, LIMITS));
    assert.deepEqual(
      records(up).map((r) => [r.timestamp, r.key, r.value, r.headers]),
      WITH_HEADERS.map((r) => [r.timestamp, r.key, r.value, 0]),
    );
  });
}

test("down-conversion: LogAppendTime batches give magic 1 the batch's maxTimestamp and the bit", () => {
  const batch = stored(WITH_HEADERS, 7);
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES) | ATTR_LOG_APPEND_TIME, ATTRIBUTES);
  writeInt64(batch, MAX_TIMESTAMP, NOW + 999);
  fixCrc(batch);
  const m1 = decodeSet(batchesToMessageSet(batch, 1, 1 << 20));
  assert.deepEqual(
    m1.map((m) => [m.offset, m.attributes, m.timestamp]),
    [
      [7, 8, NOW + 999],
      [8, 8, NOW + 999],
      [9, 8, NOW + 999],
      [10, 8, NOW + 999],
    ],
  );
  const m0 = decodeSet(batchesToMessageSet(batch, 0, 1 << 20));
  assert.deepEqual(
    m0.map((m) => [m.attributes, m.timestamp]),
    [
      [0, null],
      [0, null],
      [0, null],
      [0, null],
    ],
  );
});

/** Three stored batches: offsets 0-1, 2-4, 5. */
function threeBatches(): Buffer[] {
  return [
    stored(
      [
        { key: "a", value: "0", timestamp: NOW },
        { key: "b", value: "1", timestamp: NOW },
      ],
      0,
    ),
    stored(
      [
        { key: "c", value: "2", timestamp: NOW },
        { key: "d", value: "3", timestamp: NOW },
        { key: "e", value: "4", timestamp: NOW },
      ],
      2,
      Compression.GZIP,
    ),
    stored([{ key: "f", value: "5", timestamp: NOW }], 5),
  ];
}

test("down-conversion across batches; maxBytes stops before the message that would pass it", () => {
  const data = Buffer.concat(threeBatches());
  const all = batchesToMessageSet(data, 1, 1 << 20);
  assert.deepEqual(
    decodeSet(all).map((m) => m.offset),
    [0, 1, 2, 3, 4, 5],
  );
  const each = all.length / 6; // every message here is the same size (1-byte key and value)
  assert.equal(each, 12 + 22 + 2);
  for (const [maxBytes, count] of [
    [each * 3, 3],
    [each * 3 + each - 1, 3],
    [each * 5, 5],
    [each * 6, 6],
  ]) {
    const part = batchesToMessageSet(data, 1, maxBytes);
    assert.ok(part.length <= maxBytes);
    assert.deepEqual(
      decodeSet(part).map((m) => m.offset),
      [0, 1, 2, 3, 4, 5].slice(0, count),
      `maxBytes ${maxBytes}`,
    );
  }
  // The first message is whole however small maxBytes is.
  for (const maxBytes of [0, 1, each - 1]) {
    assert.deepEqual(
      decodeSet(batchesToMessageSet(data, 0, maxBytes)).map((m) => m.offset),
      [0],
    );
  }
  const big = stored([{ value: Buffer.alloc(5000, 1), timestamp: NOW }], 9);
  assert.equal(decodeSet(batchesToMessageSet(big, 1, 100))[0].value?.length, 5000);
});

test("down-conversion starts at fromOffset inside a batch", () => {
  const data = Buffer.concat(threeBatches());
  assert.deepEqual(
    decodeSet(batchesToMessageSet(data, 0, 1 << 20, 3)).map((m) => [m.offset, m.key]),
    [
      [3, "d"],
      [4, "e"],
      [5, "f"],
    ],
  );
});

test("down-conversion skips control batches", () => {
  const [a, b, c] = threeBatches();
  const control = Buffer.from(b);
  control.writeInt16BE(control.readInt16BE(ATTRIBUTES) | ATTR_CONTROL, ATTRIBUTES);
  fixCrc(control);
  const r = downConvertBatches(Buffer.concat([a, control, c]), 1, 1 << 20);
  assert.equal(r.stopped, null);
  assert.deepEqual(
    decodeSet(r.set).map((m) => m.offset),
    [0, 1, 5],
  );
});

test("down-conversion drops a partial trailing batch", () => {
  const [a, b] = threeBatches();
  for (const keep of [1, 11, 12, 60, b.length - 1]) {
    const r = downConvertBatches(Buffer.concat([a, b.subarray(0, keep)]), 0, 1 << 20);
    assert.equal(r.stopped, null, `keep ${keep}`);
    assert.deepEqual(
      decodeSet(r.set).map((m) => m.offset),
      [0, 1],
      `keep ${keep}`,
    );
  }
  assert.equal(batchesToMessageSet(Buffer.alloc(0), 1, 100).length, 0);
});

test("down-conversion stops at a batch whose codec is not available, keeping what came before", () => {
  const [a, b, c] = threeBatches();
  const zstd = encodeBatch([{ value: "z", timestamp: NOW }], Compression.NONE, NOW);
  writeInt64(zstd, 0, 2);
  zstd.writeInt16BE(Compression.ZSTD, ATTRIBUTES);
  fixCrc(zstd);
  const r = downConvertBatches(Buffer.concat([a, zstd, b, c]), 1, 1 << 20);
  assert.equal(r.stopped?.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  assert.deepEqual(
    decodeSet(r.set).map((m) => m.offset),
    [0, 1],
  );
});

test("corrupt stored bytes do not throw: conversion stops at the corrupt batch", () => {
  const [a, b, c] = threeBatches();

  const flipped = Buffer.from(b);
  flipped[flipped.length - 3] ^= 0xff; // CRC-32C no longer matches
  let r = downConvertBatches(Buffer.concat([a, flipped, c]), 1, 1 << 20);
  assert.equal(r.stopped?.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.deepEqual(
    decodeSet(r.set).map((m) => m.offset),
    [0, 1],
  );

  // A right CRC-32C over records that do not parse: a record count the records cannot fill.
  // Nothing of that batch is sent, not even the records that did parse.
  const overCount = Buffer.from(c);
  overCount.writeInt32BE(overCount.readInt32BE(RECORD_COUNT) + 1, RECORD_COUNT);
  fixCrc(overCount);
  r = downConvertBatches(Buffer.concat([a, overCount]), 0, 1 << 20);
  assert.equal(r.stopped?.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.deepEqual(
    decodeSet(r.set).map((m) => m.offset),
    [0, 1],
  );

  // Fewer records than the records section holds: bytes left after the last one.
  const underCount = Buffer.from(a);
  underCount.writeInt32BE(1, RECORD_COUNT);
  underCount.writeInt32BE(0, 23); // lastOffsetDelta
  fixCrc(underCount);
  r = downConvertBatches(Buffer.concat([underCount, c]), 1, 1 << 20);
  assert.equal(r.stopped?.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal(r.set.length, 0);

  // A gzip batch whose compressed bytes are garbage (CRC-32C right).
  const badGzip = Buffer.from(b);
  badGzip.fill(0x33, 61 + 10);
  fixCrc(badGzip);
  r = downConvertBatches(badGzip, 1, 1 << 20);
  assert.equal(r.stopped?.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal(r.set.length, 0);

  // A negative batch length, and random bytes.
  const negative = Buffer.from(a);
  negative.writeInt32BE(-100, 8);
  assert.equal(downConvertBatches(negative, 1, 1 << 20).stopped?.errorCode, ErrorCode.CORRUPT_MESSAGE);

  const random = rng(7);
  const good = Buffer.concat([a, b, c]);
  for (let n = 0; n < 3000; n++) {
    const s = Buffer.from(good);
    const flips = 1 + Math.floor(random() * 3);
    for (let f = 0; f < flips; f++) s[Math.floor(random() * s.length)] = Math.floor(random() * 256);
    // Keep the CRC-32C right half the time, so that the record walk meets the damage too.
    if (random() < 0.5) {
      let at = 0;
      while (at + 12 <= s.length) {
        const size = s.readInt32BE(at + 8) + 12;
        if (size < 61 || at + size > s.length) break;
        fixCrc(s.subarray(at, at + size));
        at += size;
      }
    }
    const out = downConvertBatches(s, (n & 1) as 0 | 1, 1 << 20);
    decodeSet(out.set); // whatever came out is whole, CRC-correct messages
  }
});
