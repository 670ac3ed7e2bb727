// OffsetDelete (key 47), v0, from Kafka's spec (spec_codec.ts): remove a group's committed
// offsets of some partitions (kafka-consumer-groups.sh --delete-offsets, KIP-496). Not flexible.

import { ApiKey } from "./api_keys.ts";
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { OffsetDeleteRequest, OffsetDeleteResponse };

export const offsetDeleteCodec = specCodec<OffsetDeleteRequest, OffsetDeleteResponse>(
  ApiKey.OffsetDelete,
  "OffsetDelete",
  0,
  0,
);
