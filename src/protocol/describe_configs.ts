// DescribeConfigs (key 32), v0-4, from Kafka's spec (spec_codec.ts). Resources: 2 topic,
// 4 broker; configuration_keys null asks for every key.
//   v0  is_default per config (v1+ give config_source instead)
//   v1  include_synonyms (the same key at each level, most specific first)
//   v3  include_documentation, and config_type and documentation per config (KIP-569)
//   v4  flexible
// kafkajs sends v2, librdkafka up to 4, @platformatic/kafka v2-4.

import { ApiKey } from "./api_keys.ts";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeConfigsResponseResourceResult,
  DescribeConfigsResponseResult,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DescribeConfigsRequest, DescribeConfigsResponse };
export type DescribeConfigsResult = DescribeConfigsResponseResult;
export type DescribeConfigsResourceResult = DescribeConfigsResponseResourceResult;

export const describeConfigsCodec = specCodec<DescribeConfigsRequest, DescribeConfigsResponse>(
  ApiKey.DescribeConfigs,
  "DescribeConfigs",
  0,
  4,
);
