// Messages between the acceptor and a partition writer worker.
//
// Acceptor -> writer: ring entries (src/ring/layout.ts). APPEND carries one RecordBatch;
// CONTROL carries one WriterControl as UTF-8 JSON. Both come through the one ring, so a
// partition's open, appends and close reach the writer in the order they were sent.
//
// Writer -> acceptor: postMessage of a WriterReport. Appends are reported in a Float64Array,
// COMPLETION_FIELDS numbers per batch, transferred (no copy):
//
//   0 tag            the acceptor's id of the produce batch
//   1 slot           partition slot
//   2 errorCode      Kafka error code, 0 on success
//   3 baseOffset     offset assigned to the batch's first record
//   4 logEndOffset   after the append
//   5 position       byte position of the batch in its segment
//   6 size           batch bytes
//   7 maxTimestamp   the batch's maxTimestamp
//   8 segmentBase    base offset of the segment it went to

import type { PartitionLogConfig, PartitionOpen } from "./partition_writer.ts";
import type { ActiveProducer } from "./producer_state.ts";

export const COMPLETION_FIELDS = 9;
/**
 * A completion's error field for an idempotent producer's retried batch: answered with no error
 * and the base offset its first append got (in the completion), nothing appended.
 */
export const COMPLETION_DUPLICATE = -1000;

// topicConfig: the text of the partition's topic-config.properties (topic_config_store.ts), or
// null for none; the writer stores it, so the acceptor never waits on an fsync.
// close.deleteTo: rename the partition dir to this name (Kafka's "<topic>-<p>.<uuid>-delete")
// after closing it; the acceptor removes the renamed dir in the background.
// deleteRecords: advance the log start offset to `offset` (-1: the log end), after every append
// sent before it (the ring's order); the report's result is a DeleteRecordsResult. The acceptor
// makes the new start durable (the log-start-offset checkpoint) before it answers.
// describeProducers: the partition's idempotent producers; the result is a DescribeProducersResult.
export type WriterControl =
  | { op: "open"; open: PartitionOpen; topicConfig?: string | null }
  | { op: "configure"; slot: number; config: PartitionLogConfig; topicConfig?: string | null }
  | { op: "close"; slot: number; deleteTo: string | null }
  | { op: "deleteRecords"; slot: number; offset: number }
  | { op: "describeProducers"; slot: number }
  | { op: "flush" }
  | { op: "shutdown" };

/** A deleteRecords control's answer: a Kafka error code, and the log start offset after it. */
export interface DeleteRecordsResult {
  errorCode: number;
  /** The log start offset afterwards; -1 with an error. */
  lowWatermark: number;
  /** Segments removed because they lay wholly below the new log start. */
  segmentsDeleted: number;
}

/** A describeProducers control's answer. */
export interface DescribeProducersResult {
  errorCode: number;
  producers: ActiveProducer[];
}

// A control's report carries `result` for the ops that answer something (deleteRecords,
// describeProducers); `error` is a failure of the op itself (an exception in the writer).
export type WriterReport =
  | { type: "appended"; records: Float64Array }
  | { type: "control"; tag: number; error: string | null; result?: unknown }
  | { type: "fatal"; error: string };

/** Control messages travel as JSON; typed arrays (index entries) become plain arrays. */
export function encodeControl(msg: WriterControl): Buffer {
  return Buffer.from(
    JSON.stringify(msg, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)),
  );
}
