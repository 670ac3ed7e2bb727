// OffsetCommit (key 8), versions 0-5 (OffsetCommitRequest.json / OffsetCommitResponse.json).
// v6 adds committed_leader_epoch, v7 group_instance_id, v8 is flexible. kafkajs sends v5,
// librdkafka v5 (its 7 negotiated down), sarama v1 by default.
//
// OffsetCommit Request (Version: 0) => group_id [topics]   (no generation: a memberless commit;
//   Kafka stored v0 commits in ZooKeeper, Milena in the coordinator, where OffsetFetch v0 reads)
// OffsetCommit Request (Version: 1) => group_id generation_id member_id [topics]; partitions =>
//   partition_index committed_offset commit_timestamp INT64 committed_metadata
//   (commit_timestamp is read and not used: the broker stamps commits, as it does from v2)
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
  /** v1+; -1 (with memberId "": outside any generation) in v0. */
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

function readPartition(r: Reader, version: number): OffsetCommitPartition {
  const partitionIndex = r.int32();
  const committedOffset = r.int64();
  if (version === 1) r.int64(); // commit_timestamp (v1 only)
  return { partitionIndex, committedOffset, committedMetadata: r.nullableString() };
}

function writePartition(w: Writer, version: number, p: OffsetCommitPartition): void {
  w.int32(p.partitionIndex).int64(p.committedOffset);
  if (version === 1) w.int64(-1); // commit_timestamp: -1 = when the broker stores it
  w.nullableString(p.committedMetadata);
}

function readTopic(r: Reader, version: number): OffsetCommitTopic {
  return { name: r.string(), partitions: r.array((r) => readPartition(r, version)) };
}

function writeTopic(w: Writer, version: number, t: OffsetCommitTopic): void {
  w.string(t.name).array(t.partitions, (w, p) => writePartition(w, version, p));
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
  minVersion: 0,
  maxVersion: 5,

  decodeRequest(r, version) {
    const groupId = r.string();
    const generationId = version >= 1 ? r.int32() : -1; // v1 added generation_id
    const memberId = version >= 1 ? r.string() : ""; // v1 added member_id
    // v2 added retention_time_ms, v5 removed it
    const retentionTimeMs = version >= 2 && version <= 4 ? r.int64() : -1;
    const topics = r.array((r) => readTopic(r, version));
    return { groupId, generationId, memberId, retentionTimeMs, topics };
  },

  encodeRequest(w, version, req) {
    w.string(req.groupId);
    if (version >= 1) w.int32(req.generationId).string(req.memberId); // v1 added them
    if (version >= 2 && version <= 4) w.int64(req.retentionTimeMs); // v2 added, v5 removed
    w.array(req.topics, (w, t) => writeTopic(w, version, t));
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
