// Heartbeat (key 12), versions 0-3 (HeartbeatRequest.json / HeartbeatResponse.json). v4 is
// flexible. kafkajs and librdkafka both send v3.
//
// Heartbeat Request (Version: 0..2) => group_id generation_id member_id
//   group_id => STRING
//   generation_id => INT32
//   member_id => STRING
// Heartbeat Request (Version: 3) => group_id generation_id member_id group_instance_id
//   group_instance_id => NULLABLE_STRING
//
// Heartbeat Response (Version: 0) => error_code
//   error_code => INT16                  (27 REBALANCE_IN_PROGRESS tells the member to rejoin)
// Heartbeat Response (Version: 1..3) => throttle_time_ms error_code
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v3+; null below. */
  groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
}

export const heartbeatCodec: ApiCodec<HeartbeatRequest, HeartbeatResponse> = {
  key: ApiKey.Heartbeat,
  name: "Heartbeat",
  minVersion: 0,
  maxVersion: 3,

  decodeRequest(r, version) {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null; // v3 added group_instance_id
    return { groupId, generationId, memberId, groupInstanceId };
  },

  encodeRequest(w, version, req) {
    w.string(req.groupId).int32(req.generationId).string(req.memberId);
    if (version >= 3) w.nullableString(req.groupInstanceId); // v3 added group_instance_id
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    return { throttleTimeMs, errorCode: r.int16() };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.int16(res.errorCode);
  },
};
