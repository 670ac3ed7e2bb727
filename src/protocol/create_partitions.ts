// CreatePartitions (api key 37), v0-v3, from Kafka's spec (spec_codec.ts): grow a topic to a
// larger partition count (kafka-topics.sh --alter --partitions). v2+ flexible.

import { ApiKey } from "./api_keys.ts";
import type {
  CreatePartitionsRequest,
  CreatePartitionsRequestTopic,
  CreatePartitionsResponse,
  CreatePartitionsResponseTopicResult,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { CreatePartitionsRequest, CreatePartitionsResponse };
export type CreatePartitionsTopic = CreatePartitionsRequestTopic;
export type CreatePartitionsTopicResult = CreatePartitionsResponseTopicResult;

export const createPartitionsCodec = specCodec<CreatePartitionsRequest, CreatePartitionsResponse>(
  ApiKey.CreatePartitions,
  "CreatePartitions",
  0,
  3,
);
