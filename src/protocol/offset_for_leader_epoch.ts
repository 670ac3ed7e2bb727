// OffsetForLeaderEpoch (api key 23), v0-v4, from Kafka's spec (spec_codec.ts): the end offset of
// a leader epoch, which consumers use to detect log truncation after a leader change (KIP-320).
// v4+ flexible.

import { ApiKey } from "./api_keys.ts";
import { specCodec } from "./spec_codec.ts";

export interface OffsetForLeaderPartition {
  [field: string]: unknown;
  partition: number;
  /** v2+; -1 below. */
  currentLeaderEpoch: number;
  leaderEpoch: number;
}

export interface OffsetForLeaderEpochRequest {
  [field: string]: unknown;
  /** v3+; -2 (a consumer) below. */
  replicaId: number;
  topics: { [field: string]: unknown; topic: string; partitions: OffsetForLeaderPartition[] }[];
}

export interface EpochEndOffset {
  [field: string]: unknown;
  errorCode: number;
  partition: number;
  leaderEpoch: number;
  endOffset: number;
}

export interface OffsetForLeaderEpochResponse {
  [field: string]: unknown;
  throttleTimeMs: number;
  topics: { [field: string]: unknown; topic: string; partitions: EpochEndOffset[] }[];
}

export const offsetForLeaderEpochCodec = specCodec<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(
  ApiKey.OffsetForLeaderEpoch,
  "OffsetForLeaderEpoch",
  0,
  4,
);
