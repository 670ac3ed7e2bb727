// RecordBatch v2 (magic 2): the wire format and the disk format (DefaultRecordBatch.java), as
// named byte offsets. Plain constants, no Node API: the broker, Milena's client (batch.ts,
// records.ts) and the tools read and write batches through these names.
// Offsets are byte positions from the start of the batch.
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
