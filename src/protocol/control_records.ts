// Control batches: the end-transaction markers (COMMIT, ABORT) the transaction coordinator has
// the partition leaders append (Kafka's MemoryRecords.withEndTransactionMarker,
// ControlRecordType.java, EndTransactionMarker.java). A marker batch is a RecordBatch v2 with the
// transactional and control attribute bits set, the producer's id and epoch, no sequence, and
// one record whose key says which control record it is and whose value carries the
// coordinator's epoch (so a partition can refuse markers of a coordinator that was replaced).
//
// The whole marker batch, 78 bytes (header named in record_batch_layout.ts):
//
//    0  baseOffset            int64   0 (the writer rewrites it)
//    8  batchLength           int32   66 (78 - 12)
//   12  partitionLeaderEpoch  int32   -1 unless given
//   16  magic                 int8    2
//   17  crc                   uint32  CRC-32C of bytes [21, 78)
//   21  attributes            int16   0x0030: transactional (0x10) | control (0x20), no codec,
//                                     CreateTime
//   23  lastOffsetDelta       int32   0
//   27  baseTimestamp         int64   timestampMs
//   35  maxTimestamp          int64   timestampMs
//   43  producerId            int64
//   51  producerEpoch         int16
//   53  baseSequence          int32   -1 (markers carry no sequence)
//   57  recordCount           int32   1
//   61  the one record, 17 bytes (varints zigzag):
//       61  length          varint  0x20 (16 bytes follow)
//       62  attributes      int8    0x00
//       63  timestampDelta  varlong 0x00
//       64  offsetDelta     varint  0x00
//       65  keyLength       varint  0x08 (4)
//       66  key             ControlRecordKey:    version int16 0 | type int16 (0 ABORT, 1 COMMIT)
//       70  valueLength     varint  0x0c (6)
//       71  value           EndTransactionMarker: version int16 0 | coordinatorEpoch int32
//       77  headerCount     varint  0x00
//
// Other control types (KRaft's LEADER_CHANGE, SNAPSHOT_HEADER, ...: 2 and up) are not written
// here; parseControlBatch reports them as "other", as it does an empty control batch (the log
// cleaner leaves those behind when it removes a whole transaction) and a malformed key or value.

import { crc32c } from "@node-rs/crc32";
import { writeInt64 } from "./int64.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
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
import { decodeBatch } from "./records.ts";

/** ControlRecordType ids (ControlRecordType.java) of the end-transaction markers. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;
/** ControlRecordKey and EndTransactionMarker schema versions written (both 0 in Kafka 3.x/4.0). */
export const CONTROL_RECORD_KEY_VERSION = 0;
export const END_TXN_MARKER_VERSION = 0;
/** Bytes of a marker batch: the 61-byte header and its one 17-byte record. */
export const MARKER_BATCH_BYTES = 78;

/** The offsets of the marker record's fields, from the start of the batch (drawn above). */
const REC_LENGTH = RECORDS; // 61
const REC_KEY_LENGTH = RECORDS + 4; // 65
const REC_KEY = RECORDS + 5; // 66
const REC_VALUE_LENGTH = RECORDS + 9; // 70
const REC_VALUE = RECORDS + 10; // 71
const REC_HEADER_COUNT = RECORDS + 16; // 77

export interface EndTxnMarker {
  producerId: number;
  producerEpoch: number;
  /** true: COMMIT; false: ABORT. */
  commit: boolean;
  /** The transaction coordinator's epoch (its __transaction_state partition's leader epoch). */
  coordinatorEpoch: number;
  /** baseTimestamp, maxTimestamp and the record's timestamp. */
  timestampMs: number;
  /** Default -1 (RecordBatch.NO_PARTITION_LEADER_EPOCH); the writer may stamp its own. */
  partitionLeaderEpoch?: number;
}

export type ControlKind = "commit" | "abort" | "other";

export interface ControlBatchInfo {
  type: ControlKind;
  /** The marker's coordinator epoch; -1 for "other". */
  coordinatorEpoch: number;
}

/** The whole marker batch (baseOffset 0, to be rewritten by the writer), CRC-32C set. */
export function encodeMarkerBatch(m: EndTxnMarker): Buffer {
  const b = Buffer.alloc(MARKER_BATCH_BYTES);
  // header
  b.writeInt32BE(MARKER_BATCH_BYTES - LOG_OVERHEAD, BATCH_LENGTH);
  b.writeInt32BE(m.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH);
  b[MAGIC] = 2;
  b.writeInt16BE(ATTR_TRANSACTIONAL | ATTR_CONTROL, ATTRIBUTES);
  b.writeInt32BE(0, LAST_OFFSET_DELTA);
  writeInt64(b, BASE_TIMESTAMP, m.timestampMs);
  writeInt64(b, MAX_TIMESTAMP, m.timestampMs);
  writeInt64(b, PRODUCER_ID, m.producerId);
  b.writeInt16BE(m.producerEpoch, PRODUCER_EPOCH);
  b.writeInt32BE(-1, BASE_SEQUENCE);
  b.writeInt32BE(1, RECORD_COUNT);
  // the record: attributes, timestampDelta and offsetDelta stay 0x00 (Buffer.alloc)
  b[REC_LENGTH] = 0x20; // zigzag(16)
  b[REC_KEY_LENGTH] = 0x08; // zigzag(4)
  b.writeInt16BE(CONTROL_RECORD_KEY_VERSION, REC_KEY);
  b.writeInt16BE(m.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, REC_KEY + 2);
  b[REC_VALUE_LENGTH] = 0x0c; // zigzag(6)
  b.writeInt16BE(END_TXN_MARKER_VERSION, REC_VALUE);
  b.writeInt32BE(m.coordinatorEpoch, REC_VALUE + 2);
  b[REC_HEADER_COUNT] = 0x00;
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

/** Whether a batch (or just its 61-byte header) has the control attribute bit. */
export function isControlBatch(batch: Buffer): boolean {
  return batch.length >= BATCH_HEADER_BYTES && (batch.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) !== 0;
}

const OTHER: ControlBatchInfo = { type: "other", coordinatorEpoch: -1 };

/**
 * What a control batch says: a COMMIT or ABORT marker and its coordinator epoch, or "other"
 * (another control type, no record, a malformed key or value: Kafka's ControlRecordType
 * reads version >= 0 and any later version as version 0, as here). null when the batch is not a
 * control batch. Needs the whole batch, not only its header; does not check the CRC
 * (storedBatchIntact does).
 */
export function parseControlBatch(batch: Buffer): ControlBatchInfo | null {
  if (!isControlBatch(batch) || batch[MAGIC] !== 2) return null;
  if (batch.readInt32BE(RECORD_COUNT) < 1) return OTHER;
  let key: Buffer | null;
  let value: Buffer | null;
  if ((batch.readInt16BE(ATTRIBUTES) & ATTR_COMPRESSION_MASK) === Compression.NONE) {
    const r = firstRecordKeyValue(batch);
    if (r === null) return OTHER;
    ({ key, value } = r);
  } else {
    // Kafka never compresses markers, but a control batch is a batch: read it the general way.
    try {
      const first = decodeBatch(batch)[0];
      if (first === undefined) return OTHER;
      ({ key, value } = first);
    } catch {
      return OTHER;
    }
  }
  if (key === null || key.length < 4 || key.readInt16BE(0) < 0) return OTHER;
  const type = key.readInt16BE(2);
  if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) return OTHER;
  if (value === null || value.length < 6 || value.readInt16BE(0) < 0) return OTHER;
  return {
    type: type === ControlRecordType.COMMIT ? "commit" : "abort",
    coordinatorEpoch: value.readInt32BE(2),
  };
}

/** The key and value of an uncompressed batch's first record (views), null when malformed. */
function firstRecordKeyValue(batch: Buffer): { key: Buffer | null; value: Buffer | null } | null {
  let at = RECORDS;
  const end = batch.length;
  const varint = (): number | null => {
    let u = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (at >= end) return null;
      const byte = batch[at++];
      u += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    return null;
  };
  const skipVarlong = (): boolean => {
    for (let i = 0; i < 10; i++) {
      if (at >= end) return false;
      if ((batch[at++] & 0x80) === 0) return true;
    }
    return false;
  };
  const bytes = (): Buffer | null | undefined => {
    const n = varint();
    if (n === null || at + Math.max(n, 0) > end) return undefined;
    if (n < 0) return null;
    const out = batch.subarray(at, at + n);
    at += n;
    return out;
  };
  if (varint() === null) return null; // length
  at += 1; // attributes
  if (!skipVarlong()) return null; // timestampDelta
  if (varint() === null) return null; // offsetDelta
  const key = bytes();
  if (key === undefined) return null;
  const value = bytes();
  if (value === undefined) return null;
  return { key, value };
}
