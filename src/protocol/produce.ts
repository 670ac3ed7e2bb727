// Produce (key 0), versions 0-11 (ProduceRequest.json / ProduceResponse.json).
//
// Produce Request (Version: 0..2) => acks timeout_ms [topic_data]
//   acks => INT16
//   timeout_ms => INT32
//   topic_data => name [partition_data]
//     name => STRING
//     partition_data => index records
//       index => INT32
//       records => RECORDS            (NULLABLE_BYTES: a message set of magic 0/1, which the
//                                      broker converts to one RecordBatch v2, message_set.ts)
// v3   + transactional_id NULLABLE_STRING first; records are RecordBatch v2 (v7 may carry zstd)
// v9   flexible (compact strings, arrays and bytes; a tagged-field section closing every struct)
//
// Produce Response (Version: 0) => [responses]
//   responses => name [partition_responses]
//     name => STRING
//     partition_responses => index error_code base_offset
//       index => INT32
//       error_code => INT16
//       base_offset => INT64
// v1   + throttle_time_ms INT32 last
// v2   + log_append_time_ms INT64 per partition
// v5   + log_start_offset INT64 per partition
// v8   + record_errors [batch_index INT32 batch_index_error_message NULLABLE_STRING] and
//        error_message NULLABLE_STRING per partition (KIP-467)
// v9   flexible
// v10  tagged current_leader (0) per partition and node_endpoints (0) at the top (KIP-951:
//        leader hints after NOT_LEADER_OR_FOLLOWER; a single broker sends none)
// v11  v10's layout (KIP-890's transactions v2)
//
// Hot path: a partition's records are a view into the request frame, never copied or parsed
// here; responses are written with plain loops.

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface ProducePartitionData {
  partitionIndex: number;
  /** A view into the request frame (valid while the frame is). */
  records: Uint8Array | null;
}

export interface ProduceTopicData {
  name: string;
  partitions: ProducePartitionData[];
}

export interface ProduceRequest {
  /** v3+; null below. */
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: ProduceTopicData[];
}

export interface ProduceRecordError {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface ProducePartitionResponse {
  partitionIndex: number;
  errorCode: number;
  baseOffset: number;
  /** v2+; -1 below (and for CreateTime topics). */
  logAppendTimeMs: number;
  /** v5+; -1 below. */
  logStartOffset: number;
  /** v8+; [] below (and when the error is not a record's). */
  recordErrors?: ProduceRecordError[];
  /** v8+; null below. */
  errorMessage?: string | null;
}

export interface ProduceTopicResponse {
  name: string;
  partitions: ProducePartitionResponse[];
}

export interface ProduceResponse {
  responses: ProduceTopicResponse[];
  /** v1+; 0 below. */
  throttleTimeMs: number;
}

const FIRST_FLEXIBLE = 9;

function readRecords(r: Reader, flexible: boolean): Uint8Array | null {
  if (!flexible) return r.nullableBytes();
  const n = r.uvarint() - 1;
  if (n < 0) return null;
  const at = r.offset;
  r.skip(n);
  return r.buf.subarray(at, at + n);
}

function readTopicData(r: Reader, flexible: boolean): ProduceTopicData {
  const name = flexible ? r.compactString() : r.string();
  const n = r.count(flexible);
  const partitions: ProducePartitionData[] = new Array(n);
  for (let i = 0; i < n; i++) {
    partitions[i] = { partitionIndex: r.int32(), records: readRecords(r, flexible) };
    if (flexible) r.skipTaggedFields();
  }
  if (flexible) r.skipTaggedFields();
  return { name, partitions };
}

function readPartitionResponse(r: Reader, version: number, flexible: boolean): ProducePartitionResponse {
  const partitionIndex = r.int32();
  const errorCode = r.int16();
  const baseOffset = r.int64();
  const logAppendTimeMs = version >= 2 ? r.int64() : -1; // v2 added log_append_time_ms
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  const out: ProducePartitionResponse = {
    partitionIndex,
    errorCode,
    baseOffset,
    logAppendTimeMs,
    logStartOffset,
  };
  if (version >= 8) {
    // v8 added record_errors and error_message
    const n = r.count(flexible);
    const recordErrors: ProduceRecordError[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const batchIndex = r.int32();
      const batchIndexErrorMessage = flexible ? r.compactNullableString() : r.nullableString();
      if (flexible) r.skipTaggedFields();
      recordErrors[i] = { batchIndex, batchIndexErrorMessage };
    }
    out.recordErrors = recordErrors;
    out.errorMessage = flexible ? r.compactNullableString() : r.nullableString();
  }
  if (flexible) r.skipTaggedFields(); // v10's current_leader: a leader hint
  return out;
}

function writeNullableString(w: Writer, s: string | null, flexible: boolean): void {
  if (flexible) w.compactString(s);
  else w.nullableString(s);
}

export const produceCodec: ApiCodec<ProduceRequest, ProduceResponse> = {
  key: ApiKey.Produce,
  name: "Produce",
  minVersion: 0,
  maxVersion: 11,

  decodeRequest(r, version) {
    const flexible = version >= FIRST_FLEXIBLE;
    let transactionalId: string | null = null;
    if (version >= 3) transactionalId = flexible ? r.compactNullableString() : r.nullableString(); // v3 added transactional_id
    const acks = r.int16();
    const timeoutMs = r.int32();
    const n = r.count(flexible);
    const topics: ProduceTopicData[] = new Array(n);
    for (let i = 0; i < n; i++) topics[i] = readTopicData(r, flexible);
    if (flexible) r.skipTaggedFields();
    return { transactionalId, acks, timeoutMs, topics };
  },

  encodeRequest(w, version, req) {
    const flexible = version >= FIRST_FLEXIBLE;
    if (version >= 3) writeNullableString(w, req.transactionalId, flexible); // v3 added transactional_id
    w.int16(req.acks).int32(req.timeoutMs);
    const topics = req.topics;
    w.count(topics.length, flexible);
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i];
      if (flexible) w.compactString(t.name);
      else w.string(t.name);
      w.count(t.partitions.length, flexible);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partitionIndex);
        // The batch is spliced in, not copied (Milena's client sends it as it built it).
        if (p.records === null) w.count(-1, flexible);
        else if (!flexible) w.externalBytes(p.records);
        else w.uvarint(p.records.length + 1).splice(p.records);
        if (flexible) w.emptyTaggedFields();
      }
      if (flexible) w.emptyTaggedFields();
    }
    if (flexible) w.emptyTaggedFields();
  },

  decodeResponse(r, version) {
    const flexible = version >= FIRST_FLEXIBLE;
    const n = r.count(flexible);
    const responses: ProduceTopicResponse[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const name = flexible ? r.compactString() : r.string();
      const m = r.count(flexible);
      const partitions: ProducePartitionResponse[] = new Array(m);
      for (let j = 0; j < m; j++) partitions[j] = readPartitionResponse(r, version, flexible);
      if (flexible) r.skipTaggedFields();
      responses[i] = { name, partitions };
    }
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    if (flexible) r.skipTaggedFields(); // v10's node_endpoints: leader hints
    return { responses, throttleTimeMs };
  },

  encodeResponse(w, version, res) {
    const flexible = version >= FIRST_FLEXIBLE;
    const responses = res.responses;
    w.count(responses.length, flexible);
    for (let i = 0; i < responses.length; i++) {
      const t = responses[i];
      if (flexible) w.compactString(t.name);
      else w.string(t.name);
      w.count(t.partitions.length, flexible);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.baseOffset);
        if (version >= 2) w.int64(p.logAppendTimeMs); // v2 added log_append_time_ms
        if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
        if (version >= 8) {
          // v8 added record_errors and error_message
          const errors = p.recordErrors ?? [];
          w.count(errors.length, flexible);
          for (const e of errors) {
            w.int32(e.batchIndex);
            writeNullableString(w, e.batchIndexErrorMessage, flexible);
            if (flexible) w.emptyTaggedFields();
          }
          writeNullableString(w, p.errorMessage ?? null, flexible);
        }
        if (flexible) w.emptyTaggedFields();
      }
      if (flexible) w.emptyTaggedFields();
    }
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    if (flexible) w.emptyTaggedFields();
  },
};

/**
 * A response giving every partition of a request the same error (base_offset -1): how the broker
 * answers requests it rejects as a whole.
 */
export function produceErrorResponse(req: ProduceRequest, errorCode: number): ProduceResponse {
  const responses: ProduceTopicResponse[] = new Array(req.topics.length);
  for (let i = 0; i < req.topics.length; i++) {
    const t = req.topics[i];
    const partitions: ProducePartitionResponse[] = new Array(t.partitions.length);
    for (let j = 0; j < t.partitions.length; j++) {
      const partitionIndex = t.partitions[j].partitionIndex;
      partitions[j] = { partitionIndex, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
    }
    responses[i] = { name: t.name, partitions };
  }
  return { responses, throttleTimeMs: 0 };
}
