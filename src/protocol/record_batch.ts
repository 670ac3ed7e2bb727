// RecordBatch v2 (magic 2): the wire format and the disk format (DefaultRecordBatch.java).
// The broker reads this fixed header; on the produce path the writer also walks the records'
// framing (record_validation.ts: lengths and varints, never keys or values), and the fetch path
// never looks inside. Offsets are byte positions from the start of the batch.
//
//   0  baseOffset            int64   client sends 0; the writer rewrites it (outside the CRC)
//   8  batchLength           int32   bytes after this field (total - 12)
//  12  partitionLeaderEpoch  int32   outside the CRC
//  16  magic                 int8    2
//  17  crc                   uint32  CRC-32C of bytes [21, end)
//  21  attributes            int16   bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
//                                    bit 3 timestampType (LogAppendTime), bit 4 transactional,
//                                    bit 5 control
//  23  lastOffsetDelta       int32   recordCount - 1
//  27  baseTimestamp         int64
//  35  maxTimestamp          int64
//  43  producerId            int64   -1 when not idempotent
//  51  producerEpoch         int16
//  53  baseSequence          int32
//  57  recordCount           int32
//  61  records               ...     (compressed as one stream when codec != 0)

import { crc32c } from "@node-rs/crc32";
import { ErrorCode } from "./error_codes.ts";
import { readInt64 } from "./int64.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES, validateRecords } from "./record_validation.ts";

export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORD_COUNT = 57;
export const RECORDS = 61;
/** Bytes of the batch header; also the smallest valid batch. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the prefix not counted by batchLength. */
export const LOG_OVERHEAD = 12;

export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

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
