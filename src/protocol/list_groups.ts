// ListGroups (key 16), versions 0-2 (ListGroupsRequest.json / ListGroupsResponse.json). v3 is
// flexible, v4 adds the states filter (and group_state in the response). kafkajs sends v2;
// librdkafka's admin API goes up to 4 and its legacy rd_kafka_list_groups uses v0.
//
// ListGroups Request (Version: 0..2) =>   (empty body)
//
// ListGroups Response (Version: 0) => error_code [groups]
//   error_code => INT16
//   groups => group_id protocol_type
//     group_id => STRING
//     protocol_type => STRING
// ListGroups Response (Version: 1..2) => throttle_time_ms error_code [groups]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** The request has no fields at versions 0-2. */
export type ListGroupsRequest = Record<string, never>;

export interface ListedGroup {
  groupId: string;
  protocolType: string;
}

export interface ListGroupsResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
  groups: ListedGroup[];
}

function readGroup(r: Reader): ListedGroup {
  return { groupId: r.string(), protocolType: r.string() };
}

function writeGroup(w: Writer, g: ListedGroup): void {
  w.string(g.groupId).string(g.protocolType);
}

export const listGroupsCodec: ApiCodec<ListGroupsRequest, ListGroupsResponse> = {
  key: ApiKey.ListGroups,
  name: "ListGroups",
  minVersion: 0,
  maxVersion: 2,

  decodeRequest() {
    return {};
  },

  encodeRequest() {},

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    const errorCode = r.int16();
    return { throttleTimeMs, errorCode, groups: r.array(readGroup) };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.int16(res.errorCode).array(res.groups, writeGroup);
  },
};
