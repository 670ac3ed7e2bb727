// IncrementalAlterConfigs (key 44), v0-1, from Kafka's spec (spec_codec.ts): set, delete,
// append to or subtract from single config values (KIP-339). v1 is flexible. kafkajs does not
// send it; librdkafka's admin API v0-1, @platformatic/kafka v1.

import { ApiKey } from "./api_keys.ts";
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse };

/** config_operation values (Kafka's AlterConfigOp.OpType). */
export const ConfigOperation = {
  Set: 0,
  Delete: 1,
  /** For list-valued configs: add the value to the list. */
  Append: 2,
  /** For list-valued configs: remove the value from the list. */
  Subtract: 3,
} as const;

export const incrementalAlterConfigsCodec = specCodec<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse
>(ApiKey.IncrementalAlterConfigs, "IncrementalAlterConfigs", 0, 1);
