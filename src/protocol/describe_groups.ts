// DescribeGroups (key 15), versions 0-2 (DescribeGroupsRequest.json / DescribeGroupsResponse.json).
// v3 adds include_authorized_operations (and authorized_operations in the response), v4
// group_instance_id per member, v5 is flexible. kafkajs sends v2; librdkafka's admin API goes
// up to 4 and its legacy rd_kafka_list_groups uses v0.
//
// DescribeGroups Request (Version: 0..2) => [groups]
//   groups => STRING
//
// DescribeGroups Response (Version: 0) => [groups]
//   groups => error_code group_id group_state protocol_type protocol_data [members]
//     error_code => INT16
//     group_id => STRING
//     group_state => STRING              ("Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead")
//     protocol_type => STRING
//     protocol_data => STRING            (the chosen protocol, e.g. "range")
//     members => member_id client_id client_host member_metadata member_assignment
//       member_id => STRING
//       client_id => STRING
//       client_host => STRING
//       member_metadata => BYTES
//       member_assignment => BYTES
// DescribeGroups Response (Version: 1..2) => throttle_time_ms [groups]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface DescribeGroupsRequest {
  groups: string[];
}

export interface DescribedGroupMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribedGroupMember[];
}

export interface DescribeGroupsResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  groups: DescribedGroup[];
}

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};

function readMember(r: Reader): DescribedGroupMember {
  return {
    memberId: r.string(),
    clientId: r.string(),
    clientHost: r.string(),
    memberMetadata: r.bytes(),
    memberAssignment: r.bytes(),
  };
}

function writeMember(w: Writer, m: DescribedGroupMember): void {
  w.string(m.memberId).string(m.clientId).string(m.clientHost);
  w.bytes(m.memberMetadata).bytes(m.memberAssignment);
}

function readGroup(r: Reader): DescribedGroup {
  return {
    errorCode: r.int16(),
    groupId: r.string(),
    groupState: r.string(),
    protocolType: r.string(),
    protocolData: r.string(),
    members: r.array(readMember),
  };
}

function writeGroup(w: Writer, g: DescribedGroup): void {
  w.int16(g.errorCode).string(g.groupId).string(g.groupState).string(g.protocolType);
  w.string(g.protocolData).array(g.members, writeMember);
}

export const describeGroupsCodec: ApiCodec<DescribeGroupsRequest, DescribeGroupsResponse> = {
  key: ApiKey.DescribeGroups,
  name: "DescribeGroups",
  minVersion: 0,
  maxVersion: 2,

  decodeRequest(r) {
    return { groups: r.array(readString) };
  },

  encodeRequest(w, _version, req) {
    w.array(req.groups, writeString);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    return { throttleTimeMs, groups: r.array(readGroup) };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.array(res.groups, writeGroup);
  },
};
