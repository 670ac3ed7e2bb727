// LeaveGroup (key 13), v0-5, from Kafka's spec (spec_codec.ts). v0-2 name one member
// (member_id); v3 replaces it with a members array (batch leave by member id or group instance
// id, KIP-345) answered per member; v4 is flexible; v5 adds a reason per member (logged).
// kafkajs sends v2 or v3, librdkafka v1, @platformatic/kafka v4-5.

import { ApiKey } from "./api_keys.ts";
import type {
  LeaveGroupRequest,
  LeaveGroupRequestMemberIdentity,
  LeaveGroupResponse,
  LeaveGroupResponseMemberResponse,
} from "./generated/types.ts";
import type { Init } from "./schema.ts";
import { specCodec } from "./spec_codec.ts";

export type {
  LeaveGroupRequest,
  LeaveGroupRequestMemberIdentity,
  LeaveGroupResponse,
  LeaveGroupResponseMemberResponse,
};

export const leaveGroupCodec = specCodec<LeaveGroupRequest, LeaveGroupResponse>(
  ApiKey.LeaveGroup,
  "LeaveGroup",
  0,
  5,
);

/** One member leaving, in both layouts (v3+ name members): the encoder writes the version's. */
export function leaveGroupRequest(groupId: string, memberId: string): Init<LeaveGroupRequest> {
  return { groupId, memberId, members: [{ memberId, groupInstanceId: null }] };
}

/** That member's error, whichever layout the answer came in. */
export function leaveGroupError(res: LeaveGroupResponse): number {
  return res.errorCode !== 0 ? res.errorCode : (res.members[0]?.errorCode ?? 0);
}
