// OffsetFetch (key 9), versions 0-4 (OffsetFetchRequest.json / OffsetFetchResponse.json).
// v0 has v1's layout; Kafka read it from ZooKeeper, Milena from the group coordinator, where
// OffsetCommit v0 writes too. v5 adds committed_leader_epoch to the response, v6 is flexible.
// kafkajs and librdkafka both send v4.
//
// OffsetFetch Request (Version: 0..1) => group_id [topics]
//   group_id => STRING
//   topics => name [partition_indexes]
//     name => STRING
//     partition_indexes => INT32
// OffsetFetch Request (Version: 2..4) => group_id [topics]
//   topics => ...                        (NULLABLE array: null = every committed partition)
//
// OffsetFetch Response (Version: 0..1) => [topics]
//   topics => name [partitions]
//     name => STRING
//     partitions => partition_index committed_offset metadata error_code
//       partition_index => INT32
//       committed_offset => INT64        (-1: nothing committed)
//       metadata => NULLABLE_STRING
//       error_code => INT16
// OffsetFetch Response (Version: 2) => [topics] error_code
//   error_code => INT16                  (group-level: coordinator errors)
// OffsetFetch Response (Version: 3..4) => throttle_time_ms [topics] error_code
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface OffsetFetchTopic {
  name: string;
  partitionIndexes: number[];
}

export interface OffsetFetchRequest {
  groupId: string;
  /** null = every partition the group committed (v2+; v1 cannot carry null). */
  topics: OffsetFetchTopic[] | null;
}

export interface OffsetFetchPartitionResponse {
  partitionIndex: number;
  committedOffset: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchTopicResponse {
  name: string;
  partitions: OffsetFetchPartitionResponse[];
}

export interface OffsetFetchResponse {
  /** v3+; 0 below. */
  throttleTimeMs: number;
  topics: OffsetFetchTopicResponse[];
  /** v2+; 0 below. */
  errorCode: number;
}

const readInt32 = (r: Reader): number => r.int32();
const writeInt32 = (w: Writer, v: number): void => {
  w.int32(v);
};

function readTopic(r: Reader): OffsetFetchTopic {
  return { name: r.string(), partitionIndexes: r.array(readInt32) };
}

function writeTopic(w: Writer, t: OffsetFetchTopic): void {
  w.string(t.name).array(t.partitionIndexes, writeInt32);
}

function readPartitionResponse(r: Reader): OffsetFetchPartitionResponse {
  return {
    partitionIndex: r.int32(),
    committedOffset: r.int64(),
    metadata: r.nullableString(),
    errorCode: r.int16(),
  };
}

function writePartitionResponse(w: Writer, p: OffsetFetchPartitionResponse): void {
  w.int32(p.partitionIndex).int64(p.committedOffset).nullableString(p.metadata).int16(p.errorCode);
}

function readTopicResponse(r: Reader): OffsetFetchTopicResponse {
  return { name: r.string(), partitions: r.array(readPartitionResponse) };
}

function writeTopicResponse(w: Writer, t: OffsetFetchTopicResponse): void {
  w.string(t.name).array(t.partitions, writePartitionResponse);
}

export const offsetFetchCodec: ApiCodec<OffsetFetchRequest, OffsetFetchResponse> = {
  key: ApiKey.OffsetFetch,
  name: "OffsetFetch",
  minVersion: 0,
  maxVersion: 4,

  decodeRequest(r, version) {
    const groupId = r.string();
    // v2 made topics nullable (null = all); a v1 null count reads as an empty list.
    const topics = version >= 2 ? r.nullableArray(readTopic) : r.array(readTopic);
    return { groupId, topics };
  },

  encodeRequest(w, version, req) {
    if (req.topics === null && version < 2)
      throw new Error(`OffsetFetch v${version} cannot ask for all topics (null)`);
    w.string(req.groupId).array(req.topics, writeTopic); // v2 made topics nullable
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 3 ? r.int32() : 0; // v3 added throttle_time_ms
    const topics = r.array(readTopicResponse);
    const errorCode = version >= 2 ? r.int16() : 0; // v2 added the top-level error_code
    return { throttleTimeMs, topics, errorCode };
  },

  encodeResponse(w, version, res) {
    if (version >= 3) w.int32(res.throttleTimeMs); // v3 added throttle_time_ms
    w.array(res.topics, writeTopicResponse);
    if (version >= 2) w.int16(res.errorCode); // v2 added the top-level error_code
  },
};
