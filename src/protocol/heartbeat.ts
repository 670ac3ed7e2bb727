// Heartbeat (key 12), v0-4, from Kafka's spec (spec_codec.ts). v1 adds throttle_time_ms, v3
// group_instance_id (static membership), v4 is flexible. kafkajs and librdkafka send v3,
// @platformatic/kafka v4. REBALANCE_IN_PROGRESS (27) tells the member to rejoin.

import { ApiKey } from "./api_keys.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { HeartbeatRequest, HeartbeatResponse };

export const heartbeatCodec = specCodec<HeartbeatRequest, HeartbeatResponse>(
  ApiKey.Heartbeat,
  "Heartbeat",
  0,
  4,
);
