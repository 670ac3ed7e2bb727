// DescribeGroups (key 15), v0-5, from Kafka's spec (spec_codec.ts). v1 adds throttle_time_ms,
// v3 include_authorized_operations (authorized_operations answered -2^31, "not requested", as
// Kafka does when asked not to; without an authorizer Kafka lists every group operation when
// asked), v4 group_instance_id per member, v5 is flexible. kafkajs sends v2; librdkafka's
// admin API up to 4, its legacy rd_kafka_list_groups v0; @platformatic/kafka v5.

import { ApiKey } from "./api_keys.ts";
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeGroupsResponseDescribedGroup,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DescribeGroupsRequest, DescribeGroupsResponse };
export type DescribedGroup = DescribeGroupsResponseDescribedGroup;

export const describeGroupsCodec = specCodec<DescribeGroupsRequest, DescribeGroupsResponse>(
  ApiKey.DescribeGroups,
  "DescribeGroups",
  0,
  5,
);
