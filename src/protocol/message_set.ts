// Kafka's legacy message format (magic 0 and magic 1 "message sets": LegacyRecord.java,
// AbstractLegacyRecordBatch.java), which Produce v0-v2 may carry and Fetch v0-v3 must answer in.
// Milena stores RecordBatch v2 only, so both directions convert, as Kafka does when a topic's
// message format is newer than the client's:
//   messageSetToBatch    produce: a message set, validated, up-converted to one uncompressed
//                        RecordBatch v2 (LogValidator.convertAndAssignOffsetsNonCompressed and
//                        buildRecordsAndAssignOffsets; the caller then stores it as a v2 batch)
//   downConvertBatches   fetch: stored v2 batches down-converted to an uncompressed message set
//                        (RecordsUtil.downConvert), with why it stopped early if it did;
//                        batchesToMessageSet is the same, the message set alone
//
// A message set is messages back to back, nothing between or after them:
//
//    0  offset       int64   produce: anything (the log assigns offsets); fetch: absolute
//    8  messageSize  int32   bytes after this field (>= 14: Kafka's RECORD_OVERHEAD_V0)
//   12  crc          uint32  CRC-32 (IEEE, zlib's) of bytes [16, end)
//   16  magic        int8    0 or 1, the same for every message of a set
//   17  attributes   int8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4),
//                            bit 3 timestampType (1 = LogAppendTime; magic 1 only); others unused
//   18  timestamp    int64   magic 1 only: ms since the epoch, -1 = none
//   18 / 26  keyLength   int32   -1 = null key, else that many bytes follow
//            key
//            valueLength int32   -1 = null value, else that many bytes follow
//            value               the message ends exactly here
//
// A compressed message (codec != 0) is a wrapper: its key is unused and its value is the
// compressed bytes of a message set of uncompressed inner messages with the wrapper's magic. Inner
// offsets are relative for magic 1 (0..n-1; the wrapper's offset is the last inner message's
// absolute offset) and absolute for magic 0 (clients send 0..n-1). A magic-1 wrapper with the
// LogAppendTime bit gives its timestamp to every inner message. A produced set holding a wrapper
// holds nothing else (Kafka: "Compressed outer record has more than one batch").
//
// LZ4 wrappers hold one LZ4 frame (record_validation.ts draws it). Kafka before 0.10 computed the
// frame header's checksum byte HC over the wrong bytes (KAFKA-3160); Kafka accepts any HC in a
// magic-0 wrapper and checks it in a magic-1 wrapper, and so does this module.
//
// Answers on produce (Kafka's, where Kafka has one; Kafka's source names in quotes):
//   CORRUPT_MESSAGE (2)       a message cut short (Kafka trims a torn last message and appends the
//                             rest; here the set is refused, since a produce request is whole), a
//                             messageSize below 14 or past the set ("Record size is less than the
//                             minimum record overhead"), a magic other than 0-2 ("Invalid magic
//                             found in record"), a CRC mismatch ("Record is corrupt"), key or
//                             value lengths that do not add up to messageSize, compressed bytes
//                             that do not decompress (Kafka: an IOException, UNKNOWN_SERVER_ERROR)
//   INVALID_RECORD (87)       no messages; messages of different magics, or a magic-2 batch among
//                             them ("Batch magic ... is not the same as the first batch's magic");
//                             a wrapper with other messages ("Compressed outer record has more
//                             than one batch"), with a null value or no inner messages ("Found
//                             invalid compressed record set with ..."), with compressed inner
//                             messages ("Compressed outer record should not have an inner record
//                             with a compression attribute set"), with inner messages of another
//                             magic ("magic does not match outer magic"), a magic-1 wrapper offset
//                             below its last inner offset and not 0 ("Found invalid wrapper
//                             offset"); a zstd wrapper ("Invalid wrapper compressionType"); a
//                             keyless message on a compacted topic (LogValidator.validateKey)
//   INVALID_TIMESTAMP (32)    a magic-1 timestamp below -1 (Kafka's MemoryRecordsBuilder throws
//                             "Invalid negative timestamp", UNKNOWN_SERVER_ERROR) or above 2^53
//                             (a JS number would change it); the LogAppendTime bit set by the
//                             producer on a LogAppendTime topic, or with no timestamp
//                             (LogValidator.validateTimestamp)
//   UNSUPPORTED_COMPRESSION_TYPE (76)  snappy (Kafka takes it; Milena has no snappy codec), or
//                             codec 5-7 (Kafka: CompressionType.forId throws)
//   MESSAGE_TOO_LARGE (10)    more than maxRecords messages, or compressed bytes that decompress
//                             past maxUncompressedBytes (zip bombs: Kafka has no such limit; the
//                             code is record_validation.ts's for v2 batches)
// An empty set is INVALID_RECORD here; Kafka appends nothing and answers NONE with offset -1, so a
// caller that wants Kafka's answer checks set.length === 0 first. The v2 batch returned is subject
// to max.message.bytes like any produced batch (Kafka checks the converted size too).

import { crc32, gunzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { ErrorCode } from "./error_codes.ts";
import { readInt64, writeInt64 } from "./int64.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  Compression,
  CRC,
  MAX_TIMESTAMP,
  RECORD_COUNT,
  RECORDS,
  storedBatchIntact,
} from "./record_batch.ts";
import { decodeLz4Frame } from "./record_validation.ts";
import { codecs, encodeBatch, type NewRecord } from "./records.ts";
import { Writer } from "./writer.ts";
import { xxh32 } from "./xxh32.ts";

// Byte positions in a message, from its offset field (the layout above).
const OFFSET = 0;
const MESSAGE_SIZE = 8;
const MESSAGE_CRC = 12;
const MESSAGE_MAGIC = 16;
const MESSAGE_ATTRIBUTES = 17;
const MESSAGE_TIMESTAMP = 18;
/** offset + messageSize: the prefix messageSize does not count. */
const MESSAGE_LOG_OVERHEAD = 12;
/** Smallest messageSize of each magic: crc, magic, attributes, [timestamp,] two lengths. */
const RECORD_OVERHEAD = [14, 22] as const;

const LEGACY_ATTR_COMPRESSION_MASK = 0x07;
const LEGACY_ATTR_LOG_APPEND_TIME = 0x08;
const NO_TIMESTAMP = -1;

export interface MessageSetOptions {
  /** Most messages the set may hold, inner messages of a wrapper counted one by one. */
  maxRecords: number;
  /** Most bytes a compressed wrapper's value may decompress to. */
  maxUncompressedBytes: number;
  /** cleanup.policy=compact: every message must have a key. */
  compacted?: boolean;
  /** message.timestamp.type=LogAppendTime: the batch is stamped with `now` (Milena: CreateTime only). */
  logAppendTime?: boolean;
}

/** A Kafka error code (error_codes.ts) and what was wrong, for the client. */
export interface MessageSetError {
  errorCode: number;
  message: string;
}

/** The one RecordBatch v2 (compressed as the set was), and the bytes its records took uncompressed. */
export type MessageSetResult = { batch: Buffer; uncompressedBytes: number } | MessageSetError;

interface Message {
  offset: number;
  attributes: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

function fail(errorCode: number, message: string): MessageSetError {
  return { errorCode, message };
}

function isError(r: unknown): r is MessageSetError {
  return (r as MessageSetError).errorCode !== undefined;
}

/**
 * Read the messages of d[start, end) (a produced set, or a wrapper's decompressed value), every
 * one checked: framing, magic, CRC, lengths. `magic` is the magic they must all have (a wrapper's),
 * or -1 for the first message's; `where` names the set in error messages.
 */
function readMessages(
  d: Buffer,
  start: number,
  end: number,
  magic: number,
  maxRecords: number,
  where: string,
): { magic: number; messages: Message[] } | MessageSetError {
  const messages: Message[] = [];
  let p = start;
  while (p < end) {
    const i = messages.length;
    if (end - p < MESSAGE_LOG_OVERHEAD) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `${where}: ${end - p} bytes after message ${i - 1}, shorter than a message's offset and size`,
      );
    }
    const size = d.readInt32BE(p + MESSAGE_SIZE);
    if (size < RECORD_OVERHEAD[0]) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `${where}: message ${i} has size ${size}, below the minimum 14`);
    }
    if (size > end - p - MESSAGE_LOG_OVERHEAD) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `${where}: message ${i} of ${size} bytes is cut off (${end - p - MESSAGE_LOG_OVERHEAD} bytes left)`,
      );
    }
    const m = d.readInt8(p + MESSAGE_MAGIC);
    if (magic < 0) {
      // The first message of a produced set sets the magic.
      if (m < 0 || m > 2) return fail(ErrorCode.CORRUPT_MESSAGE, `${where}: message ${i} has magic ${m}`);
      if (m === 2) {
        return fail(ErrorCode.INVALID_RECORD, `${where}: a magic-2 record batch, not a magic 0 or 1 message`);
      }
      magic = m;
    } else if (m !== magic) {
      return fail(ErrorCode.INVALID_RECORD, `${where}: message ${i} has magic ${m}, not ${magic}`);
    }
    const msgEnd = p + MESSAGE_LOG_OVERHEAD + size;
    if (crc32(d.subarray(p + MESSAGE_MAGIC, msgEnd)) !== d.readUInt32BE(p + MESSAGE_CRC)) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `${where}: message ${i} is corrupt (CRC-32 mismatch)`);
    }
    if (size < RECORD_OVERHEAD[magic]) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `${where}: message ${i} has size ${size}, below magic ${magic}'s minimum ${RECORD_OVERHEAD[magic]}`,
      );
    }
    if (messages.length >= maxRecords) {
      return fail(ErrorCode.MESSAGE_TOO_LARGE, `${where}: more than ${maxRecords} messages`);
    }
    const attributes = d[p + MESSAGE_ATTRIBUTES];
    const timestamp = magic === 0 ? NO_TIMESTAMP : readInt64(d, p + MESSAGE_TIMESTAMP);
    // Both lengths fit: size >= the overhead, which counts them.
    let q = p + MESSAGE_LOG_OVERHEAD + RECORD_OVERHEAD[magic] - 8;
    const keyLength = d.readInt32BE(q);
    q += 4;
    if (keyLength < -1 || keyLength > msgEnd - q - 4) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `${where}: message ${i} has key length ${keyLength}`);
    }
    const key = keyLength < 0 ? null : d.subarray(q, q + keyLength);
    if (keyLength > 0) q += keyLength;
    const valueLength = d.readInt32BE(q);
    q += 4;
    if (valueLength < -1 || valueLength > msgEnd - q) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `${where}: message ${i} has value length ${valueLength}`);
    }
    const value = valueLength < 0 ? null : d.subarray(q, q + valueLength);
    if (valueLength > 0) q += valueLength;
    if (q !== msgEnd) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `${where}: message ${i} has size ${size} but its key and value end ${msgEnd - q} bytes before`,
      );
    }
    messages.push({ offset: readInt64(d, p + OFFSET), attributes, timestamp, key, value });
    p = msgEnd;
  }
  return { magic, messages };
}

/** A wrapper's value decompressed (at most `limit` bytes), or why not. */
function decompress(codec: number, magic: number, value: Buffer, limit: number): Buffer | MessageSetError {
  if (codec === Compression.GZIP) {
    try {
      // zlib stops at maxOutputLength: a bomb costs `limit` bytes of memory, no more.
      return gunzipSync(value, { maxOutputLength: Math.max(1, limit) });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "ERR_BUFFER_TOO_LARGE") {
        return fail(ErrorCode.MESSAGE_TOO_LARGE, `gzip messages decompress to more than ${limit} bytes`);
      }
      return fail(ErrorCode.CORRUPT_MESSAGE, `gzip messages do not decompress: ${err.message}`);
    }
  }
  // LZ4: one frame. Magic 0: any header checksum (KAFKA-3160), so a wrong one is put right in a copy.
  let frame = value;
  if (magic === 0 && value.length >= 7) {
    const hc = 6 + ((value[4] & 0x08) !== 0 ? 8 : 0);
    if (hc < value.length) {
      const right = (xxh32(value, 4, hc) >>> 8) & 0xff;
      if (value[hc] !== right) {
        frame = Buffer.from(value);
        frame[hc] = right;
      }
    }
  }
  const out = decodeLz4Frame(frame, 0, frame.length, limit);
  if (typeof out === "string") {
    // decodeLz4Frame bounds the output from the block headers before it decompresses anything.
    return out.startsWith("may decompress to")
      ? fail(ErrorCode.MESSAGE_TOO_LARGE, `lz4 messages ${out}`)
      : fail(ErrorCode.CORRUPT_MESSAGE, `lz4 messages do not decompress: ${out}`);
  }
  // A view of record_validation.ts's scratch buffer when small: copied before anything else decodes.
  return Buffer.from(out);
}

/**
 * A produced magic 0 or 1 message set as one uncompressed RecordBatch v2 (baseOffset 0,
 * producerId -1, CreateTime unless options.logAppendTime), or Kafka's error for it. Every message
 * is checked (see the header); offsets are not kept (the log assigns them). Magic-0 messages get
 * timestamp -1 (Kafka's NO_TIMESTAMP); magic-1 messages keep theirs, a LogAppendTime wrapper's
 * timestamp standing for its inner messages'. Keys and values are kept; there are no headers.
 * `now` is the append time, used only on a LogAppendTime topic (Kafka's converter takes it too).
 * Never throws.
 */
export function messageSetToBatch(
  set: Uint8Array,
  now: number,
  options: MessageSetOptions,
): MessageSetResult {
  try {
    return convertUp(Buffer.from(set.buffer, set.byteOffset, set.length), now, options);
  } catch (e) {
    // Not reached by any input the checks know of; a bug is still an answer, not a thrown request.
    return fail(ErrorCode.CORRUPT_MESSAGE, `message set does not convert: ${(e as Error).message}`);
  }
}

function convertUp(set: Buffer, now: number, options: MessageSetOptions): MessageSetResult {
  if (set.length === 0) return fail(ErrorCode.INVALID_RECORD, "the message set has no messages");
  const maxRecords = Math.max(0, options.maxRecords);
  const outer = readMessages(set, 0, set.length, -1, maxRecords, "message set");
  if (isError(outer)) return outer;
  const { magic } = outer;
  let messages = outer.messages;
  // The attributes Kafka calls the batch's: the wrapper's, or each uncompressed message's own.
  let wrapperAttributes = -1;
  /** Bytes the wrapper decompressed to (-1: not compressed). */
  let compressedBytes = -1;

  const compressed = messages.findIndex((m) => (m.attributes & LEGACY_ATTR_COMPRESSION_MASK) !== 0);
  if (compressed >= 0) {
    if (messages.length > 1) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `message ${compressed} is compressed and the set holds ${messages.length} messages: a compressed message must be alone`,
      );
    }
    const wrapper = messages[0];
    wrapperAttributes = wrapper.attributes;
    const codec = wrapper.attributes & LEGACY_ATTR_COMPRESSION_MASK;
    if (codec === Compression.ZSTD) {
      return fail(ErrorCode.INVALID_RECORD, `zstd is not a compression codec of magic ${magic}`);
    }
    if (codec !== Compression.GZIP && codec !== Compression.LZ4) {
      return fail(
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `compression codec ${codec}${codec === Compression.SNAPPY ? " (snappy)" : ""} is not supported (none, gzip, lz4)`,
      );
    }
    if (wrapper.value === null) {
      return fail(ErrorCode.INVALID_RECORD, "the compressed message has a null value");
    }
    const inner = decompress(codec, magic, wrapper.value, options.maxUncompressedBytes);
    if (isError(inner)) return inner;
    compressedBytes = inner.length;
    const read = readMessages(inner, 0, inner.length, magic, maxRecords, "compressed message set");
    if (isError(read)) return read;
    if (read.messages.length === 0) {
      return fail(ErrorCode.INVALID_RECORD, "the compressed message holds no messages");
    }
    messages = read.messages;
    for (let i = 0; i < messages.length; i++) {
      if ((messages[i].attributes & LEGACY_ATTR_COMPRESSION_MASK) !== 0) {
        return fail(ErrorCode.INVALID_RECORD, `inner message ${i} is compressed: inner messages may not be`);
      }
    }
    if (magic === 1) {
      const lastInner = messages[messages.length - 1].offset;
      if (wrapper.offset !== 0 && wrapper.offset < lastInner) {
        return fail(
          ErrorCode.INVALID_RECORD,
          `wrapper offset ${wrapper.offset} is below the last inner offset ${lastInner} and not 0`,
        );
      }
      if ((wrapper.attributes & LEGACY_ATTR_LOG_APPEND_TIME) !== 0) {
        for (const m of messages) m.timestamp = wrapper.timestamp;
      }
    }
  }

  const records: NewRecord[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (options.compacted && m.key === null) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `message ${i}: a compacted topic cannot accept a message without a key`,
      );
    }
    if (magic === 1) {
      if (m.timestamp < NO_TIMESTAMP || m.timestamp > Number.MAX_SAFE_INTEGER) {
        return fail(ErrorCode.INVALID_TIMESTAMP, `message ${i} has invalid timestamp ${m.timestamp}`);
      }
      const attributes = wrapperAttributes >= 0 ? wrapperAttributes : m.attributes;
      if ((attributes & LEGACY_ATTR_LOG_APPEND_TIME) !== 0) {
        if (options.logAppendTime) {
          return fail(
            ErrorCode.INVALID_TIMESTAMP,
            `message ${i}: producers may not set the timestamp type to LogAppendTime`,
          );
        }
        if (m.timestamp === NO_TIMESTAMP) {
          return fail(ErrorCode.INVALID_TIMESTAMP, `message ${i}: LogAppendTime with no timestamp`);
        }
      }
    }
    records[i] = { key: m.key, value: m.value, timestamp: m.timestamp };
  }

  // Stored compressed with the wrapper's codec, as Kafka's up-conversion does (a small gzip
  // wrapper of a large zero value must not become that many bytes on disk).
  const sourceCodec =
    wrapperAttributes >= 0 ? wrapperAttributes & LEGACY_ATTR_COMPRESSION_MASK : Compression.NONE;
  const codec = codecs.has(sourceCodec) ? sourceCodec : Compression.NONE;
  const batch = encodeBatch(records, codec, now);
  if (options.logAppendTime) {
    // Kafka's MemoryRecordsBuilder on a LogAppendTime topic: records as they are, the batch's
    // timestamp type and maxTimestamp say when it was appended.
    batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES) | ATTR_LOG_APPEND_TIME, ATTRIBUTES);
    writeInt64(batch, MAX_TIMESTAMP, now);
    batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES)), CRC);
  }
  return { batch, uncompressedBytes: compressedBytes >= 0 ? compressedBytes : set.length };
}

// ---- fetch: stored v2 batches down to a message set ----

export interface DownConversion {
  /** The message set: whole messages, offsets absolute. */
  set: Buffer;
  /**
   * Why conversion stopped at a whole batch it could not convert (its codec not registered in
   * records.ts's `codecs`: UNSUPPORTED_COMPRESSION_TYPE, Kafka's answer for zstd; stored bytes
   * that do not check out: CORRUPT_MESSAGE), or null. With `set` empty, the caller answers the
   * error, or a consumer would fetch the same offset forever.
   */
  stopped: MessageSetError | null;
}

/**
 * Stored RecordBatch v2 batches (as a fetch reads them: whole batches, maybe a partial last one,
 * which is dropped) as an uncompressed message set of `magic`: one message per record, offset
 * baseOffset + offsetDelta, key and value; magic 1 with the record's timestamp (the batch's
 * maxTimestamp and the LogAppendTime bit when the batch has it). Headers are dropped and control
 * batches skipped, as Kafka does; records before `fromOffset` (the fetch offset, which may fall
 * inside a batch) are left out, as Kafka does for uncompressed output. Stops before the set would
 * pass maxBytes, except that the first message is always whole even when larger (Kafka's Fetch
 * v3+ behaviour; for v0-v2 Kafka may send a partial message, which a consumer must take as "fetch
 * size too small"). Never throws: a batch that does not check out (CRC-32C, lengths, records)
 * stops the conversion there, and what came before is returned.
 */
export function downConvertBatches(
  data: Uint8Array,
  magic: 0 | 1,
  maxBytes: number,
  fromOffset = 0,
): DownConversion {
  const d = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out = new Writer(Math.max(256, Math.min(d.length + (d.length >> 1), 1 << 20, maxBytes || 0)));
  try {
    return convertDown(d, magic, maxBytes, fromOffset, out);
  } catch (e) {
    // Not reached by any stored bytes the checks know of; a bug still answers what came before.
    return stop(out, ErrorCode.CORRUPT_MESSAGE, `stored batches do not convert: ${(e as Error).message}`);
  }
}

function convertDown(
  d: Buffer,
  magic: 0 | 1,
  maxBytes: number,
  fromOffset: number,
  out: Writer,
): DownConversion {
  let at = 0;
  while (d.length - at >= BATCH_HEADER_BYTES) {
    const size = d.readInt32BE(at + BATCH_LENGTH) + MESSAGE_LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES) {
      return stop(out, ErrorCode.CORRUPT_MESSAGE, `stored batch at byte ${at} has length ${size - 12}`);
    }
    if (size > d.length - at) break; // the partial batch a fetch read may end with
    const batch = d.subarray(at, at + size);
    if (!storedBatchIntact(batch)) {
      return stop(out, ErrorCode.CORRUPT_MESSAGE, `stored batch at byte ${at} is corrupt`);
    }
    at += size;
    const attributes = batch.readInt16BE(ATTRIBUTES);
    if ((attributes & ATTR_CONTROL) !== 0) continue;
    const codecId = attributes & ATTR_COMPRESSION_MASK;
    let records: Buffer = batch.subarray(RECORDS);
    if (codecId !== Compression.NONE) {
      const codec = codecs.get(codecId);
      if (codec === undefined) {
        return stop(
          out,
          ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
          `stored batch at offset ${readInt64(batch, BASE_OFFSET)} uses compression codec ${codecId}, which is not available`,
        );
      }
      try {
        records = codec.decompress(records);
      } catch (e) {
        return stop(
          out,
          ErrorCode.CORRUPT_MESSAGE,
          `stored batch at offset ${readInt64(batch, BASE_OFFSET)} does not decompress: ${(e as Error).message}`,
        );
      }
    }
    const r = writeMessages(batch, records, magic, maxBytes, fromOffset, out);
    if (r === FULL) break;
    if (r === BAD) {
      return stop(
        out,
        ErrorCode.CORRUPT_MESSAGE,
        `stored batch at offset ${readInt64(batch, BASE_OFFSET)} has corrupt records`,
      );
    }
  }
  return { set: asBuffer(out.view()), stopped: null };
}

/** The same bytes as a Buffer (no copy). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** downConvertBatches' message set alone. */
export function batchesToMessageSet(
  data: Uint8Array,
  magic: 0 | 1,
  maxBytes: number,
  fromOffset = 0,
): Buffer {
  return downConvertBatches(data, magic, maxBytes, fromOffset).set;
}

function stop(out: Writer, errorCode: number, message: string): DownConversion {
  return { set: asBuffer(out.view()), stopped: { errorCode, message } };
}

const DONE = 0;
const FULL = 1;
const BAD = 2;

/**
 * The records of one batch as messages appended to `out`: DONE, FULL (the next message would
 * pass maxBytes; the ones before it stay), or BAD (the records do not parse; nothing of this
 * batch stays).
 */
function writeMessages(
  batch: Buffer,
  d: Buffer,
  magic: 0 | 1,
  maxBytes: number,
  fromOffset: number,
  out: Writer,
): number {
  const mark = out.offset;
  const baseOffset = readInt64(batch, BASE_OFFSET);
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP);
  const logAppendTime = (batch.readInt16BE(ATTRIBUTES) & ATTR_LOG_APPEND_TIME) !== 0;
  const maxTimestamp = readInt64(batch, MAX_TIMESTAMP);
  const count = batch.readInt32BE(RECORD_COUNT);
  const attributes = magic === 1 && logAppendTime ? LEGACY_ATTR_LOG_APPEND_TIME : 0;
  const overhead = MESSAGE_LOG_OVERHEAD + RECORD_OVERHEAD[magic];
  const end = d.length;
  pos = 0;
  for (let i = 0; i < count; i++) {
    const length = varlong(d, end, 5);
    if (pos < 0 || length < 0 || length > end - pos) return bad(out, mark);
    const recEnd = pos + length;
    pos++; // attributes, unused
    const timestampDelta = varlong(d, recEnd, 10);
    const offsetDelta = varlong(d, recEnd, 5);
    const keyLength = varlong(d, recEnd, 5);
    if (pos < 0 || keyLength < -1 || keyLength > recEnd - pos) return bad(out, mark);
    const keyAt = pos;
    if (keyLength > 0) pos += keyLength;
    const valueLength = varlong(d, recEnd, 5);
    if (pos < 0 || valueLength < -1 || valueLength > recEnd - pos) return bad(out, mark);
    const valueAt = pos;
    if (valueLength > 0) pos += valueLength;
    const headerCount = varlong(d, recEnd, 5);
    if (pos < 0 || headerCount < 0) return bad(out, mark);
    for (let h = 0; h < headerCount; h++) {
      const k = varlong(d, recEnd, 5);
      if (pos < 0 || k < 0 || k > recEnd - pos) return bad(out, mark);
      pos += k;
      const v = varlong(d, recEnd, 5);
      if (pos < 0 || v < -1 || v > recEnd - pos) return bad(out, mark);
      if (v > 0) pos += v;
    }
    if (pos !== recEnd) return bad(out, mark);

    const offset = baseOffset + offsetDelta;
    if (offset < fromOffset) continue;
    const size = overhead + Math.max(0, keyLength) + Math.max(0, valueLength);
    if (out.offset > 0 && out.offset + size > maxBytes) return FULL;
    const start = out.offset;
    out
      .int64(offset)
      .int32(size - MESSAGE_LOG_OVERHEAD)
      .uint32(0)
      .int8(magic)
      .int8(attributes);
    if (magic === 1) out.int64(logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta);
    if (keyLength < 0) out.int32(-1);
    else out.bytes(d.subarray(keyAt, keyAt + keyLength));
    if (valueLength < 0) out.int32(-1);
    else out.bytes(d.subarray(valueAt, valueAt + valueLength));
    new DataView(out.buf.buffer, out.buf.byteOffset).setUint32(
      start + MESSAGE_CRC,
      crc32(out.buf.subarray(start + MESSAGE_MAGIC, out.offset)),
    );
  }
  if (pos !== end) return bad(out, mark);
  return DONE;
}

function bad(out: Writer, mark: number): number {
  out.offset = mark;
  return BAD;
}

/** Cursor of varlong(): the position after the last read, or -1 once a read has failed. */
let pos = 0;

/** A zigzag varint of at most maxBytes bytes at pos, before limit (exact to 2^53); -1 into pos on failure. */
function varlong(d: Buffer, limit: number, maxBytes: number): number {
  if (pos < 0) return 0;
  let value = 0;
  let scale = 1;
  for (let n = 0; n < maxBytes; n++) {
    if (pos >= limit) break;
    const b = d[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    scale *= 128;
  }
  pos = -1;
  return 0;
}
