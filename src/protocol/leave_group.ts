// LeaveGroup (key 13), versions 0-2 (LeaveGroupRequest.json / LeaveGroupResponse.json).
// v3 replaces member_id with a members array (batch leave, KIP-345) and is not served: kafkajs
// (0-3) then sends v2, which it reads the same way (it checks only error_code); librdkafka
// sends v1 (its maximum). v4 is flexible.
//
// LeaveGroup Request (Version: 0..2) => group_id member_id
//   group_id => STRING
//   member_id => STRING
//
// LeaveGroup Response (Version: 0) => error_code
//   error_code => INT16
// LeaveGroup Response (Version: 1..2) => throttle_time_ms error_code
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";

export interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
}

export interface LeaveGroupResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
}

export const leaveGroupCodec: ApiCodec<LeaveGroupRequest, LeaveGroupResponse> = {
  key: ApiKey.LeaveGroup,
  name: "LeaveGroup",
  minVersion: 0,
  maxVersion: 2,

  decodeRequest(r) {
    return { groupId: r.string(), memberId: r.string() };
  },

  encodeRequest(w, _version, req) {
    w.string(req.groupId).string(req.memberId);
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
