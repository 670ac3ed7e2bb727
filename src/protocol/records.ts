// Records inside a RecordBatch v2 (DefaultRecord.java). The broker never calls this on the
// produce or fetch path; it is for Milena's client, the tools, the tests, and ListOffsets by
// timestamp (which needs the first record at or after a time).
//
// Record (varints are zigzag):
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
//   headerCount varint | [headerKeyLength varint | headerKey | headerValueLength varint | value]

import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { Reader } from "./reader.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  Compression,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  RECORD_COUNT,
  RECORDS,
  readInt64,
} from "./record_batch.ts";
import { Writer } from "./writer.ts";

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface NewRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: { [key: string]: Buffer | string } | RecordHeader[];
  timestamp?: number;
}

/** Compression codecs other than gzip plug in here (lz4 via lz4-napi in Node). */
export interface Codec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

export const codecs = new Map<number, Codec>([
  [Compression.GZIP, { compress: (d) => gzipSync(d), decompress: (d) => gunzipSync(d) }],
]);

function toBuf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? Buffer.from(v) : v;
}

/** Encode records into a complete RecordBatch v2 (baseOffset 0, producerId -1). */
export function encodeBatch(
  records: readonly NewRecord[],
  compression: number = Compression.NONE,
  now = Date.now(),
): Buffer {
  if (records.length === 0) throw new RangeError("a batch needs at least one record");
  const baseTimestamp = records[0].timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  const body = new Writer(records.length * 32);
  const rec = new Writer(64);
  records.forEach((r, i) => {
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    rec.offset = 0;
    rec
      .int8(0)
      .varlong(ts - baseTimestamp)
      .varint(i);
    const key = toBuf(r.key);
    if (key === null) rec.varint(-1);
    else rec.varint(key.length).raw(key);
    const value = toBuf(r.value);
    if (value === null) rec.varint(-1);
    else rec.varint(value.length).raw(value);
    const headers: RecordHeader[] = Array.isArray(r.headers)
      ? r.headers
      : Object.entries(r.headers ?? {}).map(([k, v]) => ({ key: k, value: toBuf(v) }));
    rec.varint(headers.length);
    for (const h of headers) {
      const k = Buffer.from(h.key);
      rec.varint(k.length).raw(k);
      if (h.value === null) rec.varint(-1);
      else rec.varint(h.value.length).raw(h.value);
    }
    body.varint(rec.offset).raw(rec.view());
  });
  let payload = body.view();
  if (compression !== Compression.NONE) {
    const codec = codecs.get(compression);
    if (!codec) throw new Error(`compression codec ${compression} is not available`);
    payload = codec.compress(Buffer.from(payload));
  }
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + payload.length);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(-1, 12); // partitionLeaderEpoch
  batch[16] = 2; // magic
  batch.writeInt16BE(compression, ATTRIBUTES);
  batch.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA);
  writeTs(batch, BASE_TIMESTAMP, baseTimestamp);
  writeTs(batch, BASE_TIMESTAMP + 8, maxTimestamp);
  writeTs(batch, 43, -1); // producerId
  batch.writeInt16BE(-1, 51); // producerEpoch
  batch.writeInt32BE(-1, 53); // baseSequence
  batch.writeInt32BE(records.length, RECORD_COUNT);
  batch.set(payload, RECORDS);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)), CRC);
  return batch;
}

function writeTs(b: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  b.writeInt32BE(hi, at);
  b.writeUInt32BE(v - hi * 4294967296, at + 4);
}

/** Decode every record of one batch (decompressing with `codecs`). */
export function decodeBatch(batch: Buffer): Record[] {
  const baseOffset = readInt64(batch, BASE_OFFSET);
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP);
  const count = batch.readInt32BE(RECORD_COUNT);
  const codecId = batch.readInt16BE(ATTRIBUTES) & ATTR_COMPRESSION_MASK;
  let data = batch.subarray(RECORDS);
  if (codecId !== Compression.NONE) {
    const codec = codecs.get(codecId);
    if (!codec) throw new Error(`compression codec ${codecId} is not available`);
    data = codec.decompress(data);
  }
  const r = new Reader(data);
  const out: Record[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    const end = r.offset + length;
    r.int8();
    const timestamp = baseTimestamp + r.varlong();
    const offset = baseOffset + r.varint();
    const keyLen = r.varint();
    const key = keyLen < 0 ? null : Buffer.from(data.subarray(r.offset, r.offset + keyLen));
    if (keyLen > 0) r.skip(keyLen);
    const valLen = r.varint();
    const value = valLen < 0 ? null : Buffer.from(data.subarray(r.offset, r.offset + valLen));
    if (valLen > 0) r.skip(valLen);
    const headerCount = r.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const kLen = r.varint();
      const k = data.toString("utf8", r.offset, r.offset + kLen);
      r.skip(kLen);
      const vLen = r.varint();
      const v = vLen < 0 ? null : Buffer.from(data.subarray(r.offset, r.offset + vLen));
      if (vLen > 0) r.skip(vLen);
      headers.push({ key: k, value: v });
    }
    r.offset = end;
    out.push({ offset, timestamp, key, value, headers });
  }
  return out;
}

/** Split a fetched record set into whole batches (a trailing partial batch is dropped). */
export function splitBatches(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + LOG_OVERHEAD <= data.length) {
    const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
    if (at + size > data.length) break;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}
