// DeleteGroups (key 42), versions 0-1 (DeleteGroupsRequest.json / DeleteGroupsResponse.json).
// v1 only changes throttling (responses are sent before throttling, KIP-219); v2 is flexible.
// kafkajs sends v1.
//
// DeleteGroups Request (Version: 0..1) => [groups_names]
//   groups_names => STRING
//
// DeleteGroups Response (Version: 0..1) => throttle_time_ms [results]
//   throttle_time_ms => INT32            (present from v0)
//   results => group_id error_code
//     group_id => STRING
//     error_code => INT16                (68 NON_EMPTY_GROUP, 69 GROUP_ID_NOT_FOUND)

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** Kafka's api key of DeleteGroups (not yet in api_keys.ts's ApiKey). */
export const DELETE_GROUPS_API_KEY = ApiKey.DeleteGroups;

export interface DeleteGroupsRequest {
  groupsNames: string[];
}

export interface DeletableGroupResult {
  groupId: string;
  errorCode: number;
}

export interface DeleteGroupsResponse {
  throttleTimeMs: number;
  results: DeletableGroupResult[];
}

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};

function readResult(r: Reader): DeletableGroupResult {
  return { groupId: r.string(), errorCode: r.int16() };
}

function writeResult(w: Writer, g: DeletableGroupResult): void {
  w.string(g.groupId).int16(g.errorCode);
}

export const deleteGroupsCodec: ApiCodec<DeleteGroupsRequest, DeleteGroupsResponse> = {
  key: DELETE_GROUPS_API_KEY,
  name: "DeleteGroups",
  minVersion: 0,
  maxVersion: 1,

  decodeRequest(r) {
    return { groupsNames: r.array(readString) };
  },

  encodeRequest(w, _version, req) {
    w.array(req.groupsNames, writeString);
  },

  decodeResponse(r) {
    return { throttleTimeMs: r.int32(), results: r.array(readResult) };
  },

  encodeResponse(w, _version, res) {
    w.int32(res.throttleTimeMs).array(res.results, writeResult);
  },
};
