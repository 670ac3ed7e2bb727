// Metadata (key 3), v0-12, from Kafka's spec (spec_codec.ts).
//   v0  topics: [] means every topic (null is not possible before v1)
//   v1  topics may be null (every topic; [] is none); rack, controller_id, is_internal
//   v2  cluster_id; v3 throttle_time_ms
//   v4  allow_auto_topic_creation (below: true, Kafka's default)
//   v5  offline_replicas; v7 leader_epoch per partition (0 until clustering)
//   v8  cluster and topic authorized_operations (src/broker/authorized_operations.ts)
//   v9  flexible; v10 topic_id per topic (KIP-516, partition.metadata); v11 drops the cluster's
//       authorized operations; v12 topics may be asked for by id (name null)
// kafkajs sends v6, librdkafka v4-12 (negotiated), @platformatic/kafka v9-12, kafka-python's
// probe and sarama's ListTopics v0.

import { ApiKey } from "./api_keys.ts";
import type {
  MetadataRequest,
  MetadataResponse,
  MetadataResponsePartition,
  MetadataResponseTopic,
} from "./generated/types.ts";
import type { Init } from "./schema.ts";
import { specCodec } from "./spec_codec.ts";

export type { MetadataRequest, MetadataResponse };
export type MetadataTopic = MetadataResponseTopic;
export type MetadataPartition = MetadataResponsePartition;

export const metadataCodec = specCodec<MetadataRequest, MetadataResponse>(ApiKey.Metadata, "Metadata", 0, 12);

/** A request for topics by name (null: every topic; [] none, from v1). */
export function metadataRequest(
  topics: readonly string[] | null,
  allowAutoTopicCreation = true,
): Init<MetadataRequest> {
  return { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation };
}
