// DeleteGroups (key 42), v0-2, from Kafka's spec (spec_codec.ts). v1 only changes throttling
// (KIP-219), v2 is flexible. Per group: 68 NON_EMPTY_GROUP, 69 GROUP_ID_NOT_FOUND.
// kafkajs sends v1, @platformatic/kafka v2.

import { ApiKey } from "./api_keys.ts";
import type { DeleteGroupsRequest, DeleteGroupsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DeleteGroupsRequest, DeleteGroupsResponse };

export const deleteGroupsCodec = specCodec<DeleteGroupsRequest, DeleteGroupsResponse>(
  ApiKey.DeleteGroups,
  "DeleteGroups",
  0,
  2,
);
