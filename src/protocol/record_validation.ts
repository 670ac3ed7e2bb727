// The records inside a produced RecordBatch v2, walked without materialising them: the writer's
// per-record validation (Kafka's LogValidator iterating DefaultRecord.readFrom). Nothing is
// allocated per record: no Buffer views of keys or values, no strings; lengths are read, checked
// and skipped. Compressed batches are decompressed once (gzip: node:zlib; lz4: the decoder below,
// or lz4-napi for frames with checksums) and the result walked; the stored batch stays as sent.
//
// Records section (bytes 61..end of the batch, or its decompression), recordCount records and
// nothing after the last one:
//
//   +--------+------------+----------------+-------------+-----------+-----+-------------+-------+
//   | length | attributes | timestampDelta | offsetDelta | keyLength | key | valueLength | value |
//   | varint | int8       | varlong        | varint      | varint    |     | varint      |       |
//   +--------+------------+----------------+-------------+-----------+-----+-------------+-------+
//   +-------------+--------------------------------------------------------------------------+
//   | headerCount | headerCount x [ keyLength varint | key | valueLength varint | value ]      |
//   | varint      |                                                                          |
//   +-------------+--------------------------------------------------------------------------+
//
//   length       bytes of the record after this varint; the fields take exactly that many
//   attributes   unused by Kafka (read and ignored)
//   offsetDelta  the record's index in the batch: 0, 1, ..., recordCount - 1, in order
//   keyLength    -1 = null key, else >= 0 bytes that follow (required on compacted topics)
//   valueLength  -1 = null value, else >= 0 bytes that follow
//   headerCount  >= 0
//   header key   length >= 0 (a null header key is invalid); UTF-8 is not checked: Kafka reads
//                header keys leniently too (RecordHeader decodes with replacement characters)
//   header value -1 = null, else >= 0 bytes that follow
//
// Varints are zigzag-encoded base-128, little end first (Kafka's ByteUtils): a varint is at most
// 5 bytes (the 5th must end it; bits past 32 are dropped, as ByteUtils.readVarint does), a varlong
// at most 10.
//
// Answers (Kafka's, where Kafka has one):
//   INVALID_RECORD (87)   a record that does not parse or breaks a rule: lengths, varints,
//                         offsets, count, trailing bytes, null header key, missing key on a
//                         compacted topic. Kafka (since KIP-467) answers all of these with
//                         org.apache.kafka.common.InvalidRecordException (Errors.INVALID_RECORD):
//                         DefaultRecord.readFrom ("Invalid record size", "Found invalid record
//                         structure", "Invalid negative header key size"), DefaultRecordBatch's
//                         RecordIterator ("Incorrect declared batch size ..."), LogValidator
//                         ("Compacted topic cannot accept message without key").
//   CORRUPT_MESSAGE (2)   a compressed records section that does not decode (not gzip, not an
//                         LZ4 frame, truncated, bad checksum). Kafka lets that IOException out as
//                         a KafkaException ("Failed to decompress record stream"), which reaches
//                         the client as UNKNOWN_SERVER_ERROR; CORRUPT_MESSAGE names the fault.
//                         (CRC and size failures are CORRUPT_MESSAGE too, in record_batch.ts.)
//   MESSAGE_TOO_LARGE (10) a compressed section that would decompress to more than the limit
//                         (a zip bomb): Kafka has no such limit; this is the code on which the Java
//                         producer splits a batch and retries.
// Stricter than Kafka, on purpose, because Milena stores batches as sent and never rewrites them:
//   - offsetDelta must be the record's index. Kafka does not check it on uncompressed batches and
//     rewrites compressed ones whose inner offsets are off ("some older clients do not implement
//     the V1 internal offsets correctly"); a stored batch with wrong deltas would give consumers
//     offsets outside [baseOffset, lastOffset].
//   - a key or value length below -1 is refused; Kafka reads any negative length as null.

import { gunzipSync } from "node:zlib";
import { decompressFrameSync } from "lz4-napi";
import { ErrorCode } from "./error_codes.ts";
import type { BatchCheck } from "./record_batch.ts";
import { xxh32 } from "./xxh32.ts";

// Offsets in the batch header (record_batch.ts draws it; repeated here so that this module does
// not import record_batch.ts, which imports it).
const ATTRIBUTES_LOW = 22; // low byte of the int16 attributes at 21: the codec bits
const RECORD_COUNT = 57;
const RECORDS = 61;
const CODEC_NONE = 0;
const CODEC_GZIP = 1;
const CODEC_LZ4 = 3;

/**
 * Largest records section a compressed batch may decompress to, by default. Never below the
 * topic's max.message.bytes (checkProducedBatch takes the larger): a batch that is accepted
 * uncompressed must be accepted compressed too.
 */
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

const OK: BatchCheck = { error: ErrorCode.NONE, message: "" };

function invalid(message: string): BatchCheck {
  return { error: ErrorCode.INVALID_RECORD, message };
}

// ---- varints ----
// readVarint returns the value and leaves the position after it in `next`, or a negative failure
// code there. One- and two-byte varints (every length below 8,192) take the short path.

const TRUNCATED = -1;
const TOO_LONG = -2;
let next = 0;

function readVarint(d: Uint8Array, p: number, limit: number): number {
  if (p < limit) {
    const b0 = d[p];
    if (b0 < 0x80) {
      next = p + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    if (p + 1 < limit) {
      const b1 = d[p + 1];
      if (b1 < 0x80) {
        next = p + 2;
        const r = (b0 & 0x7f) | (b1 << 7);
        return (r >>> 1) ^ -(r & 1);
      }
    }
  }
  return readVarintLong(d, p, limit);
}

function readVarintLong(d: Uint8Array, p: number, limit: number): number {
  let r = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= limit) {
      next = TRUNCATED;
      return 0;
    }
    const b = d[p++];
    r |= (b & 0x7f) << shift;
    if (b < 0x80) {
      next = p;
      return (r >>> 1) ^ -(r & 1);
    }
  }
  next = TOO_LONG;
  return 0;
}

/** The position after the varlong at p (value unused), or TRUNCATED / TOO_LONG. */
function skipVarlong(d: Uint8Array, p: number, limit: number): number {
  for (let n = 0; n < 10; n++) {
    if (p >= limit) return TRUNCATED;
    if (d[p++] < 0x80) return p;
  }
  return TOO_LONG;
}

function varintError(i: number, field: string, code: number, at: number): BatchCheck {
  return invalid(
    code === TOO_LONG
      ? `record ${i}: ${field} varint at byte ${at} is longer than ${field === "timestampDelta" ? 10 : 5} bytes`
      : `record ${i}: ${field} at byte ${at} runs past the end of the record`,
  );
}

/**
 * Walk `count` records in d[start, end): every length, varint and offset delta checked, the last
 * record ending exactly at `end`. No allocation unless a record is refused.
 */
export function walkRecords(
  d: Uint8Array,
  start: number,
  end: number,
  count: number,
  compacted = false,
): BatchCheck {
  if (count <= 0) return invalid(`invalid record count ${count}`);
  let p = start;
  let c = 0;
  for (let i = 0; i < count; i++) {
    if (p >= end) {
      return invalid(`the batch says ${count} records but its records end after ${i}`);
    }
    const length = readVarint(d, p, end);
    if (next < 0) {
      return next === TOO_LONG
        ? varintError(i, "length", TOO_LONG, p - start)
        : invalid(`record ${i}: its length varint runs past the end of the records`);
    }
    p = next;
    if (length < 0) return invalid(`record ${i}: negative length ${length}`);
    if (length > end - p) {
      return invalid(`record ${i}: length ${length} runs past the records (${end - p} bytes left)`);
    }
    const recEnd = p + length;
    const body = p;

    // attributes (int8, unused)
    if (p >= recEnd) return invalid(`record ${i}: length ${length} is too short for its fields`);
    p++;

    // timestampDelta (varlong, not needed)
    if (p < recEnd && d[p] < 0x80) p++;
    else {
      const q = skipVarlong(d, p, recEnd);
      if (q < 0) return varintError(i, "timestampDelta", q, p - start);
      p = q;
    }

    // offsetDelta: the record's index
    let offsetDelta: number;
    if (p < recEnd && (c = d[p]) < 0x80) {
      offsetDelta = (c >>> 1) ^ -(c & 1);
      p++;
    } else {
      offsetDelta = readVarint(d, p, recEnd);
      if (next < 0) return varintError(i, "offsetDelta", next, p - start);
      p = next;
    }
    if (offsetDelta !== i)
      return invalid(`record ${i} has offset delta ${offsetDelta}: it must be its index`);

    // key
    let keyLength: number;
    if (p < recEnd && (c = d[p]) < 0x80) {
      keyLength = (c >>> 1) ^ -(c & 1);
      p++;
    } else {
      keyLength = readVarint(d, p, recEnd);
      if (next < 0) return varintError(i, "keyLength", next, p - start);
      p = next;
    }
    if (keyLength >= 0) {
      if (keyLength > recEnd - p)
        return invalid(`record ${i}: key of ${keyLength} bytes runs past the record`);
      p += keyLength;
    } else if (keyLength !== -1) return invalid(`record ${i}: key length ${keyLength} (only -1 means null)`);
    else if (compacted) return invalid(`record ${i}: a compacted topic cannot accept a record without a key`);

    // value
    const valueLength = readVarint(d, p, recEnd);
    if (next < 0) return varintError(i, "valueLength", next, p - start);
    p = next;
    if (valueLength >= 0) {
      if (valueLength > recEnd - p) {
        return invalid(`record ${i}: value of ${valueLength} bytes runs past the record`);
      }
      p += valueLength;
    } else if (valueLength !== -1) {
      return invalid(`record ${i}: value length ${valueLength} (only -1 means null)`);
    }

    // headers
    let headerCount: number;
    if (p < recEnd && (c = d[p]) < 0x80) {
      headerCount = (c >>> 1) ^ -(c & 1);
      p++;
    } else {
      headerCount = readVarint(d, p, recEnd);
      if (next < 0) return varintError(i, "headerCount", next, p - start);
      p = next;
    }
    if (headerCount !== 0) {
      if (headerCount < 0) return invalid(`record ${i}: negative header count ${headerCount}`);
      // Each header takes at least two bytes (two one-byte lengths).
      if (headerCount > (recEnd - p) >> 1) {
        return invalid(
          `record ${i}: ${headerCount} headers cannot fit in the record's ${recEnd - p} bytes left`,
        );
      }
      for (let h = 0; h < headerCount; h++) {
        const hKeyLength = readVarint(d, p, recEnd);
        if (next < 0) return varintError(i, `header ${h} keyLength`, next, p - start);
        p = next;
        if (hKeyLength < 0)
          return invalid(`record ${i}: header ${h} has key length ${hKeyLength} (null key)`);
        if (hKeyLength > recEnd - p) return invalid(`record ${i}: header ${h} key runs past the record`);
        p += hKeyLength;
        const hValueLength = readVarint(d, p, recEnd);
        if (next < 0) return varintError(i, `header ${h} valueLength`, next, p - start);
        p = next;
        if (hValueLength >= 0) {
          if (hValueLength > recEnd - p)
            return invalid(`record ${i}: header ${h} value runs past the record`);
          p += hValueLength;
        } else if (hValueLength !== -1) {
          return invalid(`record ${i}: header ${h} value length ${hValueLength} (only -1 means null)`);
        }
      }
    }

    if (p !== recEnd) {
      return invalid(`record ${i}: length says ${length} bytes but its fields take ${p - body}`);
    }
  }
  if (p !== end) {
    return invalid(`${end - p} bytes after the last of the batch's ${count} records`);
  }
  return OK;
}

// ---- LZ4 frame (Kafka's framing: Lz4BlockOutputStream / Lz4BlockInputStream) ----
//
//   +-----------------+-----+----+----------------------+----+
//   | magic u32 LE    | FLG | BD | [content size u64 LE]| HC |   HC = (xxh32(FLG..content size) >> 8) & 0xff
//   | 0x184D2204      |     |    | if FLG bit 3         |    |
//   +-----------------+-----+----+----------------------+----+
//   then blocks:  size u32 LE (bit 31: stored uncompressed; 0: the end mark) | data
//                 | [block checksum u32 if FLG bit 4]
//   then          [content checksum u32 if FLG bit 2]
//
//   FLG  bits 7-6 version (01), bit 5 block independence (must be set), bit 4 block checksum,
//        bit 3 content size, bit 2 content checksum, bits 1-0 reserved (0: no dictionary)
//   BD   bits 6-4 largest block: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB; others reserved (0)
//
// Kafka's reader takes one frame and refuses another magic, reserved bits, dependent blocks, a
// wrong HC, a block larger than BD allows, a frame without its end mark; so does lz4FrameBound,
// which walks the block headers (not their contents) and bounds the output before anything is
// decompressed. Frames without checksums (lz4-napi's, librdkafka's and Milena's client's, by
// default) are then decoded here into a scratch buffer kept by the thread: no allocation per
// batch, where lz4-napi's decompressFrameSync allocates the output and an internal block buffer
// on every call. Speed is about the same (native-bench/micro.ts measures both: 2026-12-03, a 16
// KiB batch 28.8 us here against 26.6 us, CRC left out of ours); the gain is no garbage per batch.
// Frames with checksums go to lz4-napi, which checks them.

let lz4Problem = "";

// Set by lz4FrameBound for the decoder.
let lz4Flags = 0;
let lz4MaxBlock = 0;
let lz4FirstBlock = 0;

/** Most bytes the LZ4 frame in d[start, end) decompresses to, or -1 (lz4Problem says why). */
function lz4FrameBound(d: Uint8Array, start: number, end: number): number {
  let p = start;
  if (end - p < 7) return lz4Fail("shorter than an LZ4 frame header");
  const magic = (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
  if (magic !== 0x184d2204) return lz4Fail(`not an LZ4 frame (magic 0x${magic.toString(16)})`);
  const flg = d[p + 4];
  const bd = d[p + 5];
  if (flg >>> 6 !== 1) return lz4Fail(`LZ4 frame version ${flg >>> 6} (only 1)`);
  if ((flg & 0x03) !== 0) return lz4Fail("LZ4 frame flags: reserved bits set (a dictionary?)");
  if ((flg & 0x20) === 0) return lz4Fail("LZ4 frame of dependent blocks (Kafka needs independent blocks)");
  if ((bd & 0x8f) !== 0 || bd >>> 4 < 4) return lz4Fail(`LZ4 block descriptor 0x${bd.toString(16)}`);
  const maxBlock = 1 << (8 + 2 * (bd >>> 4));
  const descriptorEnd = p + 6 + ((flg & 0x08) !== 0 ? 8 : 0);
  if (descriptorEnd >= end) return lz4Fail("LZ4 frame header cut off");
  if (d[descriptorEnd] !== ((xxh32(d, p + 4, descriptorEnd) >>> 8) & 0xff)) {
    return lz4Fail("LZ4 frame header checksum mismatch");
  }
  p = descriptorEnd + 1;
  lz4Flags = flg;
  lz4MaxBlock = maxBlock;
  lz4FirstBlock = p;
  const blockChecksum = (flg & 0x10) !== 0 ? 4 : 0;
  let bound = 0;
  for (;;) {
    if (end - p < 4) return lz4Fail("LZ4 frame ends before its end mark");
    const word = (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > maxBlock) return lz4Fail(`LZ4 block of ${size} bytes exceeds the frame's ${maxBlock}`);
    if (size + blockChecksum > end - p) return lz4Fail("LZ4 block runs past the batch");
    bound += (word & 0x80000000) !== 0 ? size : blockBound(size, maxBlock);
    p += size + blockChecksum;
  }
  if ((flg & 0x04) !== 0 && end - p < 4) return lz4Fail("LZ4 frame ends before its content checksum");
  return bound;
}

/** A compressed block expands at most 255-fold (each length byte adds 255), and never past BD. */
function blockBound(size: number, maxBlock: number): number {
  return Math.min(maxBlock, size * 256);
}

function lz4Fail(why: string): number {
  lz4Problem = why;
  return -1;
}

/** The blocks of the frame lz4FrameBound has just checked (no checksums), into `o`: its length, or -1. */
function lz4DecodeBlocks(d: Uint8Array, o: Uint8Array, ov: DataView): number {
  const dv = new DataView(d.buffer, d.byteOffset, d.length);
  let p = lz4FirstBlock;
  let op = 0;
  for (;;) {
    const word = (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
    p += 4;
    if (word === 0) return op;
    const size = word & 0x7fffffff;
    if ((word & 0x80000000) !== 0) {
      o.set(d.subarray(p, p + size), op);
      op += size;
    } else {
      op = lz4Block(d, dv, p, p + size, o, ov, op, op + blockBound(size, lz4MaxBlock));
      if (op < 0) return -1;
    }
    p += size;
  }
}

/** Copies up to this long go 4 bytes at a time through DataViews; longer ones through set/copyWithin. */
const WORD_COPY_MAX = 64;

/**
 * One LZ4 block s[ip, end) decoded to o[op, limit): the new op, or -1. Independent blocks: a match
 * may not reach before the block's own output. The block must end with a literals-only sequence.
 * Short copies move 4 bytes at a time and may write up to 3 bytes past their end (never past
 * o.length - 8; only ever into output not yet produced, which later copies overwrite) and read
 * up to 3 bytes past a literal run (never past s.length - 8); a match is copied that way only
 * when its offset is at least 4, so each word it reads is already written.
 */
function lz4Block(
  s: Uint8Array,
  sv: DataView,
  ip: number,
  end: number,
  o: Uint8Array,
  ov: DataView,
  op: number,
  limit: number,
): number {
  const floor = op;
  const sWild = s.length - 8;
  const oWild = o.length - 8;
  for (;;) {
    if (ip >= end) return lz4Fail("LZ4 block ends after a match (the last sequence must be literals)");
    const token = s[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) return lz4Fail("LZ4 literal length runs past the block");
        b = s[ip++];
        lit += b;
      }
    }
    if (lit > end - ip) return lz4Fail("LZ4 literals run past the block");
    if (lit > limit - op) return lz4Fail("LZ4 block decompresses past its size");
    if (lit <= WORD_COPY_MAX && ip + lit <= sWild && op + lit <= oWild) {
      for (let k = 0; k < lit; k += 4) ov.setUint32(op + k, sv.getUint32(ip + k));
      ip += lit;
      op += lit;
    } else if (lit < 16) {
      for (const stop = ip + lit; ip < stop; ) o[op++] = s[ip++];
    } else {
      o.set(s.subarray(ip, ip + lit), op);
      ip += lit;
      op += lit;
    }
    if (ip === end) return op;
    if (end - ip < 2) return lz4Fail("LZ4 match offset cut off");
    const offset = s[ip] | (s[ip + 1] << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) return lz4Fail("LZ4 match length runs past the block");
        b = s[ip++];
        len += b;
      }
    }
    len += 4;
    if (offset === 0 || offset > op - floor) return lz4Fail(`LZ4 match offset ${offset} out of range`);
    if (len > limit - op) return lz4Fail("LZ4 block decompresses past its size");
    const from = op - offset;
    if (offset >= 4 && len <= WORD_COPY_MAX && op + len <= oWild) {
      for (let k = 0; k < len; k += 4) ov.setUint32(op + k, ov.getUint32(from + k));
      op += len;
    } else if (len < 16) {
      for (let f = from, stop = op + len; op < stop; ) o[op++] = o[f++];
    } else if (offset >= len) {
      o.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping: the last `offset` bytes repeat. Copy what is there, doubling each time.
      while (len > 0) {
        const n = Math.min(len, op - from);
        o.copyWithin(op, from, from + n);
        op += n;
        len -= n;
      }
    }
  }
}

/**
 * An LZ4 frame decoded as validateRecords decodes it (for tests and tools): the output (a view of
 * the thread's scratch buffer when small, valid until the next call), or why it does not decode.
 * Frames with checksums are decoded by lz4-napi.
 */
export function decodeLz4Frame(
  d: Uint8Array,
  start = 0,
  end = d.length,
  maxBytes = DEFAULT_MAX_UNCOMPRESSED_BYTES,
): Uint8Array | string {
  const bound = lz4FrameBound(d, start, end);
  if (bound < 0) return lz4Problem;
  if (bound > maxBytes) return `may decompress to ${bound} bytes, more than ${maxBytes}`;
  if ((lz4Flags & 0x14) !== 0) {
    try {
      return decompressFrameSync(Buffer.from(d.buffer, d.byteOffset + start, end - start));
    } catch (e) {
      return (e as Error).message;
    }
  }
  const out = outputFor(bound);
  const n = lz4DecodeBlocks(d, out, outView);
  return n < 0 ? lz4Problem : out.subarray(0, n);
}

/** A gzip member's smallest size: 10-byte header, an empty deflate block, 8-byte trailer. */
const GZIP_MIN_BYTES = 20;
/**
 * How far past its trailer's ISIZE a gzip stream may decompress before it is refused: several
 * members concatenated (legal gzip, which no Kafka client writes) declare only the last's size.
 */
const GZIP_LIE_BYTES = 1024 * 1024;

/** Largest scratch buffer a thread keeps for decoded LZ4 records; larger ones are one-off. */
const SCRATCH_KEEP_BYTES = 8 * 1024 * 1024;
let scratch: Buffer = Buffer.allocUnsafeSlow(0);
let scratchView = new DataView(scratch.buffer, scratch.byteOffset, 0);
/** The DataView of the buffer outputFor returned last. */
let outView = scratchView;

/** A buffer of at least `bound` bytes for decoded records (uninitialised: only written bytes are read). */
function outputFor(bound: number): Buffer {
  if (bound > scratch.length) {
    if (bound > SCRATCH_KEEP_BYTES) {
      const once = Buffer.allocUnsafeSlow(bound);
      outView = new DataView(once.buffer, once.byteOffset, once.length);
      return once;
    }
    scratch = Buffer.allocUnsafeSlow(
      Math.min(SCRATCH_KEEP_BYTES, Math.max(bound, 2 * scratch.length, 65536)),
    );
    scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  }
  outView = scratchView;
  return scratch;
}

function corrupt(message: string): BatchCheck {
  return { error: ErrorCode.CORRUPT_MESSAGE, message };
}

/**
 * Validate the records of one RecordBatch v2 whose header checkProducedBatch has passed:
 * decompress the records section if the batch is compressed (gzip or lz4; output bounded by
 * `maxUncompressedBytes`), then walk it (walkRecords).
 */
export function validateRecords(
  batch: Buffer,
  maxUncompressedBytes = DEFAULT_MAX_UNCOMPRESSED_BYTES,
  compacted = false,
): BatchCheck {
  const count = batch.readInt32BE(RECORD_COUNT);
  const codec = batch[ATTRIBUTES_LOW] & 0x07;
  if (codec === CODEC_NONE) return walkRecords(batch, RECORDS, batch.length, count, compacted);
  let data: Buffer;
  if (codec === CODEC_GZIP) {
    const gz = batch.subarray(RECORDS);
    if (gz.length < GZIP_MIN_BYTES || gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8)
      return corrupt("gzip records do not decompress: not a gzip stream (magic 1f 8b 08)");
    // gzip's trailer says how large the output is (ISIZE, mod 2^32; zlib checks it). Taken as
    // the bound (with GZIP_LIE_BYTES of room), a stream is stopped at what it declared, not at
    // maxUncompressedBytes: decompressed garbage is memory the thread holds until its next
    // collection. One that declares more than the limit gets GZIP_LIE_BYTES to prove it (a
    // truncated stream's "trailer" is any 4 bytes: it ends early and is CORRUPT_MESSAGE).
    const declared = gz.readUInt32LE(gz.length - 4);
    const bound =
      declared > maxUncompressedBytes
        ? Math.min(GZIP_LIE_BYTES, maxUncompressedBytes + 1)
        : Math.min(maxUncompressedBytes, Math.max(declared, GZIP_LIE_BYTES));
    try {
      data = gunzipSync(gz, { maxOutputLength: bound });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "ERR_BUFFER_TOO_LARGE") {
        if (declared > maxUncompressedBytes || bound >= maxUncompressedBytes) {
          return {
            error: ErrorCode.MESSAGE_TOO_LARGE,
            message: `gzip records decompress to more than ${maxUncompressedBytes} bytes`,
          };
        }
        return corrupt(`gzip records decompress to more than the ${declared} bytes their trailer declares`);
      }
      return corrupt(`gzip records do not decompress: ${err.message}`);
    }
  } else if (codec === CODEC_LZ4) {
    const bound = lz4FrameBound(batch, RECORDS, batch.length);
    if (bound < 0) return corrupt(`lz4 records do not decompress: ${lz4Problem}`);
    if (bound > maxUncompressedBytes) {
      return {
        error: ErrorCode.MESSAGE_TOO_LARGE,
        message: `lz4 records may decompress to ${bound} bytes, more than ${maxUncompressedBytes}`,
      };
    }
    if ((lz4Flags & 0x14) === 0) {
      const out = outputFor(bound);
      const n = lz4DecodeBlocks(batch, out, outView);
      if (n < 0) return corrupt(`lz4 records do not decompress: ${lz4Problem}`);
      return walkRecords(out, 0, n, count, compacted);
    }
    // Checksums: lz4-napi checks them.
    try {
      data = decompressFrameSync(batch.subarray(RECORDS));
    } catch (e) {
      return corrupt(`lz4 records do not decompress: ${(e as Error).message}`);
    }
  } else {
    return {
      error: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `compression codec ${codec} is not supported (none, gzip, lz4)`,
    };
  }
  return walkRecords(data, 0, data.length, count, compacted);
}
