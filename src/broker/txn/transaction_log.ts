// The records of __transaction_state, in Kafka's own formats (TransactionLog.scala, the
// generated TransactionLogKey / TransactionLogValue, transaction-coordinator's JSON specs), so
// Kafka's tools read the topic and a Kafka broker could load it. One record per transactional
// id state change, keyed by the id (the topic is compacted); a null value (tombstone) deletes the
// id (it expired: transactional.id.expiration.ms). Key and value start with an int16 version.
//
//   key (version 0, non-flexible)       transactional_id STRING
//
//   value version 0 (non-flexible; what Kafka 3.x always writes, and Kafka 4.0 while the
//   transaction.version feature is 0: TransactionLog.valueToBytes; written here):
//     producer_id                       INT64
//     producer_epoch                    INT16
//     transaction_timeout_ms            INT32
//     transaction_status                INT8    TransactionState id (transaction_metadata.ts)
//     transaction_partitions            nullable ARRAY (int32 count, -1 null) of
//                                         topic          STRING
//                                         partition_ids  ARRAY of INT32
//     transaction_last_update_timestamp_ms  INT64
//     transaction_start_timestamp_ms        INT64
//   Kafka writes transaction_partitions null in state Empty, an array otherwise (empty once
//   complete), one element per topic.
//
//   value version 1 (flexible, KIP-915 / KIP-890; Kafka 4.0 with transaction.version >= 1):
//     the same fields in the same order, with compact strings and arrays (uvarint length + 1,
//     0 = null), a tagged-field section after each partitions element and after the value, whose
//     tags are 0 previous_producer_id INT64 (default -1), 1 next_producer_id INT64 (default
//     -1), 2 client_transaction_version INT16 (default 0). Read; written only when asked.
//
//   STRING: int16 length + UTF-8; INT64 etc.: big-endian.

import { Reader } from "../../protocol/reader.ts";
import { Writer } from "../../protocol/writer.ts";
import { offsetsPartitionFor } from "../groups/offsets_records.ts";

export const TRANSACTION_STATE_TOPIC = "__transaction_state";
export const TXN_LOG_KEY_VERSION = 0;
/** The value version written by default: 0, as Kafka 3.x (and 4.0 at transaction.version 0). */
export const TXN_LOG_VALUE_VERSION = 0;
export const TXN_LOG_VALUE_FLEXIBLE_VERSION = 1;

export interface TxnLogTopicPartitions {
  topic: string;
  partitionIds: number[];
}

/** One transactional id's state as __transaction_state stores it. */
export interface TxnLogValue {
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** TransactionState id: 0 Empty ... 7 PrepareEpochFence (transaction_metadata.ts TxnState). */
  status: number;
  /** null in state Empty. */
  partitions: TxnLogTopicPartitions[] | null;
  lastUpdateTimestampMs: number;
  startTimestampMs: number;
  /** Version 1 tagged fields; -1, -1 and 0 when absent (and always in version 0). */
  previousProducerId: number;
  nextProducerId: number;
  clientTransactionVersion: number;
}

export interface TxnLogRecord {
  transactionalId: string;
  /** null: a tombstone. */
  value: TxnLogValue | null;
}

const bytesOf = (w: Writer): Buffer => Buffer.from(w.view());

export function encodeTxnKey(transactionalId: string): Buffer {
  return bytesOf(new Writer(16 + transactionalId.length).int16(TXN_LOG_KEY_VERSION).string(transactionalId));
}

/** The value bytes; version 0 unless 1 is asked for. */
export function encodeTxnValue(v: TxnLogValue, version: 0 | 1 = TXN_LOG_VALUE_VERSION): Buffer {
  const w = new Writer(64);
  w.int16(version).int64(v.producerId).int16(v.producerEpoch).int32(v.transactionTimeoutMs).int8(v.status);
  if (version === 0) {
    w.array(v.partitions, (w2, p) => {
      w2.string(p.topic).array(p.partitionIds, (w3, id) => w3.int32(id));
    });
  } else if (v.partitions === null) {
    w.uvarint(0);
  } else {
    w.uvarint(v.partitions.length + 1);
    for (const p of v.partitions) {
      w.compactString(p.topic).uvarint(p.partitionIds.length + 1);
      for (const id of p.partitionIds) w.int32(id);
      w.emptyTaggedFields();
    }
  }
  w.int64(v.lastUpdateTimestampMs).int64(v.startTimestampMs);
  if (version === 1) {
    // Tagged fields in ascending tag order, each only when not its default (Kafka's generated
    // writer): tag, size, data.
    const tags: [number, (x: Writer) => void, number][] = [];
    if (v.previousProducerId !== -1) tags.push([0, (x) => x.int64(v.previousProducerId), 8]);
    if (v.nextProducerId !== -1) tags.push([1, (x) => x.int64(v.nextProducerId), 8]);
    if (v.clientTransactionVersion !== 0) tags.push([2, (x) => x.int16(v.clientTransactionVersion), 2]);
    w.uvarint(tags.length);
    for (const [tag, write, size] of tags) {
      w.uvarint(tag).uvarint(size);
      write(w);
    }
  }
  return bytesOf(w);
}

/** The transactional id of a key; null for a key version this broker does not know (skip it). */
export function decodeTxnKey(key: Uint8Array): string | null {
  const r = new Reader(key);
  if (r.int16() !== TXN_LOG_KEY_VERSION) return null;
  return r.string();
}

/**
 * A value (version 0 or 1). Throws on any other version, as Kafka's readTxnRecordValue does
 * (IllegalStateException), and ProtocolError on truncated bytes.
 */
export function decodeTxnValue(value: Uint8Array): TxnLogValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version !== 0 && version !== 1)
    throw new RangeError(`unknown __transaction_state value version ${version}`);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const transactionTimeoutMs = r.int32();
  const status = r.int8();
  let partitions: TxnLogTopicPartitions[] | null;
  if (version === 0) {
    partitions = r.nullableArray((p) => ({ topic: p.string(), partitionIds: p.array((q) => q.int32()) }));
  } else {
    const n = r.uvarint() - 1;
    if (n > r.remaining) throw new RangeError(`partitions count ${n} exceeds the value`);
    partitions = n < 0 ? null : [];
    for (let i = 0; i < n; i++) {
      const topic = r.compactString();
      const ids: number[] = new Array(r.count(true));
      for (let j = 0; j < ids.length; j++) ids[j] = r.int32();
      r.skipTaggedFields();
      partitions!.push({ topic, partitionIds: ids });
    }
  }
  const v: TxnLogValue = {
    producerId,
    producerEpoch,
    transactionTimeoutMs,
    status,
    partitions,
    lastUpdateTimestampMs: r.int64(),
    startTimestampMs: r.int64(),
    previousProducerId: -1,
    nextProducerId: -1,
    clientTransactionVersion: 0,
  };
  if (version === 1) {
    const count = r.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint();
      const field = r.sub(r.uvarint());
      if (tag === 0) v.previousProducerId = field.int64();
      else if (tag === 1) v.nextProducerId = field.int64();
      else if (tag === 2) v.clientTransactionVersion = field.int16();
      // unknown tags are skipped, as flexible versions allow
    }
  }
  return v;
}

/** One __transaction_state record; null when its key version is unknown (Kafka skips those). */
export function decodeTxnRecord(key: Uint8Array, value: Uint8Array | null): TxnLogRecord | null {
  const transactionalId = decodeTxnKey(key);
  if (transactionalId === null) return null;
  return { transactionalId, value: value === null ? null : decodeTxnValue(value) };
}

/**
 * The __transaction_state partition of a transactional id: Kafka's
 * Utils.abs(transactionalId.hashCode) % transaction.state.log.num.partitions (default 50),
 * the same rule as a group's __consumer_offsets partition.
 */
export function transactionPartitionFor(transactionalId: string, partitions: number): number {
  return offsetsPartitionFor(transactionalId, partitions);
}
