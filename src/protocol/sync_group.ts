// SyncGroup (key 14), v0-5, from Kafka's spec (spec_codec.ts). The leader sends every member's
// assignment (the consumer protocol's Assignment, consumer_protocol.ts, opaque to the broker);
// each member gets its own back. v1 adds throttle_time_ms, v3 group_instance_id, v4 is flexible,
// v5 adds protocol_type and protocol_name to both sides (checked against the group's, answered
// INCONSISTENT_GROUP_PROTOCOL when they differ, echoed in the response).

import { ApiKey } from "./api_keys.ts";
import type { SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { SyncGroupRequest, SyncGroupResponse };
export type SyncGroupAssignment = SyncGroupRequestAssignment;

export const syncGroupCodec = specCodec<SyncGroupRequest, SyncGroupResponse>(
  ApiKey.SyncGroup,
  "SyncGroup",
  0,
  5,
);
