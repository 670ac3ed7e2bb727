// Mutations of the protocol fuzzer (test/fuzz/harness.ts): what it does to a valid request frame
// (bit flips, interesting values, truncation, junk, duplicated and swapped slices, versions and
// api keys out of range, string lengths and array counts made huge or negative), and the
// RecordBatch v2 payloads it puts inside otherwise valid Produce requests (wrong CRC, right CRC
// over garbage, count mismatches, codec bits on plain bytes, huge and overlong varints, negative
// lengths). Every function takes the Rng of one connection, so a seed replays exactly.
//
// The layout of a batch is drawn in src/protocol/record_batch.ts; a record's in
// src/protocol/records.ts.

import { gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync } from "lz4-napi";
import type { ApiVersionRange } from "../../src/protocol/api_versions.ts";
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  MAGIC,
  RECORD_COUNT,
  RECORDS,
} from "../../src/protocol/record_batch.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { SAMPLE_TIME, sampleRecords } from "./corpus.ts";
import type { Rng } from "./prng.ts";

const INT8S = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];
const INT16S = [0, -1, 1, 0x7fff, -0x8000, 0x7ffe, 0x100, -2];
const INT32S = [0, -1, 1, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x10000, 0x3fffffff, -2, 0xffff];
const INT64S: bigint[] = [-1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0n, 0xffffffffn];

export interface Mutation {
  frame: Buffer;
  /** What was done, e.g. ["int32=2147483647@40", "truncate@61"]. */
  ops: string[];
}

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);

/** Offsets of likely int16 string lengths: a length followed by that many printable bytes. */
export function stringFields(frame: Buffer): number[] {
  const out = frame.length >= 10 ? [8] : []; // the header's client id
  for (let i = 10; i + 2 < frame.length; i++) {
    const n = frame.readInt16BE(i);
    if (n < 1 || n > 4096 || i + 2 + n > frame.length) continue;
    let printable = true;
    for (let j = i + 2; j < i + 2 + n && printable; j++) printable = frame[j] >= 0x20 && frame[j] < 0x7f;
    if (printable) out.push(i);
  }
  return out;
}

/** Offsets of likely int32 array counts and byte lengths: small positive values that fit. */
export function countFields(frame: Buffer): number[] {
  const out: number[] = [];
  for (let i = 8; i + 4 <= frame.length; i++) {
    const n = frame.readInt32BE(i);
    if (n >= 1 && n <= Math.max(64, frame.length - i - 4) && n <= 1 << 20) out.push(i);
  }
  return out;
}

function writeInt(b: Buffer, at: number, width: 1 | 2 | 4 | 8, v: number | bigint): void {
  if (at + width > b.length) return;
  if (width === 1) b[at] = Number(v) & 0xff;
  else if (width === 2) b.writeUInt16BE(Number(v) & 0xffff, at);
  else if (width === 4) b.writeUInt32BE(Number(v) >>> 0, at);
  else b.writeBigInt64BE(BigInt(v), at);
}

/** One mutation of a frame (a copy; `frame` is not changed). */
function mutateOnce(rng: Rng, frame: Buffer, advertised: readonly ApiVersionRange[], ops: string[]): Buffer {
  let b = Buffer.from(frame);
  const at = () => rng.int(Math.max(1, b.length));
  const kind = rng.weighted([
    ["bitflip", 4],
    ["int8", 2],
    ["int16", 2],
    ["int32", 3],
    ["int64", 1],
    ["truncate", 2],
    ["extend", 2],
    ["duplicate", 1],
    ["swap", 1],
    ["version", 2],
    ["apikey", 1],
    ["string", 3],
    ["count", 3],
  ] as const);
  switch (kind) {
    case "bitflip": {
      const n = rng.range(1, 8);
      for (let i = 0; i < n && b.length > 0; i++) {
        const p = at();
        const bit = rng.int(8);
        b[p] ^= 1 << bit;
        ops.push(`bitflip@${p}.${bit}`);
      }
      break;
    }
    case "int8": {
      const p = at();
      const v = rng.pick(INT8S);
      writeInt(b, p, 1, v);
      ops.push(`int8=${hex(v)}@${p}`);
      break;
    }
    case "int16": {
      const p = at();
      const v = rng.pick(INT16S);
      writeInt(b, p, 2, v);
      ops.push(`int16=${hex(v)}@${p}`);
      break;
    }
    case "int32": {
      const p = at();
      const v = rng.pick(INT32S);
      writeInt(b, p, 4, v);
      ops.push(`int32=${hex(v)}@${p}`);
      break;
    }
    case "int64": {
      const p = at();
      const v = rng.pick(INT64S);
      writeInt(b, p, 8, v);
      ops.push(`int64=${v}@${p}`);
      break;
    }
    case "truncate": {
      const p = rng.chance(0.3) ? Math.max(0, b.length - rng.range(1, 4)) : at();
      b = b.subarray(0, p);
      ops.push(`truncate@${p}`);
      break;
    }
    case "extend": {
      const n = rng.chance(0.9) ? rng.range(1, 64) : rng.range(65, 4096);
      const junk = rng.chance(0.3) ? Buffer.alloc(n, rng.pick(INT8S)) : rng.bytes(n);
      b = Buffer.concat([b, junk]);
      ops.push(`extend+${n}`);
      break;
    }
    case "duplicate": {
      const s = at();
      const e = Math.min(b.length, s + rng.range(1, 64));
      const dst = at();
      b = Buffer.concat([b.subarray(0, dst), b.subarray(s, e), b.subarray(dst)]);
      ops.push(`dup[${s},${e})@${dst}`);
      break;
    }
    case "swap": {
      if (b.length < 4) break;
      const n = rng.range(1, Math.max(1, Math.min(32, b.length >> 1)));
      const x = rng.int(b.length - n + 1);
      const y = rng.int(b.length - n + 1);
      const tmp = Buffer.from(b.subarray(x, x + n));
      b.copy(b, x, y, y + n);
      tmp.copy(b, y);
      ops.push(`swap${n}@${x},${y}`);
      break;
    }
    case "version": {
      if (b.length < 4) break;
      const key = b.readInt16BE(0);
      const range = advertised.find((a) => a.apiKey === key);
      const lo = range?.minVersion ?? 0;
      const hi = range?.maxVersion ?? 0;
      const v = rng.pick([
        -1,
        -0x8000,
        0x7fff,
        lo - 1,
        hi + 1,
        hi + 2,
        hi + rng.range(3, 20),
        rng.int(0x10000) - 0x8000,
      ]);
      b.writeInt16BE(((v + 0x8000) & 0xffff) - 0x8000, 2);
      ops.push(`version=${v}`);
      break;
    }
    case "apikey": {
      if (b.length < 2) break;
      const v = rng.chance(0.6)
        ? rng.pick(advertised).apiKey
        : rng.pick([-1, 0x7fff, -0x8000, 67, 18, 19, 22, rng.int(100)]);
      b.writeInt16BE(((v + 0x8000) & 0xffff) - 0x8000, 0);
      ops.push(`apikey=${v}`);
      break;
    }
    case "string": {
      const fields = stringFields(b);
      if (fields.length === 0) break;
      const p = rng.pick(fields);
      const old = b.readInt16BE(p);
      const v = rng.pick([0x7fff, -1, -2, -0x8000, old + 1, old * 2, 0x4000, 0]);
      b.writeInt16BE(((v + 0x8000) & 0xffff) - 0x8000, p);
      ops.push(`strlen=${v}@${p}`);
      break;
    }
    case "count": {
      const fields = countFields(b);
      if (fields.length === 0) break;
      const p = rng.pick(fields);
      const old = b.readInt32BE(p);
      const v = rng.pick([0x7fffffff, -1, -2, 0x10000000, 0x00ffffff, old + 1, old * 1000, -0x80000000]);
      b.writeInt32BE(v | 0, p);
      ops.push(`count=${v | 0}@${p}`);
      break;
    }
  }
  return b;
}

/** One to four stacked mutations of a valid frame. */
export function mutateFrame(rng: Rng, frame: Buffer, advertised: readonly ApiVersionRange[]): Mutation {
  const ops: string[] = [];
  let b = frame;
  const n = rng.weighted([
    [1, 5],
    [2, 3],
    [3, 1],
    [4, 1],
  ] as const);
  for (let i = 0; i < n; i++) b = mutateOnce(rng, b, advertised, ops);
  return { frame: b, ops };
}

// ---- RecordBatch v2 ----

/** Recompute a batch's CRC-32C over bytes 21..end (in place). */
export function fixCrc(b: Buffer): Buffer {
  if (b.length >= RECORDS) b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

/** A batch header around arbitrary records bytes, sizes and CRC consistent. */
export function batchAround(
  records: Buffer,
  count: number,
  attributes = 0,
  lastOffsetDelta = count - 1,
): Buffer {
  const b = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  b.writeInt32BE(b.length - 12, BATCH_LENGTH);
  b.writeInt32BE(-1, 12);
  b[MAGIC] = 2;
  b.writeInt16BE(attributes, ATTRIBUTES);
  b.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA);
  b.writeBigInt64BE(BigInt(SAMPLE_TIME), 27);
  b.writeBigInt64BE(BigInt(SAMPLE_TIME), 35);
  b.writeBigInt64BE(-1n, 43);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(count, RECORD_COUNT);
  records.copy(b, RECORDS);
  return fixCrc(b);
}

/** A zigzag varint of any safe integer (up to 10 bytes). */
function zigzag(v: bigint): Buffer {
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  z &= (1n << 64n) - 1n;
  const out: number[] = [];
  do {
    let byte = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) byte |= 0x80;
    out.push(byte);
  } while (z !== 0n);
  return Buffer.from(out);
}

const HUGE_VARINTS: bigint[] = [
  0x7fffffffn,
  -0x80000000n,
  0x7fffffffffffffffn,
  0x100000000n,
  -2n,
  -100n,
  1n << 40n,
];

/**
 * One record's bytes (without its length prefix) with one field replaced by a strange value.
 * `field`: which one is odd; "none" gives a well-formed record.
 */
function oddRecord(rng: Rng, index: number, field: string): Buffer {
  const key = rng.bytes(rng.int(8));
  const value = rng.bytes(rng.int(32));
  const huge = () => zigzag(rng.pick(HUGE_VARINTS));
  const parts: Buffer[] = [Buffer.from([0])]; // attributes
  parts.push(field === "timestamp" ? huge() : zigzag(BigInt(rng.int(3))));
  parts.push(
    field === "offsetDelta" ? zigzag(BigInt(rng.pick([index + 1, -1, 0x7fffffff]))) : zigzag(BigInt(index)),
  );
  if (field === "keyLength")
    parts.push(rng.chance(0.5) ? huge() : zigzag(BigInt(rng.pick([-2, -5, -0x7fffffff]))));
  else parts.push(zigzag(BigInt(key.length)), key);
  if (field === "valueLength") parts.push(rng.chance(0.5) ? huge() : zigzag(BigInt(rng.pick([-2, -7]))));
  else parts.push(zigzag(BigInt(value.length)), value);
  if (field === "headerCount") parts.push(rng.chance(0.5) ? huge() : zigzag(BigInt(rng.pick([-1, -2]))));
  else if (field === "headerKey")
    parts.push(zigzag(1n), rng.chance(0.5) ? huge() : zigzag(-1n), Buffer.from("hk"));
  else if (field === "headerValue") parts.push(zigzag(1n), zigzag(2n), Buffer.from("hk"), huge());
  else if (field === "overlong") parts.push(Buffer.alloc(rng.range(10, 16), 0xff), Buffer.from([0x01]));
  else parts.push(zigzag(1n), zigzag(1n), Buffer.from("h"), zigzag(-1n));
  return Buffer.concat(parts);
}

/** Records section of `count` records, one of them odd (or its length prefix odd). */
function oddRecords(rng: Rng, count: number, ops: string[]): Buffer {
  const field = rng.pick([
    "timestamp",
    "offsetDelta",
    "keyLength",
    "valueLength",
    "headerCount",
    "headerKey",
    "headerValue",
    "overlong",
    "length",
    "lengthShort",
    "lengthLong",
    "none",
  ]);
  const odd = rng.int(count);
  ops.push(`record[${odd}].${field}`);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const f = i === odd ? field : "none";
    const body = oddRecord(rng, i, f);
    if (f === "length") parts.push(zigzag(rng.pick(HUGE_VARINTS)), body);
    else if (f === "lengthShort")
      parts.push(zigzag(BigInt(Math.max(0, body.length - rng.range(1, 5)))), body);
    else if (f === "lengthLong") parts.push(zigzag(BigInt(body.length + rng.range(1, 5))), body);
    else parts.push(zigzag(BigInt(body.length)), body);
  }
  return Buffer.concat(parts);
}

let bomb: Buffer | null = null;
/** gzip of 80 MiB of zeros (about 80 KB): above the broker's 64 MiB decompression bound. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(80 * 1024 * 1024), { level: 9 });
  return bomb;
}

/** A valid batch of 1-10 records (keys, values, headers) drawn from the rng. */
export function validBatch(rng: Rng): Buffer {
  return encodeBatch(sampleRecords(rng, rng.range(1, 10)), 0, SAMPLE_TIME);
}

/** A corrupted (or, sometimes, valid) RecordBatch v2 record set for a Produce partition. */
export function corruptBatch(rng: Rng): { records: Buffer; ops: string[] } {
  const ops: string[] = [];
  const count = rng.range(1, 6);
  const kind = rng.weighted([
    ["valid", 1],
    ["badCrc", 2],
    ["garbageRecords", 3],
    ["oddRecords", 5],
    ["countMismatch", 2],
    ["codecOnPlain", 3],
    ["compressedGarbage", 2],
    ["compressedOdd", 2],
    ["gzipBomb", 0.1],
    ["headerField", 3],
    ["mutatedFixedCrc", 4],
    ["short", 1],
    ["twoBatches", 1],
  ] as const);
  ops.push(kind);
  let b: Buffer;
  switch (kind) {
    case "valid":
      b = validBatch(rng);
      break;
    case "badCrc":
      b = validBatch(rng);
      b.writeUInt32BE(rng.u32(), CRC);
      break;
    case "garbageRecords":
      b = batchAround(rng.bytes(rng.size(2048)), count);
      break;
    case "oddRecords":
      b = batchAround(oddRecords(rng, count, ops), count);
      break;
    case "countMismatch": {
      b = validBatch(rng);
      const n = b.readInt32BE(RECORD_COUNT);
      const which = rng.int(4);
      if (which === 0) b.writeInt32BE(n + rng.range(1, 3), RECORD_COUNT);
      else if (which === 1) b.writeInt32BE(rng.pick([0, -1, 0x7fffffff, n - 1]), RECORD_COUNT);
      else if (which === 2) b.writeInt32BE(rng.pick([n, n + 5, -1, 0x7fffffff]), LAST_OFFSET_DELTA);
      else {
        const v = rng.pick([n + 1, 0x7fffffff, 0, -1]);
        b.writeInt32BE(v, RECORD_COUNT);
        b.writeInt32BE(v - 1, LAST_OFFSET_DELTA);
      }
      ops.push(`variant${which}`);
      fixCrc(b);
      break;
    }
    case "codecOnPlain": {
      b = validBatch(rng);
      const codec = rng.pick([1, 3, 1, 3, 2, 4, 5, 7]);
      b.writeInt16BE((b.readInt16BE(ATTRIBUTES) & ~7) | codec, ATTRIBUTES);
      ops.push(`codec${codec}`);
      fixCrc(b);
      break;
    }
    case "compressedGarbage":
    case "compressedOdd": {
      const plain = kind === "compressedOdd" ? oddRecords(rng, count, ops) : rng.bytes(rng.size(4096));
      const lz4 = rng.chance(0.5);
      ops.push(lz4 ? "lz4" : "gzip");
      b = batchAround(lz4 ? compressFrameSync(plain) : gzipSync(plain), count, lz4 ? 3 : 1);
      break;
    }
    case "gzipBomb":
      b = batchAround(gzipBomb(), 1, 1);
      break;
    case "headerField": {
      b = validBatch(rng);
      const field = rng.pick(["magic", "baseOffset", "batchLength", "attributes", "producer", "timestamps"]);
      ops.push(field);
      if (field === "magic") b[MAGIC] = rng.pick([0, 1, 3, 0xff]);
      else if (field === "baseOffset") b.writeBigInt64BE(rng.pick(INT64S.slice(0, 3)), BASE_OFFSET);
      else if (field === "batchLength")
        b.writeInt32BE(rng.pick([0, -1, 0x7fffffff, b.length - 12 + 1, b.length - 13, 49]), BATCH_LENGTH);
      else if (field === "attributes")
        b.writeInt16BE(rng.pick([0x10, 0x20, 0x30, 0x08, -1, 0x7fff]), ATTRIBUTES);
      else if (field === "producer") {
        b.writeBigInt64BE(rng.pick([0n, 1n, 0x7fffffffffffffffn]), 43);
        b.writeInt16BE(rng.pick([0, 0x7fff]), 51);
        b.writeInt32BE(rng.pick([0, 0x7fffffff]), 53);
      } else {
        b.writeBigInt64BE(rng.pick(INT64S), 27);
        b.writeBigInt64BE(rng.pick(INT64S), 35);
      }
      if (field !== "magic" || rng.chance(0.5)) fixCrc(b);
      break;
    }
    case "mutatedFixedCrc": {
      // Random damage past the CRC, then a correct CRC: exercises the record walk.
      b = validBatch(rng);
      const n = rng.range(1, 6);
      for (let i = 0; i < n; i++) {
        const p = rng.range(ATTRIBUTES, b.length - 1);
        b[p] = rng.chance(0.5) ? rng.pick(INT8S) : b[p] ^ (1 << rng.int(8));
        ops.push(`@${p}`);
      }
      if (rng.chance(0.2)) {
        b = b.subarray(0, rng.range(RECORDS, b.length));
        b.writeInt32BE(b.length - 12, BATCH_LENGTH);
        ops.push(`cut${b.length}`);
      }
      fixCrc(b);
      break;
    }
    case "short":
      b = validBatch(rng).subarray(0, rng.int(BATCH_HEADER_BYTES));
      break;
    case "twoBatches":
      b = Buffer.concat([validBatch(rng), validBatch(rng)]);
      break;
  }
  return { records: b, ops };
}
