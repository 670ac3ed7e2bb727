// Fetch (key 1), versions 4-11 (FetchRequest.json / FetchResponse.json).
//
// Fetch Request (Version: 4) => replica_id max_wait_ms min_bytes max_bytes isolation_level [topics]
//   replica_id => INT32
//   max_wait_ms => INT32
//   min_bytes => INT32
//   max_bytes => INT32                   (v3+)
//   isolation_level => INT8              (v4+)
//   topics => topic [partitions]
//     topic => STRING
//     partitions => partition fetch_offset partition_max_bytes
//       partition => INT32
//       fetch_offset => INT64
//       partition_max_bytes => INT32
// Fetch Request (Version: 5..6) => ... same, with
//     partitions => partition fetch_offset log_start_offset partition_max_bytes
//       log_start_offset => INT64
// Fetch Request (Version: 7..8) => replica_id max_wait_ms min_bytes max_bytes isolation_level
//                                  session_id session_epoch [topics] [forgotten_topics_data]
//   session_id => INT32
//   session_epoch => INT32
//   forgotten_topics_data => topic [partitions]
//     topic => STRING
//     partitions => INT32
// Fetch Request (Version: 9..10) => ... same as 7, with
//     partitions => partition current_leader_epoch fetch_offset log_start_offset partition_max_bytes
//       current_leader_epoch => INT32
// Fetch Request (Version: 11) => ... same as 9, then rack_id
//   rack_id => STRING
//
// Fetch Response (Version: 4) => throttle_time_ms [responses]
//   throttle_time_ms => INT32
//   responses => topic [partitions]
//     topic => STRING
//     partitions => partition_index error_code high_watermark last_stable_offset
//                   [aborted_transactions] records
//       partition_index => INT32
//       error_code => INT16
//       high_watermark => INT64
//       last_stable_offset => INT64
//       aborted_transactions => producer_id first_offset   (NULLABLE array)
//         producer_id => INT64
//         first_offset => INT64
//       records => RECORDS              (int32 size + batches; never null here: empty = size 0)
// Fetch Response (Version: 5..6) => ... same, with
//     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
//                   [aborted_transactions] records
//       log_start_offset => INT64
// Fetch Response (Version: 7..10) => throttle_time_ms error_code session_id [responses]
//   error_code => INT16
//   session_id => INT32
// Fetch Response (Version: 11) => ... same as 7, with
//     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
//                   [aborted_transactions] preferred_read_replica records
//       preferred_read_replica => INT32  (must be -1, see kafka-protocol.md §4)
//
// Hot path: the records of a response are the chunks read from segment files, spliced into the
// Writer by reference after one int32 length (Writer.externalChunks); nothing is copied and no
// record is looked at. Response encoding uses plain loops, no closures.

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface FetchPartition {
  partition: number;
  /** v9+; -1 below. */
  currentLeaderEpoch: number;
  fetchOffset: number;
  /** v5+ (followers only); -1 below. */
  logStartOffset: number;
  partitionMaxBytes: number;
}

export interface FetchTopic {
  topic: string;
  partitions: FetchPartition[];
}

export interface FetchForgottenTopic {
  topic: string;
  partitions: number[];
}

export interface FetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  /** v3+; 0x7fffffff below. */
  maxBytes: number;
  /** v4+; 0 (read_uncommitted) below. */
  isolationLevel: number;
  /** v7+; 0 below. */
  sessionId: number;
  /** v7+; -1 below. */
  sessionEpoch: number;
  topics: FetchTopic[];
  /** v7+; [] below. */
  forgottenTopicsData: FetchForgottenTopic[];
  /** v11+; "" below. */
  rackId: string;
}

export interface FetchAbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  /** v4+; -1 below. */
  lastStableOffset: number;
  /** v5+; -1 below. */
  logStartOffset: number;
  /** v4+; null = none. */
  abortedTransactions: FetchAbortedTransaction[] | null;
  /** v11+; -1 below (and always -1 from Milena). */
  preferredReadReplica: number;
  /**
   * Encoding: the chunks of the record set, sent back to back under one int32 size (none = size
   * 0). Decoding: [] or a single Buffer, a view into the response frame.
   */
  records: readonly Uint8Array[];
}

export interface FetchTopicResponse {
  topic: string;
  partitions: FetchPartitionResponse[];
}

export interface FetchResponse {
  throttleTimeMs: number;
  /** v7+; 0 below. */
  errorCode: number;
  /** v7+; 0 below. */
  sessionId: number;
  responses: FetchTopicResponse[];
}

const NO_RECORDS: readonly Uint8Array[] = Object.freeze([]);

function readPartition(r: Reader, version: number): FetchPartition {
  const partition = r.int32();
  const currentLeaderEpoch = version >= 9 ? r.int32() : -1; // v9 added current_leader_epoch
  const fetchOffset = r.int64();
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  const partitionMaxBytes = r.int32();
  return { partition, currentLeaderEpoch, fetchOffset, logStartOffset, partitionMaxBytes };
}

const readInt32 = (r: Reader): number => r.int32();
const writeInt32 = (w: Writer, v: number): void => {
  w.int32(v);
};

function readForgottenTopic(r: Reader): FetchForgottenTopic {
  return { topic: r.string(), partitions: r.array(readInt32) };
}

function writeForgottenTopic(w: Writer, t: FetchForgottenTopic): void {
  w.string(t.topic).array(t.partitions, writeInt32);
}

function readAbortedTransaction(r: Reader): FetchAbortedTransaction {
  return { producerId: r.int64(), firstOffset: r.int64() };
}

function readRecords(r: Reader): readonly Uint8Array[] {
  const b = r.nullableBytes();
  return b === null || b.length === 0 ? NO_RECORDS : [b];
}

function readPartitionResponse(r: Reader, version: number): FetchPartitionResponse {
  const partitionIndex = r.int32();
  const errorCode = r.int16();
  const highWatermark = r.int64();
  const lastStableOffset = version >= 4 ? r.int64() : -1; // v4 added last_stable_offset
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  const abortedTransactions = version >= 4 ? r.nullableArray(readAbortedTransaction) : null; // v4 added aborted_transactions
  const preferredReadReplica = version >= 11 ? r.int32() : -1; // v11 added preferred_read_replica
  const records = readRecords(r);
  return {
    partitionIndex,
    errorCode,
    highWatermark,
    lastStableOffset,
    logStartOffset,
    abortedTransactions,
    preferredReadReplica,
    records,
  };
}

function writePartitionResponse(w: Writer, version: number, p: FetchPartitionResponse): void {
  w.int32(p.partitionIndex).int16(p.errorCode).int64(p.highWatermark);
  if (version >= 4) w.int64(p.lastStableOffset); // v4 added last_stable_offset
  if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
  if (version >= 4) {
    // v4 added aborted_transactions
    const aborted = p.abortedTransactions;
    if (aborted === null) w.int32(-1);
    else {
      w.int32(aborted.length);
      for (let i = 0; i < aborted.length; i++) w.int64(aborted[i].producerId).int64(aborted[i].firstOffset);
    }
  }
  if (version >= 11) w.int32(p.preferredReadReplica); // v11 added preferred_read_replica
  w.externalChunks(p.records);
}

/**
 * A consumer's Fetch of one partition (replica -1, no session, read_uncommitted), as tests,
 * the bench and tools send it; `maxBytes` caps the response and the partition alike.
 */
export function consumerFetch(
  topic: string,
  partition: number,
  fetchOffset: number,
  opts: { maxWaitMs?: number; maxBytes?: number; partitionMaxBytes?: number } = {},
): FetchRequest {
  const maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
  return {
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs ?? 500,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset,
            logStartOffset: -1,
            partitionMaxBytes: opts.partitionMaxBytes ?? maxBytes,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: "",
  };
}

export const fetchCodec: ApiCodec<FetchRequest, FetchResponse> = {
  key: ApiKey.Fetch,
  name: "Fetch",
  minVersion: 4,
  maxVersion: 11,

  decodeRequest(r, version) {
    const replicaId = r.int32();
    const maxWaitMs = r.int32();
    const minBytes = r.int32();
    const maxBytes = version >= 3 ? r.int32() : 0x7fffffff; // v3 added max_bytes
    const isolationLevel = version >= 4 ? r.int8() : 0; // v4 added isolation_level
    const sessionId = version >= 7 ? r.int32() : 0; // v7 added session_id
    const sessionEpoch = version >= 7 ? r.int32() : -1; // v7 added session_epoch
    const partition = (r: Reader): FetchPartition => readPartition(r, version);
    const topics = r.array((r): FetchTopic => ({ topic: r.string(), partitions: r.array(partition) }));
    const forgottenTopicsData = version >= 7 ? r.array(readForgottenTopic) : []; // v7 added forgotten_topics_data
    const rackId = version >= 11 ? r.string() : ""; // v11 added rack_id
    return {
      replicaId,
      maxWaitMs,
      minBytes,
      maxBytes,
      isolationLevel,
      sessionId,
      sessionEpoch,
      topics,
      forgottenTopicsData,
      rackId,
    };
  },

  encodeRequest(w, version, req) {
    w.int32(req.replicaId).int32(req.maxWaitMs).int32(req.minBytes);
    if (version >= 3) w.int32(req.maxBytes); // v3 added max_bytes
    if (version >= 4) w.int8(req.isolationLevel); // v4 added isolation_level
    if (version >= 7) w.int32(req.sessionId).int32(req.sessionEpoch); // v7 added session_id, session_epoch
    const topics = req.topics;
    w.int32(topics.length);
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i];
      w.string(t.topic).int32(t.partitions.length);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partition);
        if (version >= 9) w.int32(p.currentLeaderEpoch); // v9 added current_leader_epoch
        w.int64(p.fetchOffset);
        if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
        w.int32(p.partitionMaxBytes);
      }
    }
    if (version >= 7) w.array(req.forgottenTopicsData, writeForgottenTopic); // v7 added forgotten_topics_data
    if (version >= 11) w.string(req.rackId); // v11 added rack_id
  },

  decodeResponse(r, version) {
    const throttleTimeMs = r.int32();
    const errorCode = version >= 7 ? r.int16() : 0; // v7 added error_code
    const sessionId = version >= 7 ? r.int32() : 0; // v7 added session_id
    const partition = (r: Reader): FetchPartitionResponse => readPartitionResponse(r, version);
    const responses = r.array(
      (r): FetchTopicResponse => ({ topic: r.string(), partitions: r.array(partition) }),
    );
    return { throttleTimeMs, errorCode, sessionId, responses };
  },

  encodeResponse(w, version, res) {
    w.int32(res.throttleTimeMs);
    if (version >= 7) w.int16(res.errorCode).int32(res.sessionId); // v7 added error_code, session_id
    const responses = res.responses;
    w.int32(responses.length);
    for (let i = 0; i < responses.length; i++) {
      const t = responses[i];
      w.string(t.topic).int32(t.partitions.length);
      for (let j = 0; j < t.partitions.length; j++) writePartitionResponse(w, version, t.partitions[j]);
    }
  },
};

/** The record set of a decoded partition as one Buffer (a view when it is a single chunk). */
export function fetchRecordsBuffer(records: readonly Uint8Array[]): Buffer {
  if (records.length === 1) {
    const c = records[0];
    return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
  }
  return Buffer.concat(records);
}
