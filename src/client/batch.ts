// RecordBatch v2 encoding for the producer, in plain TypeScript (browser-safe; the platform gives
// the byte arrays, UTF-8 and CRC-32C). Records are written straight into one buffer per batch,
// after a 61-byte hole for the batch header: no per-record allocation beyond what the caller
// passes in. Closing the batch fills the header, compresses the records region when asked
// and computes the CRC-32C once (bytes 21..end). Layout: src/protocol/record_batch_layout.ts.
//
// Record (DefaultRecord.java; varints zigzag):
//   length varint | attributes int8 (0) | timestampDelta varlong | offsetDelta varint |
//   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
//   headerCount varint | [keyLength varint | key (UTF-8) | valueLength varint (-1 = null) | value]

import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORD_COUNT,
} from "../protocol/record_batch_layout.ts";
import type { Platform } from "./platform.ts";

export { BATCH_HEADER_BYTES };

/** What a message's headers may be: kafkajs's object form, or a list of key/value pairs. */
export type MessageHeaders =
  | { [key: string]: Uint8Array | string | null | undefined | (Uint8Array | string)[] }
  | { key: string; value: Uint8Array | string | null }[];

/** Bytes of an unsigned varint. */
export function uvarintSize(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  let n = 5;
  for (u = Math.floor(u / 0x800000000); u > 0; u = Math.floor(u / 0x80)) n++;
  return n;
}

/** Zigzag of a number up to 2^52 in magnitude. */
function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function writeUvarint(buf: Uint8Array, p: number, u: number): number {
  while (u >= 0x80) {
    buf[p++] = (u & 0x7f) | 0x80;
    u = u >= 0x80000000 ? Math.floor(u / 0x80) : u >>> 7;
  }
  buf[p++] = u;
  return p;
}

function valueLength(p: Platform, v: Uint8Array | string | null | undefined): number {
  if (v === null || v === undefined) return -1;
  return typeof v === "string" ? p.utf8Length(v) : v.length;
}

/** Encoded size of a header set (count varint included), or 1 for none. */
export function headersSize(p: Platform, headers: MessageHeaders | undefined): number {
  if (headers === undefined || headers === null) return 1;
  let count = 0;
  let size = 0;
  const one = (k: string, v: Uint8Array | string | null): void => {
    const kl = p.utf8Length(k);
    const vl = valueLength(p, v);
    size += uvarintSize(kl * 2) + kl + uvarintSize(zigzag(vl)) + Math.max(vl, 0);
    count++;
  };
  if (Array.isArray(headers)) for (const h of headers) one(h.key, h.value);
  else {
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) one(k, x);
      else one(k, v);
    }
  }
  return uvarintSize(count * 2) + size;
}

function writeBytes(p: Platform, buf: Uint8Array, at: number, v: Uint8Array | string, len: number): number {
  if (typeof v === "string") p.utf8Write(buf, at, v);
  else if (len < 32) for (let i = 0; i < len; i++) buf[at + i] = v[i];
  else buf.set(v, at);
  return at + len;
}

function writeHeaders(pl: Platform, buf: Uint8Array, p: number, headers: MessageHeaders | undefined): number {
  if (headers === undefined || headers === null) {
    buf[p] = 0;
    return p + 1;
  }
  let count = 0;
  if (Array.isArray(headers)) count = headers.length;
  else
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined) count += Array.isArray(v) ? v.length : 1;
    }
  p = writeUvarint(buf, p, count * 2);
  const one = (k: string, v: Uint8Array | string | null): void => {
    const kl = pl.utf8Length(k);
    p = writeUvarint(buf, p, kl * 2);
    pl.utf8Write(buf, p, k);
    p += kl;
    const vl = valueLength(pl, v);
    p = writeUvarint(buf, p, zigzag(vl));
    if (vl > 0) p = writeBytes(pl, buf, p, v as Uint8Array | string, vl);
  };
  if (Array.isArray(headers)) for (const h of headers) one(h.key, h.value);
  else
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) one(k, x);
      else one(k, v);
    }
  return p;
}

/**
 * Body size of a record (everything after its length varint) at offset delta `offsetDelta`,
 * given key and value lengths (-1 = null) and the headers' size. The record takes
 * `body + uvarintSize(body * 2)` bytes.
 */
export function recordBodySize(
  tsDelta: number,
  offsetDelta: number,
  keyLen: number,
  valueLen: number,
  hdrSize: number,
): number {
  return (
    1 +
    uvarintSize(zigzag(tsDelta)) +
    uvarintSize(offsetDelta * 2) +
    uvarintSize(zigzag(keyLen)) +
    Math.max(keyLen, 0) +
    uvarintSize(zigzag(valueLen)) +
    Math.max(valueLen, 0) +
    hdrSize
  );
}

/** One RecordBatch v2 being built. */
export class BatchBuilder {
  buf: Uint8Array;
  used = BATCH_HEADER_BYTES;
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;

  /** `buf`: a buffer to reuse (its length is the capacity); else one of `capacity` bytes. */
  constructor(
    private readonly platform: Platform,
    capacity: number,
    buf?: Uint8Array,
  ) {
    this.buf = buf ?? platform.alloc(capacity);
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** Body size of the next record (see recordBodySize), to decide whether it fits. */
  bodySize(ts: number, keyLen: number, valueLen: number, hdrSize: number): number {
    const delta = this.count === 0 ? 0 : ts - this.baseTimestamp;
    const od = this.count;
    return (
      1 +
      (delta === 0 ? 1 : uvarintSize(zigzag(delta))) +
      (od < 64 ? 1 : uvarintSize(od * 2)) +
      (keyLen < 0 ? 1 : uvarintSize(keyLen * 2) + keyLen) +
      (valueLen < 0 ? 1 : uvarintSize(valueLen * 2) + valueLen) +
      hdrSize
    );
  }

  /**
   * Append a record whose body is `body` bytes (from bodySize, and known to fit). keyLen /
   * valueLen as given to bodySize.
   */
  append(
    body: number,
    ts: number,
    key: Uint8Array | string | null,
    keyLen: number,
    value: Uint8Array | string | null,
    valueLen: number,
    headers: MessageHeaders | undefined,
  ): void {
    const pl = this.platform;
    const buf = this.buf;
    if (this.count === 0) {
      this.baseTimestamp = ts;
      this.maxTimestamp = ts;
    } else if (ts > this.maxTimestamp) this.maxTimestamp = ts;
    const delta = ts - this.baseTimestamp;
    let p = writeUvarint(buf, this.used, body * 2);
    buf[p++] = 0; // attributes
    p = writeUvarint(buf, p, zigzag(delta));
    p = writeUvarint(buf, p, this.count * 2);
    if (keyLen < 0) buf[p++] = 1;
    else {
      p = writeUvarint(buf, p, keyLen * 2);
      if (keyLen > 0) p = writeBytes(pl, buf, p, key as Uint8Array | string, keyLen);
    }
    if (valueLen < 0) buf[p++] = 1;
    else {
      p = writeUvarint(buf, p, valueLen * 2);
      if (valueLen > 0) p = writeBytes(pl, buf, p, value as Uint8Array | string, valueLen);
    }
    p = writeHeaders(pl, buf, p, headers);
    this.used = p;
    this.count++;
  }

  /**
   * The finished batch: header filled, records compressed with `codec` (when compression is not
   * 0), CRC-32C set. Asynchronous only when the codec is.
   */
  finish(
    compression: number,
    compress: ((d: Uint8Array) => Uint8Array | Promise<Uint8Array>) | null,
    idempotence: { producerId: number; producerEpoch: number; baseSequence: number } | null = null,
  ): Uint8Array | Promise<Uint8Array> {
    this.writeHeader(this.buf, compression, idempotence);
    if (compression === 0 || compress === null) return this.seal(this.buf.subarray(0, this.used));
    const out = compress(this.buf.subarray(BATCH_HEADER_BYTES, this.used));
    if (out instanceof Promise) return out.then((c) => this.withPayload(c));
    return this.withPayload(out);
  }

  private withPayload(payload: Uint8Array): Uint8Array {
    const b = this.platform.alloc(BATCH_HEADER_BYTES + payload.length);
    b.set(this.buf.subarray(0, BATCH_HEADER_BYTES));
    b.set(payload, BATCH_HEADER_BYTES);
    return this.seal(b);
  }

  private writeHeader(
    b: Uint8Array,
    compression: number,
    idem: { producerId: number; producerEpoch: number; baseSequence: number } | null,
  ): void {
    const v = new DataView(b.buffer, b.byteOffset, BATCH_HEADER_BYTES);
    setInt64(v, BASE_OFFSET, 0); // the broker assigns it
    v.setInt32(PARTITION_LEADER_EPOCH, -1);
    v.setInt8(MAGIC, 2);
    v.setInt16(ATTRIBUTES, compression); // codec, CreateTime, not transactional
    v.setInt32(LAST_OFFSET_DELTA, this.count - 1);
    setInt64(v, BASE_TIMESTAMP, this.baseTimestamp);
    setInt64(v, MAX_TIMESTAMP, this.maxTimestamp);
    // -1s when not idempotent
    setInt64(v, PRODUCER_ID, idem?.producerId ?? -1);
    v.setInt16(PRODUCER_EPOCH, idem?.producerEpoch ?? -1);
    v.setInt32(BASE_SEQUENCE, idem?.baseSequence ?? -1);
    v.setInt32(RECORD_COUNT, this.count);
  }

  /** Set batchLength and the CRC-32C of bytes 21..end. */
  private seal(b: Uint8Array): Uint8Array {
    const v = new DataView(b.buffer, b.byteOffset, BATCH_HEADER_BYTES);
    v.setInt32(BATCH_LENGTH, b.length - LOG_OVERHEAD);
    v.setUint32(CRC, this.platform.crc32c(b.subarray(ATTRIBUTES)));
    return b;
  }
}

function setInt64(v: DataView, at: number, n: number): void {
  const hi = Math.floor(n / 4294967296);
  v.setInt32(at, hi);
  v.setUint32(at + 4, n - hi * 4294967296);
}
