// ListOffsets (key 2), v0-9, from Kafka's spec (spec_codec.ts). A partition's timestamp asks
// for: -1 the log end, -2 the log start, -3 the record with the largest timestamp (v7+,
// KIP-734), -4 the local log start (v8+; no tiered storage: the log start), -5 the last tiered
// offset (v9+; none: -1); any other value the first record at or after that time.
//   v0  max_num_offsets, answered in old_style_offsets (Milena gives the one offset, as v1+ do)
//   v2  isolation_level (no transactions yet: read committed is read uncommitted), throttle
//   v4  current_leader_epoch (checked as Kafka does: an epoch above the leader's is
//       UNKNOWN_LEADER_EPOCH, below FENCED_LEADER_EPOCH; the epoch is 0 until clustering),
//       leader_epoch in the answer
//   v6  flexible
// (v10, KIP-1075's timeout, is unstable in the specs vendored, so not served.)
// kafkajs sends v3, librdkafka v1-7, Burrow v0, @platformatic/kafka v5-9.

import { ApiKey } from "./api_keys.ts";
import type {
  ListOffsetsRequest,
  ListOffsetsResponse,
  ListOffsetsResponsePartitionResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { ListOffsetsRequest, ListOffsetsResponse };
export type ListOffsetsPartitionResponse = ListOffsetsResponsePartitionResponse;

export const ListOffsetsTimestamp = {
  LATEST: -1,
  EARLIEST: -2,
  MAX_TIMESTAMP: -3,
  EARLIEST_LOCAL: -4,
  LATEST_TIERED: -5,
} as const;

export const listOffsetsCodec = specCodec<ListOffsetsRequest, ListOffsetsResponse>(
  ApiKey.ListOffsets,
  "ListOffsets",
  0,
  9,
);
