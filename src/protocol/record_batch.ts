// RecordBatch v2 (magic 2): the checks the broker makes of a produced batch's header (and, with
// record_validation.ts, its records). The layout and its named offsets: record_batch_layout.ts.
// The broker reads this fixed header; on the produce path the writer also walks the records'
// framing (record_validation.ts: lengths and varints, never keys or values), and the fetch path
// never looks inside.

import { crc32c } from "@node-rs/crc32";
import { ErrorCode } from "./error_codes.ts";
import { readInt64 } from "./int64.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES, validateRecords } from "./record_validation.ts";

export {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
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
} from "./record_batch_layout.ts";

import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  Compression,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  RECORD_COUNT,
} from "./record_batch_layout.ts";

export { readInt64, writeInt64 } from "./int64.ts";

export interface BatchCheck {
  error: number;
  message: string;
}

const OK: BatchCheck = { error: ErrorCode.NONE, message: "" };

/** What the record walk needs beyond the batch (defaults: not compacted, 64 MiB). */
export interface RecordCheckOptions {
  /** cleanup.policy=compact: every record must have a key (LogValidator.validateKey). */
  compacted?: boolean;
  /**
   * Largest records section a compressed batch may decompress to (zip bombs); never below
   * maxMessageBytes. Default DEFAULT_MAX_UNCOMPRESSED_BYTES (64 MiB).
   */
  maxUncompressedBytes?: number;
}

/**
 * The writer's validation of one produced record set, as Kafka's LogValidator answers it: the
 * header (checkBatchHeader), then the records inside (validateRecords in record_validation.ts:
 * framing walked, compressed sections decompressed and walked; nothing materialised).
 */
export function checkProducedBatch(
  b: Buffer,
  maxMessageBytes: number,
  options?: RecordCheckOptions,
): BatchCheck {
  const header = checkBatchHeader(b, maxMessageBytes);
  if (header.error !== ErrorCode.NONE) return header;
  const limit = Math.max(options?.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES, maxMessageBytes);
  return validateRecords(b, limit, options?.compacted ?? false);
}

/**
 * The batch header alone: exactly one magic-2 batch, sizes consistent, CRC-32C correct, offsets
 * dense, no client control batch, a codec the broker stores (gzip and lz4 as sent; snappy and
 * zstd refused). Per batch, never per record.
 */
export function checkBatchHeader(b: Buffer, maxMessageBytes: number): BatchCheck {
  if (b.length < BATCH_HEADER_BYTES) {
    return {
      error: ErrorCode.CORRUPT_MESSAGE,
      message: `record set of ${b.length} bytes is shorter than a batch header`,
    };
  }
  if (b[MAGIC] !== 2) {
    return { error: ErrorCode.INVALID_RECORD, message: `magic ${b[MAGIC]} is not 2 (RecordBatch v2 only)` };
  }
  const batchLength = b.readInt32BE(BATCH_LENGTH);
  if (batchLength + LOG_OVERHEAD !== b.length) {
    // Either a torn batch or more than one batch: Kafka wants exactly one per partition (v3+).
    return batchLength + LOG_OVERHEAD < b.length
      ? { error: ErrorCode.INVALID_RECORD, message: "more than one batch in a partition's record set" }
      : { error: ErrorCode.CORRUPT_MESSAGE, message: "batchLength runs past the record set" };
  }
  if (b.length > maxMessageBytes) {
    return {
      error: ErrorCode.MESSAGE_TOO_LARGE,
      message: `batch of ${b.length} bytes exceeds max.message.bytes ${maxMessageBytes}`,
    };
  }
  if (crc32c(b.subarray(ATTRIBUTES)) !== b.readUInt32BE(CRC)) {
    return { error: ErrorCode.CORRUPT_MESSAGE, message: "CRC-32C mismatch" };
  }
  const attributes = b.readInt16BE(ATTRIBUTES);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (codec === Compression.SNAPPY || codec === Compression.ZSTD || codec > Compression.ZSTD) {
    return {
      error: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `compression codec ${codec} is not supported (none, gzip, lz4)`,
    };
  }
  if ((attributes & ATTR_CONTROL) !== 0) {
    return { error: ErrorCode.INVALID_RECORD, message: "clients may not produce control batches" };
  }
  const count = b.readInt32BE(RECORD_COUNT);
  const lastOffsetDelta = b.readInt32BE(LAST_OFFSET_DELTA);
  if (count <= 0 || lastOffsetDelta + 1 !== count) {
    return {
      error: ErrorCode.INVALID_RECORD,
      message: `lastOffsetDelta ${lastOffsetDelta} does not match record count ${count}`,
    };
  }
  if (readInt64(b, BASE_OFFSET) !== 0) {
    return { error: ErrorCode.INVALID_RECORD, message: "baseOffset of a produced batch must be 0" };
  }
  return OK;
}

/** Whether a stored batch is intact (recovery): header sane and CRC-32C right. */
export function storedBatchIntact(b: Buffer): boolean {
  if (b.length < BATCH_HEADER_BYTES || b[MAGIC] !== 2) return false;
  if (b.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD !== b.length) return false;
  if (b.readInt32BE(LAST_OFFSET_DELTA) < 0) return false;
  return crc32c(b.subarray(ATTRIBUTES)) === b.readUInt32BE(CRC);
}
