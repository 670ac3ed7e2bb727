// Partition writer worker: the single writer of every partition it owns. A thin loop around
// src/log/partition_writer.ts: take entries from the ring, validate, append straight from
// shared memory, group-commit fsyncs for acks=-1, report completions in bulk, then park in
// Atomics.wait until the acceptor writes again. It never yields to its event loop: everything
// it is told comes through the ring, in order.

import * as fs from "node:fs";
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { HistogramTable, LATENCY_BUCKETS_SECONDS } from "../src/broker/metrics/histogram.ts";
import { writeTopicConfigText } from "../src/broker/topic_config_store.ts";
import { OpenFiles } from "../src/log/open_files.ts";
import { PartitionState, type PartitionStateBuffers } from "../src/log/partition_state.ts";
import { fsyncTimer, PartitionWriter, StorageError } from "../src/log/partition_writer.ts";
import {
  type AbortedTxnsResult,
  type AppendMarkerResult,
  type BecomeLeaderResult,
  type CleanableResult,
  COMPLETION_DUPLICATE,
  COMPLETION_FIELDS,
  COMPLETION_NO_TAG,
  type DeleteRecordsResult,
  type DescribeProducersResult,
  type EpochEndOffsetResult,
  type EpochsResult,
  FLAGS_ACKS_ALL,
  FLAGS_COORDINATOR_TXN,
  FLAGS_REPLICA,
  type SwapCleanedResult,
  type TruncateResult,
  type WriterControl,
  type WriterReport,
} from "../src/log/writer_protocol.ts";
import { ErrorCode } from "../src/protocol/error_codes.ts";
import {
  checkBatchHeader,
  checkProducedBatch,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  readInt64,
} from "../src/protocol/record_batch.ts";
import { Kind } from "../src/ring/layout.ts";
import { RingReader } from "../src/ring/ring_reader.ts";

interface WriterData {
  ring: SharedArrayBuffer;
  state: PartitionStateBuffers;
  /** Batches and controls too big for the ring (Kind.LARGE, LARGE_CONTROL), in ring order. */
  side: MessagePort;
  /** Partitions whose active segment files stay open at once. */
  maxOpenPartitions: number;
  /** record.validation.enable: walk every record, or check batch headers only. */
  validateRecords: boolean;
  /** The writers' fsync histogram (HistogramTable, a row per writer) and this writer's row. */
  fsyncStats: SharedArrayBuffer;
  writers: number;
  index: number;
}

const data = workerData as WriterData;
const fsyncs = new HistogramTable(LATENCY_BUCKETS_SECONDS, data.writers, data.fsyncStats);
fsyncTimer.observe = (seconds) => fsyncs.observe(data.index, seconds);
const ring = new RingReader(data.ring);
const state = new PartitionState(data.state);
const partitions = new Map<number, PartitionWriter>();
/** log.max.open.files: active segments this writer keeps open (three files each). */
const files = new OpenFiles<PartitionWriter>(data.maxOpenPartitions);
const port = parentPort!;

/** Completions waiting to be posted; acks=-1 ones wait for the group fsync. */
let ready = new Float64Array(COMPLETION_FIELDS * 64);
let readyCount = 0;
let durable = new Float64Array(COMPLETION_FIELDS * 64);
let durableCount = 0;
const toSync = new Set<PartitionWriter>();

/** Max entries handled before reporting, so a busy ring still gets replies out. */
const REPORT_EVERY = 512;
/** Longest park: the flush.ms / segment.ms checks run at least this often. */
const PARK_MS = 50;

function push(
  list: "ready" | "durable",
  tag: number,
  slot: number,
  error: number,
  r: { baseOffset: number; position: number; segmentBase: number; maxTimestamp: number } | null,
  size: number,
  leo: number,
): void {
  let arr = list === "ready" ? ready : durable;
  const count = list === "ready" ? readyCount : durableCount;
  if ((count + 1) * COMPLETION_FIELDS > arr.length) {
    const bigger = new Float64Array(arr.length * 2);
    bigger.set(arr);
    arr = bigger;
    if (list === "ready") ready = arr;
    else durable = arr;
  }
  const at = count * COMPLETION_FIELDS;
  arr[at] = tag;
  arr[at + 1] = slot;
  arr[at + 2] = error;
  arr[at + 3] = r ? r.baseOffset : -1;
  arr[at + 4] = leo;
  arr[at + 5] = r ? r.position : -1;
  arr[at + 6] = size;
  arr[at + 7] = r ? r.maxTimestamp : -1;
  arr[at + 8] = r ? r.segmentBase : -1;
  if (list === "ready") readyCount++;
  else durableCount++;
}

function post(report: WriterReport, transfer?: ArrayBuffer[]): void {
  port.postMessage(report, transfer);
}

/** Group commit: one fsync per touched partition covers every acks=-1 batch since the last. */
function report(): void {
  if (durableCount > 0) {
    for (const p of toSync) {
      try {
        p.flush();
      } catch {
        // partition went offline: its acks=-1 batches become storage errors below
      }
    }
    for (let i = 0; i < durableCount; i++) {
      const at = i * COMPLETION_FIELDS;
      const p = partitions.get(durable[at + 1]);
      if (durable[at + 2] === 0 && (p === undefined || p.offline))
        durable[at + 2] = ErrorCode.KAFKA_STORAGE_ERROR;
    }
    toSync.clear();
    // durable after ready: a later acks=1 reply never overtakes an earlier acks=-1 one on its own
    // partition, because the acceptor orders replies per connection anyway.
    const out = durable.slice(0, durableCount * COMPLETION_FIELDS);
    const outReady = ready.slice(0, readyCount * COMPLETION_FIELDS);
    if (readyCount > 0) post({ type: "appended", records: outReady }, [outReady.buffer]);
    post({ type: "appended", records: out }, [out.buffer]);
    readyCount = 0;
    durableCount = 0;
    return;
  }
  if (readyCount > 0) {
    const out = ready.slice(0, readyCount * COMPLETION_FIELDS);
    post({ type: "appended", records: out }, [out.buffer]);
    readyCount = 0;
  }
}

/** The completion of a duplicate: its first append's base offset, nothing appended now. */
const duplicateOf = { baseOffset: -1, position: -1, segmentBase: -1, maxTimestamp: -1 };

function append(
  tag: number,
  slot: number,
  acksAll: boolean,
  batch: Buffer,
  now: number,
  coordinator = false,
): void {
  const p = partitions.get(slot);
  const list = acksAll ? "durable" : "ready";
  if (p === undefined) {
    push(list, tag, slot, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, batch.length, -1);
    return;
  }
  if (p.offline) {
    push(list, tag, slot, ErrorCode.KAFKA_STORAGE_ERROR, null, batch.length, p.logEndOffset);
    return;
  }
  // A compacted topic needs every record's key (the cleaner maps them): walked either way.
  const check =
    data.validateRecords || p.config.compact
      ? checkProducedBatch(batch, p.config.maxMessageBytes, { compacted: p.config.compact })
      : checkBatchHeader(batch, p.config.maxMessageBytes);
  if (check.error !== ErrorCode.NONE) {
    push(list, tag, slot, check.error, null, batch.length, p.logEndOffset);
    return;
  }
  // Idempotent producers (producer id >= 0): a retry gets its first answer, a gap is refused.
  const idempotent = readInt64(batch, PRODUCER_ID) >= 0;
  if (idempotent) {
    // Transactions: a transactional batch opens its producer's transaction here; a plain one
    // from a producer with a transaction open is INVALID_TXN_STATE (transactions.ts).
    const txn = p.checkTxn(batch);
    if (txn.error !== ErrorCode.NONE) {
      push(list, tag, slot, txn.error, null, batch.length, p.logEndOffset);
      return;
    }
    const seq = coordinator
      ? (p.producers.checkMarker(readInt64(batch, PRODUCER_ID), batch.readInt16BE(PRODUCER_EPOCH)) ?? {
          kind: "append" as const,
        })
      : p.producers.check(batch);
    if (seq.kind === "refuse") {
      push(list, tag, slot, seq.error, null, batch.length, p.logEndOffset);
      return;
    }
    if (seq.kind === "duplicate") {
      duplicateOf.baseOffset = seq.baseOffset;
      push(list, tag, slot, COMPLETION_DUPLICATE, duplicateOf, batch.length, p.logEndOffset);
      return;
    }
  }
  try {
    const r = p.append(batch, now);
    if (idempotent) {
      p.producers.record(batch, r.baseOffset);
      p.txnAppended(batch, r.baseOffset, r.segmentBase);
    }
    push(list, tag, slot, 0, r, batch.length, p.logEndOffset);
    if (acksAll) toSync.add(p);
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    process.stderr.write(`[milena writer] ${e.message}\n`);
    push(list, tag, slot, ErrorCode.KAFKA_STORAGE_ERROR, null, batch.length, p.logEndOffset);
  }
}

/** The completion of a replica append: no batch to mirror (see writer_protocol.ts). */
function replicaDone(baseOffset: number) {
  return { baseOffset, position: -1, segmentBase: -1, maxTimestamp: -1 };
}

/**
 * A replica append (FLAGS_REPLICA): a record per appended batch for the acceptor's index
 * mirror (tag COMPLETION_NO_TAG), then the one completion of `tag`. Followers flush by the
 * normal policy, so these go with the acks=1 completions.
 */
function appendReplica(tag: number, slot: number, records: Buffer, now: number): void {
  const p = partitions.get(slot);
  if (p === undefined) {
    push("ready", tag, slot, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, replicaDone(-1), 0, -1);
    return;
  }
  const r = p.appendReplica(records, now);
  for (const a of r.appended) push("ready", COMPLETION_NO_TAG, slot, 0, a, a.size, a.logEndOffset);
  if (r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) process.stderr.write(`[milena writer] ${r.message}\n`);
  push("ready", tag, slot, r.errorCode, replicaDone(r.baseOffset), r.bytes, r.logEndOffset);
}

/** One APPEND or LARGE entry's payload, by its flags. */
function appendEntry(tag: number, slot: number, flags: number, payload: Buffer): void {
  if (flags === FLAGS_REPLICA) appendReplica(tag, slot, payload, Date.now());
  else if (flags === FLAGS_COORDINATOR_TXN) append(tag, slot, true, payload, Date.now(), true);
  else append(tag, slot, flags === FLAGS_ACKS_ALL, payload, Date.now());
}

/** A control on one partition: its answer, or `missing` when the slot is not open here. */
function withPartition<T>(slot: number, missing: T, offline: T, f: (p: PartitionWriter) => T): T {
  const p = partitions.get(slot);
  if (p === undefined) return missing;
  try {
    return f(p);
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    process.stderr.write(`[milena writer] ${e.message}\n`);
    return offline;
  }
}

function truncateError(errorCode: number): TruncateResult {
  return {
    errorCode,
    logEndOffset: -1,
    logStartOffset: -1,
    activeSegmentBase: -1,
    activeSegmentBytes: -1,
    full: false,
  };
}

function truncate(slot: number, offset: number, fully: boolean): TruncateResult {
  // Completions of appends before the cut go out first (acks=all ones fsynced): they were in the
  // log when they were appended, and their records precede the truncation's answer.
  report();
  return withPartition(
    slot,
    truncateError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    truncateError(ErrorCode.KAFKA_STORAGE_ERROR),
    (p) => (fully ? p.truncateFullyAndStartAt(offset) : p.truncateTo(offset)),
  );
}

function becomeLeader(slot: number, leaderEpoch: number): BecomeLeaderResult {
  return withPartition<BecomeLeaderResult>(
    slot,
    { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, logEndOffset: -1 },
    { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderEpoch: -1, logEndOffset: -1 },
    (p) => p.becomeLeader(leaderEpoch),
  );
}

function epochEndOffset(slot: number, leaderEpoch: number): EpochEndOffsetResult {
  return withPartition<EpochEndOffsetResult>(
    slot,
    { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1 },
    { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderEpoch: -1, endOffset: -1 },
    (p) => p.epochEndOffset(leaderEpoch),
  );
}

function epochs(slot: number): EpochsResult {
  return withPartition<EpochsResult>(
    slot,
    { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, entries: [], latestEpoch: -1, logEndOffset: -1 },
    { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, entries: [], latestEpoch: -1, logEndOffset: -1 },
    (p) => ({
      errorCode: ErrorCode.NONE,
      entries: p.epochs.entries(),
      latestEpoch: p.epochs.latestEpoch,
      logEndOffset: p.logEndOffset,
    }),
  );
}

/** deleteRecords: the partition's answer (a storage error answers, it does not fail the op). */
function deleteRecords(slot: number, offset: number): DeleteRecordsResult {
  const p = partitions.get(slot);
  if (p === undefined)
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1, segmentsDeleted: 0 };
  try {
    return p.deleteRecords(offset);
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    process.stderr.write(`[milena writer] ${e.message}\n`);
    return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1, segmentsDeleted: 0 };
  }
}

/** describeProducers: the idempotent producers this writer remembers for the partition. */
function describeProducers(slot: number): DescribeProducersResult {
  const p = partitions.get(slot);
  if (p === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, producers: [] };
  if (p.offline) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, producers: [] };
  const producers = p.producers
    .active()
    .map((a) => ({ ...a, currentTxnStartOffset: p.txn.txns.openTxnFirstOffset(a.producerId) ?? -1 }));
  return { errorCode: ErrorCode.NONE, producers };
}

function control(tag: number, msg: WriterControl): boolean {
  let error: string | null = null;
  let result: unknown;
  try {
    switch (msg.op) {
      case "open": {
        partitions.get(msg.open.slot)?.close();
        partitions.set(msg.open.slot, new PartitionWriter(msg.open, state, files));
        if (msg.topicConfig !== undefined) writeTopicConfigText(msg.open.dir, msg.topicConfig);
        break;
      }
      case "configure": {
        const p = partitions.get(msg.slot);
        if (p) {
          p.config = msg.config;
          if (msg.topicConfig !== undefined) writeTopicConfigText(p.dir, msg.topicConfig);
        }
        break;
      }
      case "close": {
        const p = partitions.get(msg.slot);
        partitions.delete(msg.slot);
        if (p) {
          toSync.delete(p);
          p.close();
          // Deleting is a rename (atomic); the renamed dir is removed in the background.
          if (msg.deleteTo !== null) fs.renameSync(p.dir, msg.deleteTo);
        }
        break;
      }
      case "deleteRecords":
        result = deleteRecords(msg.slot, msg.offset);
        break;
      case "describeProducers":
        result = describeProducers(msg.slot);
        break;
      case "becomeLeader":
        result = becomeLeader(msg.slot, msg.leaderEpoch);
        break;
      case "truncate":
        result = truncate(msg.slot, msg.offset, false);
        break;
      case "truncateFully":
        result = truncate(msg.slot, msg.offset, true);
        break;
      case "epochEndOffset":
        result = epochEndOffset(msg.slot, msg.leaderEpoch);
        break;
      case "epochs":
        result = epochs(msg.slot);
        break;
      case "appendMarker": {
        const r = withPartition<AppendMarkerResult>(
          msg.slot,
          { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: "", offset: -1, completed: null },
          { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: "", offset: -1, completed: null },
          (p) => p.appendMarker(msg, Date.now()),
        );
        // For the acceptor's index mirror, as a produced batch's completion (before the answer).
        if (r.append !== undefined) {
          const p = partitions.get(msg.slot)!;
          push("ready", COMPLETION_NO_TAG, msg.slot, 0, r.append, r.size ?? 0, p.logEndOffset);
        }
        result = r;
        break;
      }
      case "abortedTxns":
        result = withPartition<AbortedTxnsResult>(
          msg.slot,
          { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, aborted: [] },
          { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, aborted: [] },
          (p) => ({ errorCode: ErrorCode.NONE, aborted: p.abortedTxns() }),
        );
        break;
      case "cleanable":
        result = withPartition<CleanableResult | { errorCode: number }>(
          msg.slot,
          { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
          { errorCode: ErrorCode.KAFKA_STORAGE_ERROR },
          (p) => p.cleanable(),
        );
        break;
      case "swapCleaned":
        result = withPartition<SwapCleanedResult>(
          msg.slot,
          { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, swapped: [] },
          { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, swapped: [] },
          (p) => p.swapCleaned(msg.groups, new Map(msg.expected)),
        );
        break;
      case "flush":
        for (const p of partitions.values()) p.flush();
        break;
      case "shutdown":
        report();
        for (const p of partitions.values()) p.close();
        partitions.clear();
        post({ type: "control", tag, error: null });
        return false;
    }
  } catch (e) {
    error = (e as Error).message;
  }
  report();
  post(result === undefined ? { type: "control", tag, error } : { type: "control", tag, error, result });
  return true;
}

function periodic(now: number): void {
  for (const p of partitions.values()) {
    if (p.offline) continue;
    try {
      if (p.rollDue(now)) p.roll();
      if (p.flushDue(now)) p.flush();
      p.applyRetention(now);
    } catch (e) {
      process.stderr.write(`[milena writer] ${(e as Error).message}\n`);
    }
  }
}

function run(): void {
  let handled = 0;
  let lastPeriodic = Date.now();
  for (;;) {
    const e = ring.peek();
    if (e === null) {
      report();
      handled = 0;
      const now = Date.now();
      if (now - lastPeriodic >= PARK_MS) {
        periodic(now);
        lastPeriodic = now;
      }
      ring.wait(PARK_MS);
      continue;
    }
    if (e.kind === Kind.APPEND) {
      appendEntry(e.tag, e.slot, e.flags, e.payload);
      ring.release(e.size);
    } else if (e.kind === Kind.CONTROL) {
      const msg = JSON.parse(e.payload.toString("utf8")) as WriterControl;
      ring.release(e.size);
      if (!control(e.tag, msg)) return;
    } else if (e.kind === Kind.LARGE || e.kind === Kind.LARGE_CONTROL) {
      const { kind, tag, slot, flags } = e;
      ring.release(e.size);
      const m = receiveMessageOnPort(data.side);
      const body = m === undefined ? null : (m.message as Uint8Array);
      const payload = body === null ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (kind === Kind.LARGE) {
        if (payload === null)
          push(
            flags === FLAGS_ACKS_ALL ? "durable" : "ready",
            tag,
            slot,
            ErrorCode.UNKNOWN_SERVER_ERROR,
            flags === FLAGS_REPLICA ? replicaDone(-1) : null,
            0,
            -1,
          );
        else appendEntry(tag, slot, flags, payload);
      } else if (payload === null) {
        post({ type: "control", tag, error: "control message missing from the side port" });
      } else if (!control(tag, JSON.parse(payload.toString("utf8")) as WriterControl)) return;
    } else {
      ring.release(e.size);
    }
    if (++handled >= REPORT_EVERY) {
      report();
      handled = 0;
      const now = Date.now();
      if (now - lastPeriodic >= PARK_MS) {
        periodic(now);
        lastPeriodic = now;
      }
    }
  }
}

try {
  run();
} catch (e) {
  post({ type: "fatal", error: (e as Error).stack ?? String(e) });
  throw e;
}
