// ListOffsets (key 2), versions 0-3 (ListOffsetsRequest.json / ListOffsetsResponse.json).
//
// ListOffsets Request (Version: 0) => replica_id [topics]; partitions => partition_index
//   timestamp max_num_offsets INT32
// ListOffsets Response (Version: 0) => [topics]; partitions => partition_index error_code
//   [old_style_offsets INT64]. Milena answers v0 with the one offset v1 would give (log end for
//   -1, log start for -2, the first offset at or after a timestamp), not Kafka's list of segment
//   starts; Burrow and sarama read the first entry.
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

function readPartition(r: Reader, version: number): ListOffsetsPartition {
  const partitionIndex = r.int32();
  const timestamp = r.int64();
  if (version === 0) r.int32(); // max_num_offsets (v0 only): one offset is always answered
  return { partitionIndex, timestamp };
}

function writePartition(w: Writer, version: number, p: ListOffsetsPartition): void {
  w.int32(p.partitionIndex).int64(p.timestamp);
  if (version === 0) w.int32(1); // max_num_offsets
}

function readPartitionResponse(r: Reader, version: number): ListOffsetsPartitionResponse {
  const partitionIndex = r.int32();
  const errorCode = r.int16();
  if (version === 0) {
    const offsets = r.array((r) => r.int64());
    return { partitionIndex, errorCode, timestamp: -1, offset: offsets.length > 0 ? offsets[0] : -1 };
  }
  return { partitionIndex, errorCode, timestamp: r.int64(), offset: r.int64() };
}

function writePartitionResponse(w: Writer, version: number, p: ListOffsetsPartitionResponse): void {
  w.int32(p.partitionIndex).int16(p.errorCode);
  if (version === 0) {
    w.array(p.offset >= 0 ? [p.offset] : [], (w, o) => w.int64(o));
    return;
  }
  w.int64(p.timestamp).int64(p.offset);
}

export const listOffsetsCodec: ApiCodec<ListOffsetsRequest, ListOffsetsResponse> = {
  key: ApiKey.ListOffsets,
  name: "ListOffsets",
  minVersion: 0,
  maxVersion: 3,

  decodeRequest(r, version) {
    const replicaId = r.int32();
    const isolationLevel = version >= 2 ? r.int8() : 0; // v2 added isolation_level
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => readPartition(r, version)),
    }));
    return { replicaId, isolationLevel, topics };
  },

  encodeRequest(w, version, req) {
    w.int32(req.replicaId);
    if (version >= 2) w.int8(req.isolationLevel); // v2 added isolation_level
    w.array(req.topics, (w, t) =>
      w.string(t.name).array(t.partitions, (w, p) => writePartition(w, version, p)),
    );
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 2 ? r.int32() : 0; // v2 added throttle_time_ms
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => readPartitionResponse(r, version)),
    }));
    return { throttleTimeMs, topics };
  },

  encodeResponse(w, version, res) {
    if (version >= 2) w.int32(res.throttleTimeMs); // v2 added throttle_time_ms
    w.array(res.topics, (w, t) =>
      w.string(t.name).array(t.partitions, (w, p) => writePartitionResponse(w, version, p)),
    );
  },
};
