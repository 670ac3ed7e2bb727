// SyncGroup (key 14), versions 0-3 (SyncGroupRequest.json / SyncGroupResponse.json). v4 is
// flexible. kafkajs and librdkafka both send v3. The assignments (the consumer protocol's
// Assignment, consumer_protocol.ts) are opaque to the broker.
//
// SyncGroup Request (Version: 0..2) => group_id generation_id member_id [assignments]
//   group_id => STRING
//   generation_id => INT32
//   member_id => STRING
//   assignments => member_id assignment  (the leader's, one per member; [] from followers)
//     member_id => STRING
//     assignment => BYTES
// SyncGroup Request (Version: 3) => group_id generation_id member_id group_instance_id [assignments]
//   group_instance_id => NULLABLE_STRING
//
// SyncGroup Response (Version: 0) => error_code assignment
//   error_code => INT16
//   assignment => BYTES                  (this member's; empty on error)
// SyncGroup Response (Version: 1..3) => throttle_time_ms error_code assignment
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Buffer;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v3+; null below. */
  groupInstanceId: string | null;
  assignments: SyncGroupAssignment[];
}

export interface SyncGroupResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
  assignment: Buffer;
}

function readAssignment(r: Reader): SyncGroupAssignment {
  return { memberId: r.string(), assignment: r.bytes() };
}

function writeAssignment(w: Writer, a: SyncGroupAssignment): void {
  w.string(a.memberId).bytes(a.assignment);
}

export const syncGroupCodec: ApiCodec<SyncGroupRequest, SyncGroupResponse> = {
  key: ApiKey.SyncGroup,
  name: "SyncGroup",
  minVersion: 0,
  maxVersion: 3,

  decodeRequest(r, version) {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null; // v3 added group_instance_id
    const assignments = r.array(readAssignment);
    return { groupId, generationId, memberId, groupInstanceId, assignments };
  },

  encodeRequest(w, version, req) {
    w.string(req.groupId).int32(req.generationId).string(req.memberId);
    if (version >= 3) w.nullableString(req.groupInstanceId); // v3 added group_instance_id
    w.array(req.assignments, writeAssignment);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    return { throttleTimeMs, errorCode: r.int16(), assignment: r.bytes() };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.int16(res.errorCode).bytes(res.assignment);
  },
};
