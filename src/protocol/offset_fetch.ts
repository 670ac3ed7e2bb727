// OffsetFetch (key 9), v0-9, from Kafka's spec (spec_codec.ts).
//   v0  v1's layout (Kafka read v0 from ZooKeeper, Milena from the coordinator, where
//       OffsetCommit v0 writes)
//   v2  topics may be null (every partition the group committed); a group-level error_code
//   v3  throttle_time_ms
//   v5  committed_leader_epoch per partition
//   v6  flexible
//   v7  require_stable (no transactions yet: every offset is stable)
//   v8  many groups in one request (groups, each with its topics), answered per group
//   v9  member_id and member_epoch per group (KIP-848; Milena's groups are classic: not checked)
// kafkajs and librdkafka send v4, @platformatic/kafka v8-9.

import { ApiKey } from "./api_keys.ts";
import type { OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponseTopic } from "./generated/types.ts";
import type { Init } from "./schema.ts";
import { specCodec } from "./spec_codec.ts";

export type { OffsetFetchRequest, OffsetFetchResponse };
export type OffsetFetchTopicResponse = OffsetFetchResponseTopic;

export const offsetFetchCodec = specCodec<OffsetFetchRequest, OffsetFetchResponse>(
  ApiKey.OffsetFetch,
  "OffsetFetch",
  0,
  9,
);

type OffsetFetchTopics = { name: string; partitionIndexes: number[] }[] | null;

/** One group's request, in both layouts (v8+ ask in groups): the encoder writes the version's. */
export function offsetFetchRequest(groupId: string, topics: OffsetFetchTopics): Init<OffsetFetchRequest> {
  return { groupId, topics, groups: [{ groupId, topics }] };
}

/** That group's answer, whichever layout it came in (v8+: groups[0]). */
export function offsetFetchGroup(res: OffsetFetchResponse): {
  errorCode: number;
  topics: OffsetFetchResponse["topics"];
} {
  const g = res.groups[0];
  return g !== undefined ? { errorCode: g.errorCode, topics: g.topics } : res;
}
