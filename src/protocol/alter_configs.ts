// AlterConfigs (key 33), v0-2, from Kafka's spec (spec_codec.ts): replace a resource's
// overrides. v1 only changes throttling (KIP-219), v2 is flexible. Resources: 2 topic, 4 broker.
// kafkajs sends v1, @platformatic/kafka v2.

import { ApiKey } from "./api_keys.ts";
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  AlterConfigsResponseResourceResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { AlterConfigsRequest, AlterConfigsResponse };
export type AlterConfigsResourceResponse = AlterConfigsResponseResourceResponse;

export const alterConfigsCodec = specCodec<AlterConfigsRequest, AlterConfigsResponse>(
  ApiKey.AlterConfigs,
  "AlterConfigs",
  0,
  2,
);
