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
import { compressFrameSync } from "lz4-napi";
import { Reader } from "./reader.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  Compression,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORD_COUNT,
  RECORDS,
  readInt64,
  writeInt64,
} from "./record_batch.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES, decodeLz4Frame } from "./record_validation.ts";
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

/**
 * A batch of a transaction written by a coordinator (TxnOffsetCommit's offsets): producer id
 * and epoch set, base sequence -1 (a coordinator's batches carry no sequence), the
 * transactional attribute set, the CRC recomputed. In place; returns the batch.
 */
export function markTransactional(batch: Buffer, producerId: number, producerEpoch: number): Buffer {
  writeTs(batch, 43, producerId);
  batch.writeInt16BE(producerEpoch, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES) | 0x10, ATTRIBUTES);
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

// ---- Batches from raw records (the log cleaner rewrites stored batches through these) ----

/** The fixed header fields of a RecordBatch v2 (record_batch_layout.ts draws them). */
export interface BatchHeader {
  baseOffset: number;
  partitionLeaderEpoch: number;
  /** int16: codec (bits 0-2), timestamp type, transactional, control, delete horizon (bit 6). */
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** The header fields of a stored or produced batch. */
export function readBatchHeader(batch: Uint8Array): BatchHeader {
  const b = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
  return {
    baseOffset: readInt64(b, BASE_OFFSET),
    partitionLeaderEpoch: b.readInt32BE(PARTITION_LEADER_EPOCH),
    attributes: b.readInt16BE(ATTRIBUTES),
    lastOffsetDelta: b.readInt32BE(LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(b, BASE_TIMESTAMP),
    maxTimestamp: readInt64(b, MAX_TIMESTAMP),
    producerId: readInt64(b, PRODUCER_ID),
    producerEpoch: b.readInt16BE(PRODUCER_EPOCH),
    baseSequence: b.readInt32BE(BASE_SEQUENCE),
    recordCount: b.readInt32BE(RECORD_COUNT),
  };
}

/**
 * A complete RecordBatch v2 from its header fields and its records section as it is to be
 * stored (already compressed when the attributes name a codec: compressRecords). batchLength,
 * magic 2 and the CRC-32C (of bytes [21, end), as checkBatchHeader checks it) are computed.
 */
export function assembleBatch(h: BatchHeader, records: Uint8Array): Buffer {
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length);
  writeInt64(batch, BASE_OFFSET, h.baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH);
  batch[MAGIC] = 2;
  batch.writeInt16BE(h.attributes, ATTRIBUTES);
  batch.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA);
  writeInt64(batch, BASE_TIMESTAMP, h.baseTimestamp);
  writeInt64(batch, MAX_TIMESTAMP, h.maxTimestamp);
  writeInt64(batch, PRODUCER_ID, h.producerId);
  batch.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH);
  batch.writeInt32BE(h.baseSequence, BASE_SEQUENCE);
  batch.writeInt32BE(h.recordCount, RECORD_COUNT);
  batch.set(records, RECORDS);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)), CRC);
  return batch;
}

/**
 * A records section compressed with one of the codecs the broker stores: gzip (node:zlib) or
 * lz4 (an LZ4 frame, lz4-napi, as the Node client writes it); NONE returns the bytes as they are.
 * Independent of the `codecs` table (no registration needed).
 */
export function compressRecords(codec: number, raw: Uint8Array): Buffer {
  const data = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return gzipSync(data);
    case Compression.LZ4:
      return compressFrameSync(data);
    default:
      throw new Error(`compression codec ${codec} is not supported (none, gzip, lz4)`);
  }
}

/**
 * The records section of a batch, decompressed (gzip or lz4) as the writer's validation does,
 * never past `maxBytes`: a view of the batch when uncompressed; for lz4 frames without
 * checksums a view of this thread's scratch buffer, valid until the next lz4 decode on this
 * thread (copy it to keep it). Throws when it does not decompress or would exceed maxBytes.
 */
export function decompressRecords(batch: Buffer, maxBytes = DEFAULT_MAX_UNCOMPRESSED_BYTES): Uint8Array {
  const codec = batch.readInt16BE(ATTRIBUTES) & ATTR_COMPRESSION_MASK;
  const section = batch.subarray(RECORDS);
  switch (codec) {
    case Compression.NONE:
      return section;
    case Compression.GZIP:
      try {
        return gunzipSync(section, { maxOutputLength: Math.max(1, maxBytes) });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new Error(
          err.code === "ERR_BUFFER_TOO_LARGE"
            ? `gzip records decompress to more than ${maxBytes} bytes`
            : `gzip records do not decompress: ${err.message}`,
        );
      }
    case Compression.LZ4: {
      const out = decodeLz4Frame(section, 0, section.length, maxBytes);
      if (typeof out === "string") throw new Error(`lz4 records do not decompress: ${out}`);
      return out;
    }
    default:
      throw new Error(`compression codec ${codec} is not supported (none, gzip, lz4)`);
  }
}
