// FindCoordinator (key 10), v0-6, from Kafka's spec (spec_codec.ts). Advertised from v0
// because librdkafka checks for FindCoordinator v0 before it turns on LZ4 and consumer groups
// (kafka-protocol.md, "trap").
//   v1  key_type (0 group, 1 transaction), throttle_time_ms, error_message
//   v3  flexible
//   v4  many keys at once (coordinator_keys), answered per key in coordinators (KIP-699)
//   v5, v6  transaction and share-group coordinators (KIP-890, KIP-932): same layout
// kafkajs and librdkafka send v2 or v3, @platformatic/kafka v4-6.

import { ApiKey } from "./api_keys.ts";
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "./generated/types.ts";
import type { Init } from "./schema.ts";
import { specCodec } from "./spec_codec.ts";

export type { FindCoordinatorRequest, FindCoordinatorResponse };

export const findCoordinatorCodec = specCodec<FindCoordinatorRequest, FindCoordinatorResponse>(
  ApiKey.FindCoordinator,
  "FindCoordinator",
  0,
  6,
);

/** One key's request, in both layouts: the encoder writes the one of the version sent. */
export function findCoordinatorRequest(key: string, keyType = 0): Init<FindCoordinatorRequest> {
  return { key, keyType, coordinatorKeys: [key] };
}

/** The answer for that one key, whichever layout it came in (v4+: coordinators[0]). */
export function coordinatorOf(res: FindCoordinatorResponse): {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
} {
  return res.coordinators.length > 0 ? res.coordinators[0] : res;
}
