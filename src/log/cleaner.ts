// The log cleaner's cleaning pass (Kafka's LogCleaner / Cleaner.cleanSegments / MemoryRecords.
// filterTo, with KIP-534's delete horizon): the closed segments of a compacted partition are read,
// and a copy keeping only the latest record of each key is written next to them as .cleaned files.
// Synchronous, self-contained: it runs inside a worker of the cleaner pool, never touches the
// original segments (it only reads them) and takes no lock; cleaner_swap.ts swaps the result in.
//
// One pass, in two walks of the segments:
//   1. offset map  the dirty section [firstDirtyOffset, endOffset): key -> offset of its latest
//                  data record (tombstones included: a delete supersedes older values). Records
//                  of aborted transactions and control batches are not mapped. The map is bounded
//                  (maxMapBytes): when the dirty section holds more distinct keys than fit, the
//                  whole segments mapped so far are cleaned and nextDirtyOffset says where the
//                  next pass starts (the segment where the map filled). Entries it took from that
//                  segment before filling are harmless: each points at a record that stays (the
//                  segment is not cleaned in this pass), so the older records it drops are
//                  superseded for real.
//   2. copy        every segment from the log's first up to there, in groups of consecutive
//                  segments that fit one file (groupSegmentsBySize): each batch is kept as it is
//                  (byte for byte), rewritten with fewer records or a delete horizon, reduced to
//                  an empty header (a producer's last batch), or dropped. Offsets never change.
//
// A record is kept when it has a key, is not superseded (its key is not in the map, or its offset
// is at least the mapped one), is not in an aborted transaction, and is not a tombstone whose
// batch's delete horizon has passed. Records without a key are dropped (a compacted topic refuses
// them on produce; older data may have some).
//
// Tombstones (null value), KIP-534: a batch that keeps a tombstone and has no delete horizon gets
// one when it is rewritten: attribute bit 6 set and baseTimestamp = nowMs + delete.retention.ms,
// every record's timestampDelta re-encoded against it (record timestamps unchanged). A later pass
// drops the tombstones of batches whose horizon is <= nowMs. nextDeleteHorizonMs tells the
// scheduler when that becomes possible.
//
// Simplifications (said here, as the brief allows):
//   - Control batches (transaction markers) are kept unchanged, always: they are never stamped
//     with a horizon and never removed (Kafka removes a marker once its transaction has no data
//     left and the marker's horizon has passed).
//   - A batch is aborted when it is transactional, its producer has an aborted range holding its
//     baseOffset; the range comes from the caller (the .txnindex). The whole batch goes.
//   - Batch timestamps are not re-based on the first kept record when records go (Kafka's builder
//     takes the first retained record's timestamp): the original baseTimestamp stays, so kept
//     records are copied as they are. Only a delete horizon changes it.
//   - The caller gives endOffset at or below the last stable offset (open transactions are never
//     cleaned or mapped).
//
// Deviation from the brief, on purpose: a rewritten batch keeps its original lastOffsetDelta,
// as Kafka does (MemoryRecords.buildRetainedRecordsInto: builder.overrideLastOffset(originalBatch.
// lastOffset())). The producer's last sequence is baseSequence + lastOffsetDelta
// (producer_state.ts); shrinking it would make a restarted broker expect the wrong next sequence
// and refuse the producer's next batch (OUT_OF_ORDER_SEQUENCE_NUMBER). It also keeps every
// batch's offset range, so a header walk still finds the offset after each batch.
//
// Memory: segments are read through one 1 MiB buffer (a larger batch gets its own read), output
// is written through another; the offset map is the only structure that grows with the data,
// and it is bounded by maxMapBytes. Each distinct key counts offsetMapEntryBytes: 24 bytes plus
// the key itself when it is at most 128 bytes (kept whole: no two keys can collide, and no
// hashing per record), else plus its 16-byte MD5 digest (Kafka's SkimpyOffsetMap keeps every
// key so). The typed arrays behind it hold about that much.

import { hash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PRODUCER_ID,
  RECORD_COUNT,
  readInt64,
  storedBatchIntact,
} from "../protocol/record_batch.ts";
import { assembleBatch, compressRecords, decompressRecords, readBatchHeader } from "../protocol/records.ts";
import { logFile, segmentName } from "./segment_files.ts";
import { SegmentIndex } from "./segment_index.ts";

// ---- the interface ----

export interface CleanableSegment {
  baseOffset: number;
  /** Valid bytes of its .log. */
  bytes: number;
}

export interface CleanRequest {
  dir: string;
  /** The closed segments to clean, oldest first, contiguous, starting at the log's first segment; all wholly below endOffset. */
  segments: CleanableSegment[];
  /** Offsets below this were cleaned before (cleaner-offset-checkpoint); the offset map is built from the dirty section [firstDirtyOffset, endOffset). */
  firstDirtyOffset: number;
  /** First uncleanable offset: the base of the segment after the last one given. */
  endOffset: number;
  logStartOffset: number;
  nowMs: number;
  /** delete.retention.ms */
  deleteRetentionMs: number;
  /** segment.bytes: a cleaned group never exceeds it (unless it is one segment that grew past it), nor 2^31-1, nor spans more than Int32 relative offsets. */
  segmentBytes: number;
  indexIntervalBytes: number;
  /** Bound on the offset map in bytes: offsetMapEntryBytes(keyLength) per distinct key. */
  maxMapBytes: number;
  /** Largest records section a compressed batch may decompress to. */
  maxUncompressedBytes: number;
  /** Last offset of each idempotent/transactional producer's last batch in the log (keys: producerId as a decimal string): that batch is kept, as an empty batch when all its records go. */
  lastBatchOfProducer: Record<string, number>;
  /** Aborted transactions (from the .txnindex): their data batches are discarded and never mapped. */
  aborted: { producerId: number; firstOffset: number; lastOffset: number }[];
}

export interface CleanedGroup {
  /** Base offsets of the original segments it replaces, oldest first; baseOffset === replaces[0]. */
  replaces: number[];
  baseOffset: number;
  /** Bytes of the cleaned .log. */
  bytes: number;
  // Files written and fsynced: <base>.log.cleaned, <base>.index.cleaned, <base>.timeindex.cleaned.
}

export interface CleanStats {
  /** Bytes of the segments copied (the second walk). */
  bytesRead: number;
  /** Bytes of the dirty segments read to build the offset map (the first walk). */
  mapBytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Distinct keys in the offset map. */
  mapKeys: number;
  durationMs: number;
}

export interface CleanResult {
  /** Oldest first; swap them in in this order (cleaner_swap.ts). */
  groups: CleanedGroup[];
  /** The next pass's firstDirtyOffset: endOffset, or the base of the segment where the map filled. */
  nextDirtyOffset: number;
  /** Smallest delete horizon of a kept batch that still holds a tombstone; -1 for none. */
  nextDeleteHorizonMs: number;
  stats: CleanStats;
}

export class CleanerError extends Error {
  override name = "CleanerError";
}

/** Bit 6 of the attributes (KIP-534): baseTimestamp holds the batch's delete horizon. */
export const ATTR_DELETE_HORIZON = 0x40;

/** Bytes counted per offset-map entry besides its key (Kafka's SkimpyOffsetMap: 8 + 16). */
export const OFFSET_MAP_ENTRY_OVERHEAD = 24;
/** Keys up to this long are kept whole in the map (exact); longer ones as their MD5 (Kafka's). */
export const OFFSET_MAP_RAW_KEY_MAX = 128;
const DIGEST_BYTES = 16;

/** What one distinct key of `keyLength` bytes costs against maxMapBytes. */
export function offsetMapEntryBytes(keyLength: number): number {
  return OFFSET_MAP_ENTRY_OVERHEAD + (keyLength > OFFSET_MAP_RAW_KEY_MAX ? DIGEST_BYTES : keyLength);
}

/** The files a cleaned group is written to (Kafka's names). */
export function cleanedFiles(dir: string, base: number): { log: string; index: string; timeIndex: string } {
  const n = segmentName(base);
  return {
    log: join(dir, `${n}.log.cleaned`),
    index: join(dir, `${n}.index.cleaned`),
    timeIndex: join(dir, `${n}.timeindex.cleaned`),
  };
}

/**
 * The dirty ratio Kafka's cleaner ranks logs by: dirty bytes / all bytes of the given segments.
 * Segment granularity: a segment is dirty when its base is at or past firstDirtyOffset (the
 * cleaner's checkpoints fall on segment bases; one holding the offset in its middle counts clean).
 */
export function dirtyRatio(segments: CleanableSegment[], firstDirtyOffset: number): number {
  let dirty = 0;
  let total = 0;
  for (const s of segments) {
    total += s.bytes;
    if (s.baseOffset >= firstDirtyOffset) dirty += s.bytes;
  }
  return total === 0 ? 0 : dirty / total;
}

// ---- byte layouts written here ----
//
// attributes (int16 at byte 21) of a batch as written by the cleaner:
//
//   bit  15 .. 7   6               5         4               3               2 .. 0
//      +---------+---------------+---------+---------------+---------------+-------------+
//      | 0       | deleteHorizon | control | transactional | timestampType | codec       |
//      +---------+---------------+---------+---------------+---------------+-------------+
//                  set when a      kept      kept            kept            kept (0 in an
//                  horizon is                                                empty batch)
//                  stamped (0x40); kept once set
//
// A rewritten batch (some records removed, or a delete horizon stamped):
//
//   0  baseOffset            int64   unchanged
//   8  batchLength           int32   49 + records section (recomputed)
//  12  partitionLeaderEpoch  int32   unchanged
//  16  magic                 int8    2
//  17  crc                   uint32  CRC-32C of bytes [21, end), recomputed
//  21  attributes            int16   unchanged, | 0x40 when a horizon is stamped
//  23  lastOffsetDelta       int32   unchanged (Kafka: the batch keeps its offset range)
//  27  baseTimestamp         int64   unchanged; when stamped: the delete horizon,
//                                    nowMs + delete.retention.ms
//  35  maxTimestamp          int64   CreateTime: the largest kept record timestamp;
//                                    LogAppendTime: unchanged
//  43  producerId            int64   unchanged
//  51  producerEpoch         int16   unchanged
//  53  baseSequence          int32   unchanged
//  57  recordCount           int32   records kept
//  61  records                       the kept records in their order, compressed as one stream
//                                    with the batch's own codec (gzip, lz4) when it has one:
//
//      +--------+------------+----------------+-------------+---------------------------------+
//      | length | attributes | timestampDelta | offsetDelta | keyLength key valueLength value |
//      | varint | int8       | varlong        | varint      | headerCount headers             |
//      +--------+------------+----------------+-------------+---------------------------------+
//        new when  copied      horizon stamped:  copied       copied byte for byte
//        stamped               timestamp - new   (offsets
//                              baseTimestamp,    keep their
//                              may be negative;  gaps)
//                              else copied
//
// An empty batch (a producer's last batch whose records all went), Kafka's writeEmptyHeader:
//
//   0  baseOffset, 12 partitionLeaderEpoch, 23 lastOffsetDelta, 43 producerId, 51 producerEpoch,
//      53 baseSequence: unchanged
//   8  batchLength = 49 (61 bytes in all, no records section)
//  21  attributes = timestampType | transactional | control bits of the original (no codec,
//      no horizon)
//  27  baseTimestamp = 35 maxTimestamp = the original maxTimestamp
//  57  recordCount = 0

const INT32_MAX = 2 ** 31 - 1;
const READ_CHUNK = 1 << 20;
const WRITE_CHUNK = 1 << 20;
const KEPT_ATTRIBUTES_WHEN_EMPTY = ATTR_LOG_APPEND_TIME | ATTR_TRANSACTIONAL | ATTR_CONTROL;

// ---- the offset map ----

/**
 * key -> offset, in typed arrays: open addressing over a power-of-two slot table (linear probing,
 * load <= 1/2), keys copied into one arena. Keys up to OFFSET_MAP_RAW_KEY_MAX bytes are kept
 * whole, so two keys never collide; longer ones as their MD5 digest, as Kafka's SkimpyOffsetMap
 * keeps every key. Counted against the bound: offsetMapEntryBytes per key (the arrays hold about
 * that: 8 offset + 4 hash + 4 arena position + 2 length + 8 of slots at half load).
 */
class OffsetMap {
  private slots = new Int32Array(1024);
  private mask = 1023;
  private offsets = new Float64Array(256);
  private hashes = new Int32Array(256);
  private keyAt = new Uint32Array(256);
  /** Key length, | DIGEST_FLAG for an MD5 digest. */
  private keyLen = new Uint16Array(256);
  private arena = Buffer.allocUnsafe(4096);
  private arenaUsed = 0;
  size = 0;
  bytes = 0;
  private readonly seed = (Math.random() * 0x100000000) >>> 0;
  // The key of the last lookup, resolved (raw or digest).
  private kd: Uint8Array = this.arena;
  private ks = 0;
  private kl = 0;
  private kh = 0;

  constructor(private readonly maxBytes: number) {}

  /** Set key -> offset (offsets only grow). False when the key is new and does not fit. */
  put(d: Uint8Array, start: number, len: number, offset: number): boolean {
    const e = this.find(d, start, len);
    if (e >= 0) {
      if (offset > this.offsets[e]) this.offsets[e] = offset;
      return true;
    }
    const stored = this.kl & ~DIGEST_FLAG;
    const cost = OFFSET_MAP_ENTRY_OVERHEAD + stored;
    if (this.bytes + cost > this.maxBytes) return false;
    if (this.size === this.offsets.length) this.growEntries();
    if (this.arenaUsed + stored > this.arena.length) {
      const a = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + stored));
      this.arena.copy(a, 0, 0, this.arenaUsed);
      this.arena = a;
    }
    const n = this.size++;
    this.bytes += cost;
    this.offsets[n] = offset;
    this.hashes[n] = this.kh;
    this.keyAt[n] = this.arenaUsed;
    this.keyLen[n] = this.kl;
    this.arena.set(this.kd.subarray(this.ks, this.ks + stored), this.arenaUsed);
    this.arenaUsed += stored;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(n);
    return true;
  }

  /** The mapped offset of the key, or -1. */
  get(d: Uint8Array, start: number, len: number): number {
    const e = this.find(d, start, len);
    return e < 0 ? -1 : this.offsets[e];
  }

  /** The entry of the key, or -1; leaves the resolved key in kd/ks/kl/kh. */
  private find(d: Uint8Array, start: number, len: number): number {
    if (len > OFFSET_MAP_RAW_KEY_MAX) {
      this.kd = hash("md5", d.subarray(start, start + len), "buffer");
      this.ks = 0;
      this.kl = DIGEST_BYTES | DIGEST_FLAG;
    } else {
      this.kd = d;
      this.ks = start;
      this.kl = len;
    }
    const stored = this.kl & ~DIGEST_FLAG;
    const kd = this.kd;
    const ks = this.ks;
    // FNV-1a, seeded (no collision can be forced into a long probe chain by chosen keys).
    let h = (0x811c9dc5 ^ this.seed) | 0;
    for (let i = 0; i < stored; i++) h = Math.imul(h ^ kd[ks + i], 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    this.kh = h;
    const arena = this.arena;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.slots[s];
      if (v === 0) return -1;
      const e = v - 1;
      if (this.hashes[e] !== h || this.keyLen[e] !== this.kl) continue;
      let at = this.keyAt[e];
      let i = 0;
      while (i < stored && arena[at] === kd[ks + i]) {
        at++;
        i++;
      }
      if (i === stored) return e;
    }
  }

  private place(e: number): void {
    let s = this.hashes[e] & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = e + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < this.size; e++) this.place(e);
  }

  private growEntries(): void {
    const n = this.offsets.length * 2;
    const o = new Float64Array(n);
    o.set(this.offsets);
    this.offsets = o;
    const h = new Int32Array(n);
    h.set(this.hashes);
    this.hashes = h;
    const k = new Uint32Array(n);
    k.set(this.keyAt);
    this.keyAt = k;
    const l = new Uint16Array(n);
    l.set(this.keyLen);
    this.keyLen = l;
  }
}

const DIGEST_FLAG = 0x8000;

// ---- reading segments ----

/** Batches of one segment file, through a reused read buffer: a view valid until the next call. */
class BatchReader {
  private buf = Buffer.allocUnsafe(READ_CHUNK);
  private fd = -1;
  private path = "";
  private start = 0;
  private len = 0;
  private bytes = 0;

  open(path: string, bytes: number): void {
    this.fd = fs.openSync(path, "r");
    this.path = path;
    this.bytes = bytes;
    this.start = 0;
    this.len = 0;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** The batch at `pos` (header checked: magic 2, a length inside the segment's bytes). */
  at(pos: number): Buffer {
    if (this.bytes - pos < BATCH_HEADER_BYTES) this.fail(pos, "a batch header cut off");
    let h = this.view(pos, LOG_OVERHEAD);
    const size = h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES || size > this.bytes - pos) this.fail(pos, `a batch length of ${size}`);
    h = this.view(pos, size);
    if (h[MAGIC] !== 2) this.fail(pos, `magic ${h[MAGIC]}`);
    return h;
  }

  private view(pos: number, n: number): Buffer {
    if (pos >= this.start && pos + n <= this.start + this.len)
      return this.buf.subarray(pos - this.start, pos - this.start + n);
    if (n > this.buf.length) {
      const big = Buffer.allocUnsafe(n);
      this.readFully(big, n, pos);
      return big;
    }
    this.start = pos;
    this.len = Math.min(this.buf.length, this.bytes - pos);
    this.readFully(this.buf, this.len, pos);
    return this.buf.subarray(0, n);
  }

  private readFully(into: Buffer, n: number, pos: number): void {
    let done = 0;
    while (done < n) {
      const got = fs.readSync(this.fd, into, done, n - done, pos + done);
      if (got === 0) this.fail(pos, `the file ends before its ${this.bytes} valid bytes`);
      done += got;
    }
  }

  fail(pos: number, why: string): never {
    throw new CleanerError(`${this.path} at byte ${pos}: ${why}`);
  }
}

// ---- records inside a batch ----

// Set by the varint readers: the position after the value, or -1 when it runs past the limit.
let vnext = 0;

function readVarint(d: Uint8Array, p: number, limit: number): number {
  let r = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= limit) break;
    const b = d[p++];
    r |= (b & 0x7f) << shift;
    if (b < 0x80) {
      vnext = p;
      return (r >>> 1) ^ -(r & 1);
    }
  }
  vnext = -1;
  return 0;
}

/** A zigzag varlong as a number (exact to 2^53, which every timestamp delta is). */
function readVarlong(d: Uint8Array, p: number, limit: number): number {
  let v = 0;
  let mul = 1;
  for (let n = 0; n < 10; n++) {
    if (p >= limit) break;
    const b = d[p++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      vnext = p;
      return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    }
    mul *= 128;
  }
  vnext = -1;
  return 0;
}

/** Write an unsigned base-128 varint at p; returns the position after it. */
function writeUvarint(d: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    d[p++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  d[p++] = v;
  return p;
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function uvarintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** The records of one batch, parsed into columns (reused from batch to batch). */
class RecordColumns {
  n = 0;
  /** Position of the record's length varint, its end, and the start of its body (attributes). */
  start = new Int32Array(64);
  end = new Int32Array(64);
  body = new Int32Array(64);
  /** Position after timestampDelta. */
  tsEnd = new Int32Array(64);
  tsDelta = new Float64Array(64);
  offsetDelta = new Int32Array(64);
  keyStart = new Int32Array(64);
  /** -1 = null key. */
  keyLen = new Int32Array(64);
  /** -1 = null value (a tombstone). */
  valueLen = new Int32Array(64);

  /** Parse `count` records of d[0, end); throws (via fail) when the framing does not hold. */
  parse(d: Uint8Array, end: number, count: number, fail: (why: string) => never): void {
    if (count > this.start.length) this.grow(count);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const length = readVarint(d, p, end);
      if (vnext < 0 || length < 0 || length > end - vnext) fail(`record ${i}: bad length`);
      const body = vnext;
      const recEnd = body + length;
      this.start[i] = p;
      this.body[i] = body;
      this.end[i] = recEnd;
      this.tsDelta[i] = readVarlong(d, body + 1, recEnd);
      if (vnext < 0) fail(`record ${i}: bad timestampDelta`);
      this.tsEnd[i] = vnext;
      this.offsetDelta[i] = readVarint(d, vnext, recEnd);
      if (vnext < 0) fail(`record ${i}: bad offsetDelta`);
      const keyLen = readVarint(d, vnext, recEnd);
      if (vnext < 0 || keyLen < -1 || keyLen > recEnd - vnext) fail(`record ${i}: bad key length`);
      this.keyStart[i] = vnext;
      this.keyLen[i] = keyLen;
      const valueLen = readVarint(d, vnext + Math.max(keyLen, 0), recEnd);
      if (vnext < 0 || valueLen < -1 || valueLen > recEnd - vnext) fail(`record ${i}: bad value length`);
      this.valueLen[i] = valueLen;
      p = recEnd;
    }
    if (p !== end) fail(`${end - p} bytes after the last of ${count} records`);
    this.n = count;
  }

  private grow(count: number): void {
    const n = Math.max(count, this.start.length * 2);
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    this.body = new Int32Array(n);
    this.tsEnd = new Int32Array(n);
    this.tsDelta = new Float64Array(n);
    this.offsetDelta = new Int32Array(n);
    this.keyStart = new Int32Array(n);
    this.keyLen = new Int32Array(n);
    this.valueLen = new Int32Array(n);
  }
}

// ---- writing a cleaned group ----

interface WriterMark {
  pos: number;
  count: number;
  timeCount: number;
  maxTimestamp: number;
  bytesSinceEntry: number;
}

/** <base>.log.cleaned and its indexes, built as the writer builds a segment's (SegmentIndex). */
class CleanedWriter {
  readonly files: { log: string; index: string; timeIndex: string };
  readonly index: SegmentIndex;
  private fd: number;
  private readonly pending = Buffer.allocUnsafe(WRITE_CHUNK);
  private pendingLen = 0;
  /** Bytes in the file plus the pending ones. */
  pos = 0;

  constructor(
    dir: string,
    readonly baseOffset: number,
    intervalBytes: number,
  ) {
    this.files = cleanedFiles(dir, baseOffset);
    this.index = new SegmentIndex(baseOffset, intervalBytes);
    this.fd = fs.openSync(this.files.log, "w"); // a leftover from a crash is overwritten
  }

  append(batch: Uint8Array, batchBase: number, maxTimestamp: number): void {
    this.index.onBatch(batchBase, this.pos, batch.length, maxTimestamp);
    if (this.pendingLen + batch.length > this.pending.length) this.flush();
    if (batch.length > this.pending.length) writeFully(this.fd, batch, this.pos);
    else {
      this.pending.set(batch, this.pendingLen);
      this.pendingLen += batch.length;
    }
    this.pos += batch.length;
  }

  mark(): WriterMark {
    const s = this.index;
    return {
      pos: this.pos,
      count: s.count,
      timeCount: s.timeCount,
      maxTimestamp: s.maxTimestamp,
      bytesSinceEntry: s.bytesSinceEntry,
    };
  }

  /** Back to a mark: the file cut there, the index entries added since dropped. */
  rollback(m: WriterMark): void {
    this.flush();
    fs.ftruncateSync(this.fd, m.pos);
    this.pos = m.pos;
    const s = this.index;
    s.count = m.count;
    s.timeCount = m.timeCount;
    s.maxTimestamp = m.maxTimestamp;
    s.bytesSinceEntry = m.bytesSinceEntry;
  }

  /** Flush and fsync the .log, write and fsync both indexes. */
  finish(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    writeFileSynced(this.files.index, this.index.encodeIndex());
    writeFileSynced(this.files.timeIndex, this.index.encodeTimeIndex());
  }

  /** Close (if open) and remove the three files. */
  discard(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    for (const f of [this.files.log, this.files.index, this.files.timeIndex]) fs.rmSync(f, { force: true });
  }

  private flush(): void {
    if (this.pendingLen === 0) return;
    writeFully(this.fd, this.pending.subarray(0, this.pendingLen), this.pos - this.pendingLen);
    this.pendingLen = 0;
  }
}

function writeFully(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

function writeFileSynced(path: string, data: Uint8Array): void {
  const fd = fs.openSync(path, "w");
  try {
    writeFully(fd, data, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// ---- grouping ----

/**
 * Kafka's groupSegmentsBySize: consecutive segments while their sizes add up to at most maxBytes
 * and the last offset of the candidate (the next segment's base - 1) stays within Int32 of the
 * group's base (an empty candidate needs no offset check). Indices into `segments`.
 */
function groupSegmentsBySize(segments: CleanableSegment[], ends: number[], maxBytes: number): number[][] {
  const groups: number[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [i];
    let size = segments[i].bytes;
    const base = segments[i].baseOffset;
    i++;
    while (
      i < segments.length &&
      size + segments[i].bytes <= maxBytes &&
      (segments[i].bytes === 0 || ends[i] - 1 - base <= INT32_MAX)
    ) {
      size += segments[i].bytes;
      group.push(i);
      i++;
    }
    groups.push(group);
  }
  return groups;
}

// ---- the pass ----

interface Pass {
  req: CleanRequest;
  map: OffsetMap;
  reader: BatchReader;
  cols: RecordColumns;
  /** Records section of a rewritten batch, before compression (grown as needed). */
  scratch: Buffer;
  aborted: Map<number, { firstOffset: number; lastOffset: number }[]>;
  firstDirty: number;
  horizonNew: number;
  stats: CleanStats;
  nextHorizon: number;
}

export function cleanLog(req: CleanRequest): CleanResult {
  const t0 = performance.now();
  const stats: CleanStats = {
    bytesRead: 0,
    mapBytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    mapKeys: 0,
    durationMs: 0,
  };
  const segments = req.segments;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s.bytes < 0 || s.bytes > INT32_MAX)
      throw new CleanerError(`segment ${s.baseOffset}: ${s.bytes} bytes`);
    if (i > 0 && s.baseOffset <= segments[i - 1].baseOffset)
      throw new CleanerError(`segments out of order: ${s.baseOffset} after ${segments[i - 1].baseOffset}`);
  }
  if (segments.length > 0 && segments[segments.length - 1].baseOffset >= req.endOffset)
    throw new CleanerError(
      `segment ${segments[segments.length - 1].baseOffset} is not below ${req.endOffset}`,
    );
  const ends = segments.map((_s, i) =>
    i + 1 < segments.length ? segments[i + 1].baseOffset : req.endOffset,
  );
  const aborted = new Map<number, { firstOffset: number; lastOffset: number }[]>();
  for (const a of req.aborted) {
    let list = aborted.get(a.producerId);
    if (list === undefined) aborted.set(a.producerId, (list = []));
    list.push({ firstOffset: a.firstOffset, lastOffset: a.lastOffset });
  }
  const pass: Pass = {
    req,
    map: new OffsetMap(req.maxMapBytes),
    reader: new BatchReader(),
    cols: new RecordColumns(),
    scratch: Buffer.allocUnsafe(64 * 1024),
    aborted,
    firstDirty: Math.min(Math.max(req.firstDirtyOffset, req.logStartOffset), req.endOffset),
    horizonNew: Math.min(req.nowMs + req.deleteRetentionMs, Number.MAX_SAFE_INTEGER),
    stats,
    nextHorizon: -1,
  };

  // 1. The offset map, from the dirty section.
  let cleanCount = segments.length;
  let firstDirtySegment = -1;
  for (let i = 0; i < segments.length; i++) {
    if (ends[i] <= pass.firstDirty) continue;
    if (firstDirtySegment < 0) firstDirtySegment = i;
    if (!mapSegment(pass, segments[i])) {
      if (i === firstDirtySegment) {
        throw new CleanerError(
          `the offset map (${req.maxMapBytes} bytes) cannot hold the keys of segment ${segments[i].baseOffset} ` +
            `of ${req.dir}: raise log.cleaner.dedupe.buffer.size or lower log.cleaner.threads`,
        );
      }
      cleanCount = i;
      break;
    }
  }
  stats.mapKeys = pass.map.size;
  const nextDirtyOffset = cleanCount === segments.length ? req.endOffset : segments[cleanCount].baseOffset;

  // 2. The copy, group by group.
  const maxBytes = Math.min(req.segmentBytes, INT32_MAX);
  const queue = groupSegmentsBySize(segments.slice(0, cleanCount), ends, maxBytes);
  const groups: CleanedGroup[] = [];
  const written: CleanedWriter[] = [];
  try {
    while (queue.length > 0) {
      const g = queue.shift()!;
      const w = new CleanedWriter(req.dir, segments[g[0]].baseOffset, req.indexIntervalBytes);
      written.push(w);
      const done = cleanGroup(pass, w, g, maxBytes);
      if (done < g.length) queue.unshift(g.slice(done));
      w.finish();
      groups.push({
        replaces: g.slice(0, done).map((i) => segments[i].baseOffset),
        baseOffset: w.baseOffset,
        bytes: w.pos,
      });
      stats.bytesWritten += w.pos;
    }
  } catch (e) {
    for (const w of written) w.discard();
    throw e;
  } finally {
    pass.reader.close();
  }
  stats.durationMs = performance.now() - t0;
  return { groups, nextDirtyOffset, nextDeleteHorizonMs: pass.nextHorizon, stats };
}

function isAborted(pass: Pass, b: Buffer, base: number): boolean {
  if ((b.readInt16BE(ATTRIBUTES) & ATTR_TRANSACTIONAL) === 0 || pass.aborted.size === 0) return false;
  const ranges = pass.aborted.get(readInt64(b, PRODUCER_ID));
  if (ranges === undefined) return false;
  for (const r of ranges) if (base >= r.firstOffset && base <= r.lastOffset) return true;
  return false;
}

/** Add a segment's dirty records to the map. False when a new key did not fit. */
function mapSegment(pass: Pass, seg: CleanableSegment): boolean {
  const { reader, cols, map } = pass;
  reader.open(logFile(pass.req.dir, seg.baseOffset), seg.bytes);
  try {
    for (let pos = 0; pos < seg.bytes; ) {
      const b = reader.at(pos);
      const fail = (why: string): never => reader.fail(pos, why);
      pass.stats.mapBytesRead += b.length;
      pos += b.length;
      const base = readInt64(b, BASE_OFFSET);
      if (base + b.readInt32BE(LAST_OFFSET_DELTA) < pass.firstDirty) continue;
      if ((b.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) !== 0 || isAborted(pass, b, base)) continue;
      const count = b.readInt32BE(RECORD_COUNT);
      if (count === 0) continue;
      const d = decompress(b, pass, fail);
      cols.parse(d, d.length, count, fail);
      for (let i = 0; i < cols.n; i++) {
        if (cols.keyLen[i] < 0) continue;
        const offset = base + cols.offsetDelta[i];
        if (offset < pass.firstDirty) continue;
        if (!map.put(d, cols.keyStart[i], cols.keyLen[i], offset)) return false;
      }
    }
    return true;
  } finally {
    reader.close();
  }
}

function decompress(b: Buffer, pass: Pass, fail: (why: string) => never): Uint8Array {
  try {
    return decompressRecords(b, pass.req.maxUncompressedBytes);
  } catch (e) {
    return fail((e as Error).message);
  }
}

/**
 * Clean the segments g[...] into w. Returns how many were written: all of them, or fewer when
 * the output would pass maxBytes at segment j > 0 (cut back to where segment j started; the
 * caller starts a new group there).
 */
function cleanGroup(pass: Pass, w: CleanedWriter, g: number[], maxBytes: number): number {
  const segments = pass.req.segments;
  for (let j = 0; j < g.length; j++) {
    const seg = segments[g[j]];
    const mark = w.mark();
    const statsMark = { ...pass.stats };
    const horizonMark = pass.nextHorizon;
    const fits = cleanSegment(pass, seg, w, j === 0 ? INT32_MAX : maxBytes);
    if (!fits) {
      if (j === 0) throw new CleanerError(`segment ${seg.baseOffset} cleans to more than 2^31-1 bytes`);
      w.rollback(mark);
      Object.assign(pass.stats, statsMark);
      pass.nextHorizon = horizonMark;
      return j;
    }
  }
  return g.length;
}

/** Copy one segment's kept batches into w; false as soon as the file would pass `limit`. */
function cleanSegment(pass: Pass, seg: CleanableSegment, w: CleanedWriter, limit: number): boolean {
  const { reader, stats } = pass;
  reader.open(logFile(pass.req.dir, seg.baseOffset), seg.bytes);
  try {
    for (let pos = 0; pos < seg.bytes; ) {
      const b = reader.at(pos);
      const at = pos;
      pos += b.length;
      stats.bytesRead += b.length;
      if (!storedBatchIntact(b)) reader.fail(at, "CRC-32C mismatch");
      const out = cleanBatch(pass, b, (why) => reader.fail(at, why));
      if (out === null) continue;
      if (w.pos + out.length > limit) return false;
      w.append(out, readInt64(out, BASE_OFFSET), readInt64(out, MAX_TIMESTAMP));
    }
    return true;
  } finally {
    reader.close();
  }
}

/**
 * What becomes of one stored batch: itself (a view, copied by the writer before the next read),
 * a rewritten batch, an empty header, or null (dropped).
 */
function cleanBatch(pass: Pass, b: Buffer, fail: (why: string) => never): Buffer | null {
  const { req, stats, cols, map } = pass;
  const attributes = b.readInt16BE(ATTRIBUTES);
  const count = b.readInt32BE(RECORD_COUNT);
  stats.recordsRead += Math.max(count, 0);
  if ((attributes & ATTR_CONTROL) !== 0) return b;
  const base = readInt64(b, BASE_OFFSET);
  const producerId = readInt64(b, PRODUCER_ID);
  const lastOffset = base + b.readInt32BE(LAST_OFFSET_DELTA);
  // Kept as at least an empty header: a producer's last batch (its state survives), and the last
  // batch before the uncleanable part, so a fetch from the end of what is cleaned finds a batch
  // to move past (a consumer facing nothing but a gap up to the high watermark would fetch the
  // same offset forever: kcat -e never saw the end of a topic whose tail was all tombstones).
  const lastOfProducer =
    (producerId >= 0 && req.lastBatchOfProducer[String(producerId)] === lastOffset) ||
    lastOffset + 1 >= req.endOffset;
  if (count === 0) return lastOfProducer ? b : null;
  if (isAborted(pass, b, base)) {
    stats.recordsRemoved += count;
    return lastOfProducer ? emptyBatch(b) : null;
  }
  const d = decompress(b, pass, fail);
  cols.parse(d, d.length, count, fail);
  const hasHorizon = (attributes & ATTR_DELETE_HORIZON) !== 0;
  const baseTimestamp = readInt64(b, BASE_TIMESTAMP);
  const dropTombstones = hasHorizon && baseTimestamp <= req.nowMs;
  // Decide per record: a dropped one is marked keyLen = -2 for rewrite().
  let kept = 0;
  let keptTombstone = false;
  for (let i = 0; i < cols.n; i++) {
    let keep = cols.keyLen[i] >= 0;
    if (keep) {
      const m = map.get(d, cols.keyStart[i], cols.keyLen[i]);
      keep = base + cols.offsetDelta[i] >= m;
    }
    if (keep && cols.valueLen[i] < 0) {
      if (dropTombstones) {
        keep = false;
        stats.tombstonesRemoved++;
      } else keptTombstone = true;
    }
    if (keep) kept++;
    else cols.keyLen[i] = -2; // dropped
  }
  stats.recordsRemoved += count - kept;
  const stamp = keptTombstone && !hasHorizon;
  if (keptTombstone) {
    const horizon = stamp ? pass.horizonNew : baseTimestamp;
    if (pass.nextHorizon < 0 || horizon < pass.nextHorizon) pass.nextHorizon = horizon;
  }
  if (kept === count && !stamp) return b;
  if (kept === 0) return lastOfProducer ? emptyBatch(b) : null;
  return rewrite(pass, b, d, stamp);
}

/** The batch with only its kept records (cols.keyLen !== -2), a horizon stamped when asked. */
function rewrite(pass: Pass, b: Buffer, d: Uint8Array, stamp: boolean): Buffer {
  const cols = pass.cols;
  const h = readBatchHeader(b);
  const newBase = stamp ? pass.horizonNew : h.baseTimestamp;
  const need = d.length + cols.n * 12;
  if (pass.scratch.length < need) pass.scratch = Buffer.allocUnsafe(Math.max(need, pass.scratch.length * 2));
  const out = pass.scratch;
  let p = 0;
  let kept = 0;
  let maxTs = -Infinity;
  for (let i = 0; i < cols.n; i++) {
    if (cols.keyLen[i] === -2) continue;
    kept++;
    const ts = h.baseTimestamp + cols.tsDelta[i];
    if (ts > maxTs) maxTs = ts;
    if (!stamp) {
      out.set(d.subarray(cols.start[i], cols.end[i]), p);
      p += cols.end[i] - cols.start[i];
      continue;
    }
    // length | attributes | timestampDelta (against the horizon) | the rest as it is
    const delta = zigzag(ts - newBase);
    const rest = cols.end[i] - cols.tsEnd[i];
    p = writeUvarint(out, p, zigzag(1 + uvarintLength(delta) + rest));
    out[p++] = d[cols.body[i]];
    p = writeUvarint(out, p, delta);
    out.set(d.subarray(cols.tsEnd[i], cols.end[i]), p);
    p += rest;
  }
  const codec = h.attributes & ATTR_COMPRESSION_MASK;
  const section = compressRecords(codec, out.subarray(0, p));
  return assembleBatch(
    {
      ...h,
      attributes: stamp ? h.attributes | ATTR_DELETE_HORIZON : h.attributes,
      baseTimestamp: newBase,
      maxTimestamp: (h.attributes & ATTR_LOG_APPEND_TIME) !== 0 ? h.maxTimestamp : maxTs,
      recordCount: kept,
    },
    section,
  );
}

/** A producer's last batch with no record left: its header alone (Kafka's writeEmptyHeader). */
function emptyBatch(b: Buffer): Buffer {
  const h = readBatchHeader(b);
  return assembleBatch(
    {
      ...h,
      attributes: h.attributes & KEPT_ATTRIBUTES_WHEN_EMPTY,
      baseTimestamp: h.maxTimestamp,
      recordCount: 0,
    },
    new Uint8Array(0),
  );
}
