// ListGroups (key 16), v0-5, from Kafka's spec (spec_codec.ts). v1 adds throttle_time_ms, v3 is
// flexible, v4 a states filter (and group_state per group), v5 a types filter (and group_type:
// "classic" for every Milena group). kafkajs sends v2; librdkafka's admin API up to 4;
// @platformatic/kafka v4-5.

import { ApiKey } from "./api_keys.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { ListGroupsRequest, ListGroupsResponse };

export const listGroupsCodec = specCodec<ListGroupsRequest, ListGroupsResponse>(
  ApiKey.ListGroups,
  "ListGroups",
  0,
  5,
);
