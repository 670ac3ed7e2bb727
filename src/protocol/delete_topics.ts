// DeleteTopics (key 20), versions 0-1 (DeleteTopicsRequest.json / DeleteTopicsResponse.json).
//
// DeleteTopics Request (Version: 0..1) => [topic_names] timeout_ms
//   topic_names => STRING
//   timeout_ms => INT32
//
// DeleteTopics Response (Version: 0) => [responses]
//   responses => name error_code
//     name => STRING
//     error_code => INT16
// DeleteTopics Response (Version: 1) => throttle_time_ms [responses]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface DeleteTopicsRequest {
  topicNames: string[];
  timeoutMs: number;
}

export interface DeletableTopicResult {
  name: string;
  errorCode: number;
}

export interface DeleteTopicsResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  responses: DeletableTopicResult[];
}

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};

function readResult(r: Reader): DeletableTopicResult {
  return { name: r.string(), errorCode: r.int16() };
}

function writeResult(w: Writer, t: DeletableTopicResult): void {
  w.string(t.name).int16(t.errorCode);
}

export const deleteTopicsCodec: ApiCodec<DeleteTopicsRequest, DeleteTopicsResponse> = {
  key: ApiKey.DeleteTopics,
  name: "DeleteTopics",
  minVersion: 0,
  maxVersion: 1,

  decodeRequest(r) {
    return { topicNames: r.array(readString), timeoutMs: r.int32() };
  },

  encodeRequest(w, _version, req) {
    w.array(req.topicNames, writeString).int32(req.timeoutMs);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    return { throttleTimeMs, responses: r.array(readResult) };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.array(res.responses, writeResult);
  },
};
