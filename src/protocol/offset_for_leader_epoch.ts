// OffsetForLeaderEpoch (api key 23), v0-v4, from Kafka's spec (spec_codec.ts): the end offset of
// a leader epoch, which consumers use to detect log truncation after a leader change (KIP-320).
// v4+ flexible.

import { ApiKey } from "./api_keys.ts";
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochRequestOffsetForLeaderPartition,
  OffsetForLeaderEpochResponse,
  OffsetForLeaderEpochResponseEpochEndOffset,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse };
export type OffsetForLeaderPartition = OffsetForLeaderEpochRequestOffsetForLeaderPartition;
export type EpochEndOffset = OffsetForLeaderEpochResponseEpochEndOffset;

export const offsetForLeaderEpochCodec = specCodec<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(
  ApiKey.OffsetForLeaderEpoch,
  "OffsetForLeaderEpoch",
  0,
  4,
);
