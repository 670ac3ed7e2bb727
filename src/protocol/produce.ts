// Produce (key 0), advertised 0-7 (ProduceRequest.json / ProduceResponse.json). v0-2 are
// advertised only so that librdkafka keeps compression on (see kafka-protocol.md §2): the broker
// answers them with UNSUPPORTED_VERSION per partition, in the v0-2 response layout.
//
// Produce Request (Version: 0..2) => acks timeout_ms [topic_data]
//   acks => INT16
//   timeout_ms => INT32
//   topic_data => name [partition_data]
//     name => STRING
//     partition_data => index records
//       index => INT32
//       records => RECORDS            (NULLABLE_BYTES: int32 size + message set magic 0/1)
// Produce Request (Version: 3..7) => transactional_id acks timeout_ms [topic_data]
//   transactional_id => NULLABLE_STRING
//       records => RECORDS            (RecordBatch v2; v7 may carry zstd)
//
// Produce Response (Version: 0) => [responses]
//   responses => name [partition_responses]
//     name => STRING
//     partition_responses => index error_code base_offset
//       index => INT32
//       error_code => INT16
//       base_offset => INT64
// Produce Response (Version: 1) => [responses] throttle_time_ms
//   throttle_time_ms => INT32
// Produce Response (Version: 2..4) => [responses] throttle_time_ms
//     partition_responses => index error_code base_offset log_append_time_ms
//       log_append_time_ms => INT64
// Produce Response (Version: 5..7) => [responses] throttle_time_ms
//     partition_responses => index error_code base_offset log_append_time_ms log_start_offset
//       log_start_offset => INT64
//
// Hot path: a partition's records are a view into the request frame, never copied or parsed
// here; responses are written with plain loops.

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";

export interface ProducePartitionData {
  partitionIndex: number;
  /** A view into the request frame (valid while the frame is). */
  records: Buffer | null;
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

export interface ProducePartitionResponse {
  partitionIndex: number;
  errorCode: number;
  baseOffset: number;
  /** v2+; -1 below (and for CreateTime topics). */
  logAppendTimeMs: number;
  /** v5+; -1 below. */
  logStartOffset: number;
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

function readPartitionData(r: Reader): ProducePartitionData {
  return { partitionIndex: r.int32(), records: r.nullableBytes() };
}

function readTopicData(r: Reader): ProduceTopicData {
  return { name: r.string(), partitions: r.array(readPartitionData) };
}

function readPartitionResponse(r: Reader, version: number): ProducePartitionResponse {
  const partitionIndex = r.int32();
  const errorCode = r.int16();
  const baseOffset = r.int64();
  const logAppendTimeMs = version >= 2 ? r.int64() : -1; // v2 added log_append_time_ms
  const logStartOffset = version >= 5 ? r.int64() : -1; // v5 added log_start_offset
  return { partitionIndex, errorCode, baseOffset, logAppendTimeMs, logStartOffset };
}

export const produceCodec: ApiCodec<ProduceRequest, ProduceResponse> = {
  key: ApiKey.Produce,
  name: "Produce",
  minVersion: 0,
  maxVersion: 7,

  decodeRequest(r, version) {
    const transactionalId = version >= 3 ? r.nullableString() : null; // v3 added transactional_id
    const acks = r.int16();
    const timeoutMs = r.int32();
    const topics = r.array(readTopicData);
    return { transactionalId, acks, timeoutMs, topics };
  },

  encodeRequest(w, version, req) {
    if (version >= 3) w.nullableString(req.transactionalId); // v3 added transactional_id
    w.int16(req.acks).int32(req.timeoutMs);
    const topics = req.topics;
    w.int32(topics.length);
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i];
      w.string(t.name).int32(t.partitions.length);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partitionIndex).bytes(p.records);
      }
    }
  },

  decodeResponse(r, version) {
    const partition = (r: Reader): ProducePartitionResponse => readPartitionResponse(r, version);
    const responses = r.array(
      (r): ProduceTopicResponse => ({ name: r.string(), partitions: r.array(partition) }),
    );
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    return { responses, throttleTimeMs };
  },

  encodeResponse(w, version, res) {
    const responses = res.responses;
    w.int32(responses.length);
    for (let i = 0; i < responses.length; i++) {
      const t = responses[i];
      w.string(t.name).int32(t.partitions.length);
      for (let j = 0; j < t.partitions.length; j++) {
        const p = t.partitions[j];
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.baseOffset);
        if (version >= 2) w.int64(p.logAppendTimeMs); // v2 added log_append_time_ms
        if (version >= 5) w.int64(p.logStartOffset); // v5 added log_start_offset
      }
    }
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
  },
};

/**
 * A response giving every partition of a request the same error (base_offset -1): how the broker
 * answers Produce v0-2 (UNSUPPORTED_VERSION) and requests it rejects as a whole.
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
