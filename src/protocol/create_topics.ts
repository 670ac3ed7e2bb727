// CreateTopics (key 19), v0-7, from Kafka's spec (spec_codec.ts).
//   v1  validate_only, error_message; v2 throttle_time_ms
//   v4  num_partitions and replication_factor may be -1 (the broker's defaults, KIP-464)
//   v5  flexible; the answer gives num_partitions, replication_factor and the topic's configs
//       (KIP-525), and a topic_config_error_code tagged field
//   v7  topic_id in the answer (KIP-516)
// kafkajs sends v3, librdkafka up to 4 (admin API), @platformatic/kafka v7.

import { ApiKey } from "./api_keys.ts";
import type {
  CreateTopicsRequest,
  CreateTopicsResponse,
  CreateTopicsResponseCreatableTopicResult,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { CreateTopicsRequest, CreateTopicsResponse };
export type CreatableTopicResult = CreateTopicsResponseCreatableTopicResult;

export const createTopicsCodec = specCodec<CreateTopicsRequest, CreateTopicsResponse>(
  ApiKey.CreateTopics,
  "CreateTopics",
  0,
  7,
);
