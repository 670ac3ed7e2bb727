// DeleteTopics (key 20), v0-6, from Kafka's spec (spec_codec.ts).
//   v1  throttle_time_ms; v4 flexible; v5 error_message per topic
//   v6  topics by name or by topic id (topics: [{name, topic_id}]; topic_names is v0-5's)
// kafkajs sends v1, librdkafka up to 3, @platformatic/kafka v6.

import { ApiKey } from "./api_keys.ts";
import type { DeleteTopicsRequest, DeleteTopicsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DeleteTopicsRequest, DeleteTopicsResponse };

export const deleteTopicsCodec = specCodec<DeleteTopicsRequest, DeleteTopicsResponse>(
  ApiKey.DeleteTopics,
  "DeleteTopics",
  0,
  6,
);
