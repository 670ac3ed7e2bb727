// Fetch (key 1), versions 0-17 (FetchRequest.json / FetchResponse.json).
//
// Fetch Request (Version: 0..2) => replica_id max_wait_ms min_bytes [topics]
//   replica_id => INT32                  (-1: a consumer)
//   max_wait_ms => INT32
//   min_bytes => INT32
//   topics => topic [partitions]
//     topic => STRING
//     partitions => partition fetch_offset partition_max_bytes
//       partition => INT32
//       fetch_offset => INT64
//       partition_max_bytes => INT32
// v3   + max_bytes INT32 after min_bytes
// v4   + isolation_level INT8 after max_bytes
// v5   + log_start_offset INT64 per partition, after fetch_offset
// v7   + session_id INT32, session_epoch INT32 after isolation_level; after topics
//        forgotten_topics_data => topic [partitions INT32]
// v9   + current_leader_epoch INT32 per partition, before fetch_offset
// v11  + rack_id STRING at the end
// v12  flexible (compact strings and arrays, a tagged-field section closing every struct);
//        + last_fetched_epoch INT32 per partition, after fetch_offset; tagged: cluster_id (0)
// v13  topic_id UUID instead of the topic name (topics and forgotten_topics_data)
// v15  replica_id moves into the tagged replica_state (1) => replica_id INT32 replica_epoch INT64
// v17  tagged replica_directory_id (0) per partition
//
// Fetch Response (Version: 0) => [responses]
//   responses => topic [partitions]
//     topic => STRING
//     partitions => partition_index error_code high_watermark records
//       partition_index => INT32
//       error_code => INT16
//       high_watermark => INT64
//       records => RECORDS              (int32 size + batches; never null here: empty = size 0)
// v1   + throttle_time_ms INT32 first
// v4   + last_stable_offset INT64, then aborted_transactions (NULLABLE array of producer_id
//        INT64 first_offset INT64), after high_watermark
// v5   + log_start_offset INT64 after last_stable_offset
// v7   + error_code INT16, session_id INT32 after throttle_time_ms
// v11  + preferred_read_replica INT32 before records (always -1, see kafka-protocol.md §4)
// v12  flexible; tagged per partition: diverging_epoch (0), current_leader (1), snapshot_id (2)
//        (followers' and KRaft's; Milena has none to send)
// v13  topic_id UUID instead of the topic name
// v16  tagged node_endpoints (0) at the top (leader hints; none from a single broker)
//
// v0-3 answer message format v0/v1 (message_set.ts converts the stored batches, off the
// zero-copy path); v4+ the stored RecordBatch v2 bytes as they are.
//
// Hot path: the records of a response are the chunks read from segment files, spliced into the
// Writer by reference after one int32 length (Writer.externalChunks); nothing is copied and no
// record is looked at. Response encoding uses plain loops, no closures.

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import { ProtocolError, type Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface FetchPartition {
  partition: number;
  /** v9+; -1 below. */
  currentLeaderEpoch: number;
  fetchOffset: number;
  /** v12+ (a follower's); -1 below and when left out. */
  lastFetchedEpoch?: number;
  /** v5+ (followers only); -1 below. */
  logStartOffset: number;
  partitionMaxBytes: number;
}

/** The all-zero topic id: what v0-12 carry (Kafka's Uuid.ZERO_UUID). */
export const ZERO_TOPIC_ID: Uint8Array = new Uint8Array(16);

export interface FetchTopic {
  /** v0-12; "" from v13, which names topics by id. */
  topic: string;
  /** v13+; ZERO_TOPIC_ID below and when left out. */
  topicId?: Uint8Array;
  partitions: FetchPartition[];
}

export interface FetchForgottenTopic {
  topic: string;
  topicId?: Uint8Array;
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
  /** v0-12. */
  topic: string;
  /** v13+; ZERO_TOPIC_ID when left out. */
  topicId?: Uint8Array;
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

/** Flexible from v12; topics by id from v13; replica_id tagged from v15. */
const FIRST_FLEXIBLE = 12;
const FIRST_TOPIC_ID = 13;
const FIRST_REPLICA_STATE = 15;

function readName(r: Reader, flexible: boolean): string {
  return flexible ? r.compactString() : r.string();
}

function writeName(w: Writer, s: string, flexible: boolean): void {
  if (flexible) w.compactString(s);
  else w.string(s);
}

/**
 * A flexible struct's tagged fields, `onTag` reading the ones it knows from a Reader bounded to
 * the field (elsewhere Reader.skipTaggedFields skips them all: the broker sends none back).
 */
function readTags(r: Reader, onTag: (tag: number, field: Reader) => void): void {
  const count = r.uvarint();
  if (count > r.remaining) throw new ProtocolError(`${count} tagged fields exceed the frame`);
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    onTag(tag, r.sub(r.uvarint()));
  }
}

function readPartition(r: Reader, version: number, flexible: boolean): FetchPartition {
  const partition = r.int32();
  const currentLeaderEpoch = version >= 9 ? r.int32() : -1; // v9 added current_leader_epoch
  const fetchOffset = r.int64();
  const lastFetchedEpoch = version >= 12 ? r.int32() : -1; // v12 added last_fetched_epoch
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  const partitionMaxBytes = r.int32();
  if (flexible) r.skipTaggedFields(); // v17's replica_directory_id: a follower's
  return { partition, currentLeaderEpoch, fetchOffset, lastFetchedEpoch, logStartOffset, partitionMaxBytes };
}

function readTopic(r: Reader, version: number, flexible: boolean): FetchTopic {
  const byId = version >= FIRST_TOPIC_ID;
  const topic = byId ? "" : readName(r, flexible);
  const topicId = byId ? r.uuid() : ZERO_TOPIC_ID;
  const n = r.count(flexible);
  const partitions: FetchPartition[] = new Array(n);
  for (let i = 0; i < n; i++) partitions[i] = readPartition(r, version, flexible);
  if (flexible) r.skipTaggedFields();
  return { topic, topicId, partitions };
}

function readForgottenTopic(r: Reader, version: number, flexible: boolean): FetchForgottenTopic {
  const byId = version >= FIRST_TOPIC_ID;
  const topic = byId ? "" : readName(r, flexible);
  const topicId = byId ? r.uuid() : ZERO_TOPIC_ID;
  const n = r.count(flexible);
  const partitions: number[] = new Array(n);
  for (let i = 0; i < n; i++) partitions[i] = r.int32();
  if (flexible) r.skipTaggedFields();
  return { topic, topicId, partitions };
}

function readAbortedTransaction(r: Reader, flexible: boolean): FetchAbortedTransaction {
  const t = { producerId: r.int64(), firstOffset: r.int64() };
  if (flexible) r.skipTaggedFields();
  return t;
}

function readRecords(r: Reader, flexible: boolean): readonly Uint8Array[] {
  const n = flexible ? r.uvarint() - 1 : r.int32();
  if (n <= 0) return NO_RECORDS;
  const at = r.offset;
  r.skip(n);
  return [r.buf.subarray(at, at + n)];
}

function readPartitionResponse(r: Reader, version: number, flexible: boolean): FetchPartitionResponse {
  const partitionIndex = r.int32();
  const errorCode = r.int16();
  const highWatermark = r.int64();
  const lastStableOffset = version >= 4 ? r.int64() : -1; // v4 added last_stable_offset
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  let abortedTransactions: FetchAbortedTransaction[] | null = null;
  if (version >= 4) {
    // v4 added aborted_transactions (nullable)
    const n = flexible ? r.uvarint() - 1 : r.int32();
    if (n > r.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
    if (n >= 0) {
      abortedTransactions = new Array(n);
      for (let i = 0; i < n; i++) abortedTransactions[i] = readAbortedTransaction(r, flexible);
    }
  }
  const preferredReadReplica = version >= 11 ? r.int32() : -1; // v11 added preferred_read_replica
  const records = readRecords(r, flexible);
  if (flexible) r.skipTaggedFields();
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

function writePartitionResponse(
  w: Writer,
  version: number,
  flexible: boolean,
  p: FetchPartitionResponse,
): void {
  w.int32(p.partitionIndex).int16(p.errorCode).int64(p.highWatermark);
  if (version >= 4) w.int64(p.lastStableOffset); // v4 added last_stable_offset
  if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
  if (version >= 4) {
    // v4 added aborted_transactions
    const aborted = p.abortedTransactions;
    if (aborted === null) w.count(-1, flexible);
    else {
      w.count(aborted.length, flexible);
      for (let i = 0; i < aborted.length; i++) {
        w.int64(aborted[i].producerId).int64(aborted[i].firstOffset);
        if (flexible) w.emptyTaggedFields();
      }
    }
  }
  if (version >= 11) w.int32(p.preferredReadReplica); // v11 added preferred_read_replica
  w.externalChunks(p.records, flexible);
  if (flexible) w.emptyTaggedFields();
}

/**
 * A consumer's Fetch of one partition (replica -1, no session, read_uncommitted), as tests,
 * the bench and tools send it; `maxBytes` caps the response and the partition alike. From v13
 * the topic is named by `topicId`.
 */
export function consumerFetch(
  topic: string,
  partition: number,
  fetchOffset: number,
  opts: { maxWaitMs?: number; maxBytes?: number; partitionMaxBytes?: number; topicId?: Uint8Array } = {},
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
        topicId: opts.topicId ?? ZERO_TOPIC_ID,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset,
            lastFetchedEpoch: -1,
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
  minVersion: 0,
  maxVersion: 17,

  decodeRequest(r, version) {
    const flexible = version >= FIRST_FLEXIBLE;
    let replicaId = version < FIRST_REPLICA_STATE ? r.int32() : -1;
    const maxWaitMs = r.int32();
    const minBytes = r.int32();
    const maxBytes = version >= 3 ? r.int32() : 0x7fffffff; // v3 added max_bytes
    const isolationLevel = version >= 4 ? r.int8() : 0; // v4 added isolation_level
    const sessionId = version >= 7 ? r.int32() : 0; // v7 added session_id
    const sessionEpoch = version >= 7 ? r.int32() : -1; // v7 added session_epoch
    const nTopics = r.count(flexible);
    const topics: FetchTopic[] = new Array(nTopics);
    for (let i = 0; i < nTopics; i++) topics[i] = readTopic(r, version, flexible);
    let forgottenTopicsData: FetchForgottenTopic[] = [];
    if (version >= 7) {
      // v7 added forgotten_topics_data
      const n = r.count(flexible);
      forgottenTopicsData = new Array(n);
      for (let i = 0; i < n; i++) forgottenTopicsData[i] = readForgottenTopic(r, version, flexible);
    }
    const rackId = version >= 11 ? readName(r, flexible) : ""; // v11 added rack_id
    if (flexible)
      readTags(r, (tag, f) => {
        // v15: replica_state (1) => replica_id replica_epoch; cluster_id (0) is not checked
        if (tag === 1 && version >= FIRST_REPLICA_STATE) {
          replicaId = f.int32();
          f.int64();
          f.skipTaggedFields();
        }
      });
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
    const flexible = version >= FIRST_FLEXIBLE;
    const byId = version >= FIRST_TOPIC_ID;
    if (version < FIRST_REPLICA_STATE) w.int32(req.replicaId);
    w.int32(req.maxWaitMs).int32(req.minBytes);
    if (version >= 3) w.int32(req.maxBytes); // v3 added max_bytes
    if (version >= 4) w.int8(req.isolationLevel); // v4 added isolation_level
    if (version >= 7) w.int32(req.sessionId).int32(req.sessionEpoch); // v7 added session_id, session_epoch
    const topics = req.topics;
    w.count(topics.length, flexible);
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i];
      if (byId) w.raw(t.topicId ?? ZERO_TOPIC_ID);
      else writeName(w, t.topic, flexible);
      w.count(t.partitions.length, flexible);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partition);
        if (version >= 9) w.int32(p.currentLeaderEpoch); // v9 added current_leader_epoch
        w.int64(p.fetchOffset);
        if (version >= 12) w.int32(p.lastFetchedEpoch ?? -1); // v12 added last_fetched_epoch
        if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
        w.int32(p.partitionMaxBytes);
        if (flexible) w.emptyTaggedFields();
      }
      if (flexible) w.emptyTaggedFields();
    }
    if (version >= 7) {
      // v7 added forgotten_topics_data
      const forgotten = req.forgottenTopicsData;
      w.count(forgotten.length, flexible);
      for (const t of forgotten) {
        if (byId) w.raw(t.topicId ?? ZERO_TOPIC_ID);
        else writeName(w, t.topic, flexible);
        w.count(t.partitions.length, flexible);
        for (const p of t.partitions) w.int32(p);
        if (flexible) w.emptyTaggedFields();
      }
    }
    if (version >= 11) writeName(w, req.rackId, flexible); // v11 added rack_id
    if (!flexible) return;
    if (version >= FIRST_REPLICA_STATE && req.replicaId !== -1) {
      // replica_state (tag 1): replica_id int32, replica_epoch int64 (-1), no tags = 13 bytes
      w.uvarint(1).uvarint(1).uvarint(13).int32(req.replicaId).int64(-1).emptyTaggedFields();
    } else w.emptyTaggedFields();
  },

  decodeResponse(r, version) {
    const flexible = version >= FIRST_FLEXIBLE;
    const byId = version >= FIRST_TOPIC_ID;
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    const errorCode = version >= 7 ? r.int16() : 0; // v7 added error_code
    const sessionId = version >= 7 ? r.int32() : 0; // v7 added session_id
    const nTopics = r.count(flexible);
    const responses: FetchTopicResponse[] = new Array(nTopics);
    for (let i = 0; i < nTopics; i++) {
      const topic = byId ? "" : readName(r, flexible);
      const topicId = byId ? r.uuid() : ZERO_TOPIC_ID;
      const n = r.count(flexible);
      const partitions: FetchPartitionResponse[] = new Array(n);
      for (let j = 0; j < n; j++) partitions[j] = readPartitionResponse(r, version, flexible);
      if (flexible) r.skipTaggedFields();
      responses[i] = { topic, topicId, partitions };
    }
    if (flexible) r.skipTaggedFields(); // v16's node_endpoints: leader hints, not used by this client
    return { throttleTimeMs, errorCode, sessionId, responses };
  },

  encodeResponse(w, version, res) {
    const flexible = version >= FIRST_FLEXIBLE;
    const byId = version >= FIRST_TOPIC_ID;
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    if (version >= 7) w.int16(res.errorCode).int32(res.sessionId); // v7 added error_code, session_id
    const responses = res.responses;
    w.count(responses.length, flexible);
    for (let i = 0; i < responses.length; i++) {
      const t = responses[i];
      if (byId) w.raw(t.topicId ?? ZERO_TOPIC_ID);
      else writeName(w, t.topic, flexible);
      w.count(t.partitions.length, flexible);
      for (let j = 0; j < t.partitions.length; j++)
        writePartitionResponse(w, version, flexible, t.partitions[j]);
      if (flexible) w.emptyTaggedFields();
    }
    if (flexible) w.emptyTaggedFields();
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
