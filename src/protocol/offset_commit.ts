// OffsetCommit (key 8), versions 2-5 (OffsetCommitRequest.json / OffsetCommitResponse.json).
// v0 (ZooKeeper offsets) and v1 (per-partition commit_timestamp) are not served; v6 adds
// committed_leader_epoch, v7 group_instance_id, v8 is flexible. kafkajs sends v5, librdkafka
// v5 (its 7 negotiated down).
//
// OffsetCommit Request (Version: 2..4) => group_id generation_id member_id retention_time_ms [topics]
//   group_id => STRING
//   generation_id => INT32               (-1 with member_id "": a commit outside any generation)
//   member_id => STRING
//   retention_time_ms => INT64           (-1 = the broker's offsets.retention.minutes)
//   topics => name [partitions]
//     name => STRING
//     partitions => partition_index committed_offset committed_metadata
//       partition_index => INT32
//       committed_offset => INT64
//       committed_metadata => NULLABLE_STRING
// OffsetCommit Request (Version: 5) => group_id generation_id member_id [topics]
//
// OffsetCommit Response (Version: 2) => [topics]
//   topics => name [partitions]
//     name => STRING
//     partitions => partition_index error_code
//       partition_index => INT32
//       error_code => INT16
// OffsetCommit Response (Version: 3..5) => throttle_time_ms [topics]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: number;
  committedMetadata: string | null;
}

export interface OffsetCommitTopic {
  name: string;
  partitions: OffsetCommitPartition[];
}

export interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v2-4; -1 (the broker's default) from v5, which dropped it. */
  retentionTimeMs: number;
  topics: OffsetCommitTopic[];
}

export interface OffsetCommitPartitionResponse {
  partitionIndex: number;
  errorCode: number;
}

export interface OffsetCommitTopicResponse {
  name: string;
  partitions: OffsetCommitPartitionResponse[];
}

export interface OffsetCommitResponse {
  /** v3+; 0 below. */
  throttleTimeMs: number;
  topics: OffsetCommitTopicResponse[];
}

function readPartition(r: Reader): OffsetCommitPartition {
  return { partitionIndex: r.int32(), committedOffset: r.int64(), committedMetadata: r.nullableString() };
}

function writePartition(w: Writer, p: OffsetCommitPartition): void {
  w.int32(p.partitionIndex).int64(p.committedOffset).nullableString(p.committedMetadata);
}

function readTopic(r: Reader): OffsetCommitTopic {
  return { name: r.string(), partitions: r.array(readPartition) };
}

function writeTopic(w: Writer, t: OffsetCommitTopic): void {
  w.string(t.name).array(t.partitions, writePartition);
}

function readPartitionResponse(r: Reader): OffsetCommitPartitionResponse {
  return { partitionIndex: r.int32(), errorCode: r.int16() };
}

function writePartitionResponse(w: Writer, p: OffsetCommitPartitionResponse): void {
  w.int32(p.partitionIndex).int16(p.errorCode);
}

function readTopicResponse(r: Reader): OffsetCommitTopicResponse {
  return { name: r.string(), partitions: r.array(readPartitionResponse) };
}

function writeTopicResponse(w: Writer, t: OffsetCommitTopicResponse): void {
  w.string(t.name).array(t.partitions, writePartitionResponse);
}

export const offsetCommitCodec: ApiCodec<OffsetCommitRequest, OffsetCommitResponse> = {
  key: ApiKey.OffsetCommit,
  name: "OffsetCommit",
  minVersion: 2,
  maxVersion: 5,

  decodeRequest(r, version) {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const retentionTimeMs = version <= 4 ? r.int64() : -1; // v5 removed retention_time_ms
    const topics = r.array(readTopic);
    return { groupId, generationId, memberId, retentionTimeMs, topics };
  },

  encodeRequest(w, version, req) {
    w.string(req.groupId).int32(req.generationId).string(req.memberId);
    if (version <= 4) w.int64(req.retentionTimeMs); // v5 removed retention_time_ms
    w.array(req.topics, writeTopic);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 3 ? r.int32() : 0; // v3 added throttle_time_ms
    return { throttleTimeMs, topics: r.array(readTopicResponse) };
  },

  encodeResponse(w, version, res) {
    if (version >= 3) w.int32(res.throttleTimeMs); // v3 added throttle_time_ms
    w.array(res.topics, writeTopicResponse);
  },
};
