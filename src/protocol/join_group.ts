// JoinGroup (key 11), v0-9, from Kafka's spec (spec_codec.ts). The protocols' metadata (the
// consumer protocol's Subscription, consumer_protocol.ts) is opaque to the broker.
//   v1  rebalance_timeout_ms (below: -1, the coordinator uses the session timeout)
//   v2  throttle_time_ms
//   v4  an empty member_id gets MEMBER_ID_REQUIRED and an id to rejoin with (KIP-394)
//   v5  group_instance_id (static membership, KIP-345), also per member in the response
//   v6  flexible
//   v7  protocol_type in the response (nullable)
//   v8  reason (logged)
//   v9  skip_assignment in the response (false: the leader assigns, as always without KIP-814)
// kafkajs and librdkafka send v5, @platformatic/kafka v6-9.

import { ApiKey } from "./api_keys.ts";
import type {
  JoinGroupRequest,
  JoinGroupRequestProtocol,
  JoinGroupResponse,
  JoinGroupResponseMember,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { JoinGroupRequest, JoinGroupResponse };
export type JoinGroupProtocol = JoinGroupRequestProtocol;
export type JoinGroupMember = JoinGroupResponseMember;

export const joinGroupCodec = specCodec<JoinGroupRequest, JoinGroupResponse>(
  ApiKey.JoinGroup,
  "JoinGroup",
  0,
  9,
);
