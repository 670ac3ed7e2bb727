// ListOffsets (key 2), versions 1-3 (ListOffsetsRequest.json / ListOffsetsResponse.json).
//
// ListOffsets Request (Version: 1) => replica_id [topics]
//   replica_id => INT32
//   topics => name [partitions]
//     name => STRING
//     partitions => partition_index timestamp
//       partition_index => INT32
//       timestamp => INT64              (-1 latest, -2 earliest, else a time in ms)
// ListOffsets Request (Version: 2..3) => replica_id isolation_level [topics]
//   isolation_level => INT8
//
// ListOffsets Response (Version: 1) => [topics]
//   topics => name [partitions]
//     name => STRING
//     partitions => partition_index error_code timestamp offset
//       partition_index => INT32
//       error_code => INT16
//       timestamp => INT64
//       offset => INT64
// ListOffsets Response (Version: 2..3) => throttle_time_ms [topics]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface ListOffsetsPartition {
  partitionIndex: number;
  timestamp: number;
}

export interface ListOffsetsTopic {
  name: string;
  partitions: ListOffsetsPartition[];
}

export interface ListOffsetsRequest {
  replicaId: number;
  /** v2+; 0 below. */
  isolationLevel: number;
  topics: ListOffsetsTopic[];
}

export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  timestamp: number;
  offset: number;
}

export interface ListOffsetsTopicResponse {
  name: string;
  partitions: ListOffsetsPartitionResponse[];
}

export interface ListOffsetsResponse {
  /** v2+; 0 below. */
  throttleTimeMs: number;
  topics: ListOffsetsTopicResponse[];
}

function readPartition(r: Reader): ListOffsetsPartition {
  return { partitionIndex: r.int32(), timestamp: r.int64() };
}

function writePartition(w: Writer, p: ListOffsetsPartition): void {
  w.int32(p.partitionIndex).int64(p.timestamp);
}

function readTopic(r: Reader): ListOffsetsTopic {
  return { name: r.string(), partitions: r.array(readPartition) };
}

function writeTopic(w: Writer, t: ListOffsetsTopic): void {
  w.string(t.name).array(t.partitions, writePartition);
}

function readPartitionResponse(r: Reader): ListOffsetsPartitionResponse {
  return { partitionIndex: r.int32(), errorCode: r.int16(), timestamp: r.int64(), offset: r.int64() };
}

function writePartitionResponse(w: Writer, p: ListOffsetsPartitionResponse): void {
  w.int32(p.partitionIndex).int16(p.errorCode).int64(p.timestamp).int64(p.offset);
}

function readTopicResponse(r: Reader): ListOffsetsTopicResponse {
  return { name: r.string(), partitions: r.array(readPartitionResponse) };
}

function writeTopicResponse(w: Writer, t: ListOffsetsTopicResponse): void {
  w.string(t.name).array(t.partitions, writePartitionResponse);
}

export const listOffsetsCodec: ApiCodec<ListOffsetsRequest, ListOffsetsResponse> = {
  key: ApiKey.ListOffsets,
  name: "ListOffsets",
  minVersion: 1,
  maxVersion: 3,

  decodeRequest(r, version) {
    const replicaId = r.int32();
    const isolationLevel = version >= 2 ? r.int8() : 0; // v2 added isolation_level
    const topics = r.array(readTopic);
    return { replicaId, isolationLevel, topics };
  },

  encodeRequest(w, version, req) {
    w.int32(req.replicaId);
    if (version >= 2) w.int8(req.isolationLevel); // v2 added isolation_level
    w.array(req.topics, writeTopic);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 2 ? r.int32() : 0; // v2 added throttle_time_ms
    const topics = r.array(readTopicResponse);
    return { throttleTimeMs, topics };
  },

  encodeResponse(w, version, res) {
    if (version >= 2) w.int32(res.throttleTimeMs); // v2 added throttle_time_ms
    w.array(res.topics, writeTopicResponse);
  },
};
