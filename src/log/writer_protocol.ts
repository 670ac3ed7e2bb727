// Messages between the acceptor and a partition writer worker.
//
// Acceptor -> writer: ring entries (src/ring/layout.ts). APPEND carries one RecordBatch;
// CONTROL carries one WriterControl as UTF-8 JSON. Both come through the one ring, so a
// partition's open, appends and close reach the writer in the order they were sent. An APPEND
// (or LARGE) entry's flags say what it is:
//
//   0, 1             a produced batch, acks=0 / acks=1: completed once written
//   0xffff (-1)      a produced batch, acks=all: completed after the group fsync
//   0xfffd           a coordinator's transactional batch (FLAGS_COORDINATOR_TXN): acks=all, no
//                    sequence check (its base sequence is -1), the transaction state checked
//   0xfffe           a replica append (FLAGS_REPLICA): one or more whole RecordBatch v2 back to
//                    back, as the leader stored them (a fetch response's record set for one
//                    partition, a trailing partial batch allowed), appended with their offsets
//                    and epochs unchanged (PartitionWriter.appendReplica); flushed by the normal
//                    policy, completed once written
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
//
// A replica append (FLAGS_REPLICA) is reported as one record per batch it appended, then its
// completion, in that order and in the same report:
//
//   per batch        tag COMPLETION_NO_TAG (-1), errorCode 0, fields 3-8 as above for that
//                    batch (field 4: the log end right after it). Nobody waits for these: they
//                    feed the acceptor's index mirror (PartitionReader.onAppend) exactly as a
//                    produce completion does, across rolls too.
//   completion       the append's tag; errorCode (0, OFFSET_OUT_OF_RANGE when not contiguous
//                    from the log end, CORRUPT_MESSAGE, KAFKA_STORAGE_ERROR,
//                    UNKNOWN_TOPIC_OR_PARTITION); baseOffset = the first appended batch's base
//                    offset or -1; field 4 = the log end after the append; position -1, size =
//                    bytes appended, maxTimestamp -1, segmentBase -1 (nothing to mirror:
//                    PartitionReader.onAppend ignores a segmentBase < 0).

import type { CleanedGroup } from "./cleaner.ts";
import type { EpochEntry } from "./leader_epochs.ts";
import type { PartitionLogConfig, PartitionOpen } from "./partition_writer.ts";
import type { ActiveProducer } from "./producer_state.ts";
import type { ClosedSegment } from "./retention.ts";
import type { SegmentIndexData } from "./segment_index.ts";
import type { CompletedTxn } from "./transactions.ts";
import type { AbortedTxn } from "./txn_index.ts";

export const COMPLETION_FIELDS = 9;
/**
 * A completion's error field for an idempotent producer's retried batch: answered with no error
 * and the base offset its first append got (in the completion), nothing appended.
 */
export const COMPLETION_DUPLICATE = -1000;
/** The tag of a replica append's per-batch records: for the index mirror, not a completion. */
export const COMPLETION_NO_TAG = -1;
/** Ring entry flags of a produced batch with acks=all. */
export const FLAGS_ACKS_ALL = 0xffff;
/** Ring entry flags of a replica append (WriterPool.appendReplica). */
export const FLAGS_REPLICA = 0xfffe;
/**
 * Ring entry flags of a coordinator's transactional batch (TxnOffsetCommit's offsets): acks=all,
 * its producer's epoch and transaction checked, no sequence (a coordinator writes none).
 */
export const FLAGS_COORDINATOR_TXN = 0xfffd;

// topicConfig: the text of the partition's topic-config.properties (topic_config_store.ts), or
// null for none; the writer stores it, so the acceptor never waits on an fsync.
// close.deleteTo: rename the partition dir to this name (Kafka's "<topic>-<p>.<uuid>-delete")
// after closing it; the acceptor removes the renamed dir in the background.
// deleteRecords: advance the log start offset to `offset` (-1: the log end), after every append
// sent before it (the ring's order); the report's result is a DeleteRecordsResult. The acceptor
// makes the new start durable (the log-start-offset checkpoint) before it answers.
// describeProducers: the partition's idempotent producers; the result is a DescribeProducersResult.
// becomeLeader: Kafka's maybeAssignEpochStartOffset(leaderEpoch, logEndOffset): the epoch cache
// gets (leaderEpoch, log end), saved before the answer, and produced batches from then on carry
// leaderEpoch; an epoch older than the cache's latest is FENCED_LEADER_EPOCH. A BecomeLeaderResult.
// truncate: Kafka's truncateTo(offset) (PartitionWriter.truncateTo); truncateFully: Kafka's
// truncateFullyAndStartAt(offset). Both answer a TruncateResult; the acceptor then calls
// PartitionReader.truncated(result) before it handles anything later from the writer.
// epochEndOffset: OffsetForLeaderEpoch from the epoch cache, an EpochEndOffsetResult.
// epochs: the epoch cache's entries, an EpochsResult (tests, tooling).
// appendMarker: a transaction marker appended (PartitionWriter.appendMarker), fsynced before the
// answer (an AppendMarkerResult, whose append the acceptor mirrors like a produce completion).
// abortedTxns: every aborted transaction of the partition's .txnindex files (an AbortedTxnsResult).
// cleanable: what the log cleaner needs to pick and clean the partition (a CleanableResult).
// swapCleaned: the cleaner's groups (cleaner.ts, written as .cleaned files) swapped in for the
// segments they replace (cleaner_swap.ts), each only when all of those are still closed segments
// of the log (retention or a truncation may have removed them meanwhile: that group's files are
// discarded); a SwapCleanedResult naming each new segment with its index, for the reader.
export type WriterControl =
  | { op: "open"; open: PartitionOpen; topicConfig?: string | null }
  | { op: "configure"; slot: number; config: PartitionLogConfig; topicConfig?: string | null }
  | { op: "close"; slot: number; deleteTo: string | null }
  | { op: "deleteRecords"; slot: number; offset: number }
  | { op: "describeProducers"; slot: number }
  | { op: "becomeLeader"; slot: number; leaderEpoch: number }
  | { op: "truncate"; slot: number; offset: number }
  | { op: "truncateFully"; slot: number; offset: number }
  | { op: "epochEndOffset"; slot: number; leaderEpoch: number }
  | { op: "epochs"; slot: number }
  | { op: "cleanable"; slot: number }
  | {
      op: "appendMarker";
      slot: number;
      producerId: number;
      producerEpoch: number;
      commit: boolean;
      coordinatorEpoch: number;
    }
  | { op: "abortedTxns"; slot: number }
  | { op: "swapCleaned"; slot: number; groups: CleanedGroup[]; expected: [base: number, bytes: number][] }
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

/** A becomeLeader control's answer. */
export interface BecomeLeaderResult {
  /** NONE, FENCED_LEADER_EPOCH (older than the cache's latest), KAFKA_STORAGE_ERROR, ... */
  errorCode: number;
  /** The epoch now stamped; with FENCED_LEADER_EPOCH the cache's latest; -1 otherwise. */
  leaderEpoch: number;
  /** The log end, where the epoch starts. */
  logEndOffset: number;
}

/** A truncate or truncateFully control's answer: the log's new tail. */
export interface TruncateResult {
  /** NONE, OFFSET_OUT_OF_RANGE (a negative offset), KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION. */
  errorCode: number;
  /** The new log end (-1 with an error). */
  logEndOffset: number;
  logStartOffset: number;
  /** The segment now appended to, and its bytes: where the cut is. */
  activeSegmentBase: number;
  activeSegmentBytes: number;
  /** Every segment was deleted and the log restarted (truncateFully, or a truncate below the log start). */
  full: boolean;
}

/** An epochEndOffset control's answer (OffsetForLeaderEpoch semantics, leader_epochs.ts). */
export interface EpochEndOffsetResult {
  errorCode: number;
  leaderEpoch: number;
  endOffset: number;
}

/** An epochs control's answer. */
export interface EpochsResult {
  errorCode: number;
  /** Oldest epoch first. */
  entries: EpochEntry[];
  /** The last entry's epoch, -1 when there is none (what a follower asks its leader about). */
  latestEpoch: number;
  logEndOffset: number;
}

/** A cleanable control's answer. */
export interface CleanableResult {
  errorCode: number;
  logStartOffset: number;
  logEndOffset: number;
  activeSegmentBase: number;
  /** The closed segments, oldest first. */
  closed: ClosedSegment[];
  /** Per producer id (decimal): the last offset of its last batch (kept by the cleaner). */
  lastBatchOfProducer: Record<string, number>;
  /** First offset of the earliest open transaction (-1 none): the cleaner stops before it. */
  firstUnstableOffset: number;
  /** Aborted transactions (their data is cleaned away). */
  aborted: AbortedTxn[];
}

/** An appendMarker control's answer. */
export interface AppendMarkerResult {
  /** NONE, INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, KAFKA_STORAGE_ERROR, ... */
  errorCode: number;
  message: string;
  /** The marker's offset; -1 with an error. */
  offset: number;
  /** The transaction it completed, null when the producer had none open here. */
  completed: CompletedTxn | null;
  /** Where it went (for the reader's index mirror) and its size. */
  append?: { baseOffset: number; position: number; segmentBase: number; maxTimestamp: number };
  size?: number;
}

/** An abortedTxns control's answer. */
export interface AbortedTxnsResult {
  errorCode: number;
  aborted: AbortedTxn[];
}

/** A swapCleaned control's answer: the segments swapped in (groups refused are missing). */
export interface SwapCleanedResult {
  errorCode: number;
  swapped: { replaces: number[]; baseOffset: number; bytes: number; index: SegmentIndexData | null }[];
}

// A control's report carries `result` for the ops that answer something (deleteRecords,
// describeProducers, becomeLeader, truncate, truncateFully, epochEndOffset, epochs); `error` is a failure of the op itself (an exception in the writer).
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
