// CreatePartitions (api key 37), v0-v3, from Kafka's spec (spec_codec.ts): grow a topic to a
// larger partition count (kafka-topics.sh --alter --partitions). v2+ flexible.

import { ApiKey } from "./api_keys.ts";
import { specCodec } from "./spec_codec.ts";

export interface CreatePartitionsTopic {
  [field: string]: unknown;
  name: string;
  count: number;
  /** One broker list per new partition, or null to let the broker place them. */
  assignments: { [field: string]: unknown; brokerIds: number[] }[] | null;
}

export interface CreatePartitionsRequest {
  [field: string]: unknown;
  topics: CreatePartitionsTopic[];
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreatePartitionsTopicResult {
  [field: string]: unknown;
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface CreatePartitionsResponse {
  [field: string]: unknown;
  throttleTimeMs: number;
  results: CreatePartitionsTopicResult[];
}

export const createPartitionsCodec = specCodec<CreatePartitionsRequest, CreatePartitionsResponse>(
  ApiKey.CreatePartitions,
  "CreatePartitions",
  0,
  3,
);
