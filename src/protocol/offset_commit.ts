// OffsetCommit (key 8), v0-9, from Kafka's spec (spec_codec.ts).
//   v0  no generation: a memberless commit (Kafka kept v0 commits in ZooKeeper, Milena in the
//       coordinator, where OffsetFetch v0 reads them)
//   v1  generation_id_or_member_epoch, member_id; commit_timestamp per partition (v1 only; read
//       and not used: the broker stamps commits, as it does from v2)
//   v2-4 retention_time_ms (-1: offsets.retention.minutes)
//   v3  throttle_time_ms
//   v6  committed_leader_epoch per partition (kept with the offset, returned by OffsetFetch v5+)
//   v7  group_instance_id
//   v8  flexible
//   v9  generation_id_or_member_epoch may be a KIP-848 member epoch: Milena's groups are classic,
//       so it is the generation
// kafkajs and librdkafka send v5 (librdkafka's 7 negotiated down), sarama v1 by default,
// @platformatic/kafka v8-9.

import { ApiKey } from "./api_keys.ts";
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetCommitResponseTopic,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { OffsetCommitRequest, OffsetCommitResponse };
export type OffsetCommitTopicResponse = OffsetCommitResponseTopic;

export const offsetCommitCodec = specCodec<OffsetCommitRequest, OffsetCommitResponse>(
  ApiKey.OffsetCommit,
  "OffsetCommit",
  0,
  9,
);
