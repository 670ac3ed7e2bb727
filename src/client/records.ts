// Reading fetched record sets, lazily (browser-safe). A fetch reply's record set is split into
// batches by reading only their 61-byte headers (RawBatch: a view, no copy); records are
// decoded one at a time as the consumer asks for them (BatchReader), keys, values and header
// values being views into the fetched (or decompressed) bytes, never copies. A batch whose
// records region is compressed is decompressed once, when its first record is asked for.

import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  RECORD_COUNT,
} from "../protocol/record_batch_layout.ts";
import { utf8Decode } from "../protocol/utf8.ts";

/** Record headers as kafkajs gives them: a key seen more than once maps to an array. */
export interface RecordHeaders<B extends Uint8Array = Uint8Array> {
  [key: string]: B | B[] | null;
}

export interface ConsumedRecord<B extends Uint8Array = Uint8Array> {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch (CreateTime, or LogAppendTime when the topic uses it). */
  timestamp: number;
  key: B | null;
  value: B | null;
  headers: RecordHeaders<B>;
}

/** One batch of a fetched record set, not decoded. */
export interface RawBatch {
  /** The whole batch (header and records), a view into the fetch reply. */
  data: Uint8Array;
  baseOffset: number;
  lastOffset: number;
  count: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

function int32(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

function int64(b: Uint8Array, at: number): number {
  return int32(b, at) * 4294967296 + (int32(b, at + 4) >>> 0);
}

/**
 * The complete batches of a record set (a trailing partial batch, which Kafka may send when a
 * batch straddles max_bytes, is left out). Batches of an older magic are skipped.
 */
export function splitRecordSet(data: Uint8Array): RawBatch[] {
  const out: RawBatch[] = [];
  let at = 0;
  while (at + BATCH_HEADER_BYTES <= data.length) {
    const size = int32(data, at + BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES || at + size > data.length) break;
    const d = data.subarray(at, at + size);
    at += size;
    const baseOffset = int64(d, BASE_OFFSET);
    const lastOffset = baseOffset + int32(d, LAST_OFFSET_DELTA);
    if (d[MAGIC] !== 2) continue; // magic 0/1 message sets: not produced by Milena or modern clients
    out.push({
      data: d,
      baseOffset,
      lastOffset,
      count: int32(d, RECORD_COUNT),
      attributes: (d[ATTRIBUTES] << 8) | d[ATTRIBUTES + 1],
      baseTimestamp: int64(d, BASE_TIMESTAMP),
      maxTimestamp: int64(d, MAX_TIMESTAMP),
    });
  }
  return out;
}

export function isControlBatch(b: RawBatch): boolean {
  return (b.attributes & ATTR_CONTROL) !== 0;
}

export function compressionOf(b: RawBatch): number {
  return b.attributes & ATTR_COMPRESSION_MASK;
}

const NO_HEADERS: RecordHeaders<never> = Object.freeze({}) as RecordHeaders<never>;

/** Set by zz(): the decoded value and the position after it. */
let zzValue = 0;
let zzEnd = 0;

/** A zigzag varint of one or two bytes at p: true and zzValue / zzEnd set; false otherwise. */
function zz(d: Uint8Array, p: number): boolean {
  const c = d[p];
  if (c < 0x80) {
    zzValue = c & 1 ? -((c + 1) >>> 1) : c >>> 1;
    zzEnd = p + 1;
    return true;
  }
  const c2 = d[p + 1];
  if (c >= 0x80 && c2 < 0x80) {
    const u = (c & 0x7f) | (c2 << 7);
    zzValue = u & 1 ? -((u + 1) >>> 1) : u >>> 1;
    zzEnd = p + 2;
    return true;
  }
  return false;
}

/** Decodes the records of one batch, in order, one per next(). */
export class BatchReader<B extends Uint8Array = Uint8Array> {
  private pos: number;
  private left: number;
  private readonly logAppendTime: boolean;

  /**
   * `records` is the records region: the batch bytes from RECORDS (61) on, or their decompression.
   */
  constructor(
    readonly batch: RawBatch,
    private readonly records: Uint8Array,
    private readonly topic: string,
    private readonly partition: number,
  ) {
    this.pos = 0;
    this.left = batch.count;
    this.logAppendTime = (batch.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  }

  get remaining(): number {
    return this.left;
  }

  /** A zigzag varint (Kafka's varint / varlong). */
  private varint(): number {
    const b = this.records;
    let p = this.pos;
    let c = b[p++];
    if (c < 0x80) {
      // one byte: lengths below 64, small deltas (the common case)
      this.pos = p;
      return c & 1 ? -((c + 1) >>> 1) : c >>> 1;
    }
    let u = c & 0x7f;
    c = b[p++];
    u |= (c & 0x7f) << 7;
    if (c >= 0x80) {
      c = b[p++];
      u |= (c & 0x7f) << 14;
      if (c >= 0x80) {
        c = b[p++];
        u |= (c & 0x7f) << 21;
        if (c >= 0x80) {
          this.pos = p - 4;
          return this.longVarint();
        }
      }
    }
    if (p > b.length) throw new RangeError("record runs past its batch");
    this.pos = p;
    return u & 1 ? -((u + 1) / 2) : u / 2;
  }

  /** A varint of 5 bytes or more (timestamps deltas can be), exact up to 2^53. */
  private longVarint(): number {
    const b = this.records;
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= b.length) throw new RangeError("record runs past its batch");
      const c = b[this.pos++];
      v += (c & 0x7f) * mul;
      if ((c & 0x80) === 0) break;
      mul *= 128;
      if (mul > 2 ** 63) throw new RangeError("varint too long");
    }
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  private bytes(len: number): B | null {
    if (len < 0) return null;
    const at = this.pos;
    if (at + len > this.records.length) throw new RangeError("record runs past its batch");
    this.pos = at + len;
    return this.records.subarray(at, at + len) as B;
  }

  /** The next record, or null when the batch is done. */
  next(): ConsumedRecord<B> | null {
    if (this.left <= 0) return null;
    this.left--;
    const d = this.records;
    // Varints of one or two bytes (attributes, deltas, lengths below 8 KiB: the usual case) are
    // decoded inline; longer ones, and a truncated record, go through varint().
    let p = this.pos;
    const length = zz(d, p) ? zzValue : this.slowVarint(p);
    p = this.pos = zzEnd;
    const end = p + length;
    p++; // attributes
    const tsDelta = zz(d, p) ? zzValue : this.slowVarint(p);
    p = zzEnd;
    const offsetDelta = zz(d, p) ? zzValue : this.slowVarint(p);
    p = zzEnd;
    let key: B | null = null;
    if (d[p] === 1)
      p++; // null key
    else {
      this.pos = p;
      key = this.bytes(this.varint());
      p = this.pos;
    }
    let value: B | null = null;
    const vl = zz(d, p) ? zzValue : this.slowVarint(p);
    p = zzEnd;
    if (vl >= 0) {
      if (p + vl > d.length) throw new RangeError("record runs past its batch");
      value = d.subarray(p, p + vl) as B;
      p += vl;
    }
    let headers: RecordHeaders<B> = NO_HEADERS as RecordHeaders<B>;
    if (d[p] !== 0) {
      this.pos = p;
      const hc = this.varint();
      if (hc > 0) {
        headers = {};
        for (let i = 0; i < hc; i++) {
          const kl = this.varint();
          const k = utf8Decode(this.records, this.pos, this.pos + kl);
          this.pos += kl;
          const v = this.bytes(this.varint());
          const prev = headers[k];
          if (prev === undefined) headers[k] = v;
          else if (Array.isArray(prev)) {
            if (v !== null) prev.push(v);
          } else if (v !== null) headers[k] = prev === null ? v : [prev, v];
        }
      }
    }
    this.pos = end;
    const b = this.batch;
    return {
      topic: this.topic,
      partition: this.partition,
      offset: b.baseOffset + offsetDelta,
      timestamp: this.logAppendTime ? b.maxTimestamp : b.baseTimestamp + tsDelta,
      key,
      value,
      headers,
    };
  }

  /** varint() at p, leaving its end in zzEnd. */
  private slowVarint(p: number): number {
    this.pos = p;
    const v = this.varint();
    zzEnd = this.pos;
    return v;
  }
}
