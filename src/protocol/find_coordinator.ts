// FindCoordinator (key 10), versions 0-2 (FindCoordinatorRequest.json / FindCoordinatorResponse.json).
// Advertised from v0 because librdkafka checks for FindCoordinator v0 before it turns on LZ4
// and consumer groups (kafka-protocol.md, "trap").
//
// FindCoordinator Request (Version: 0) => key
//   key => STRING
// FindCoordinator Request (Version: 1..2) => key key_type
//   key_type => INT8          (0 group, 1 transaction)
//
// FindCoordinator Response (Version: 0) => error_code node_id host port
//   error_code => INT16
//   node_id => INT32
//   host => STRING
//   port => INT32
// FindCoordinator Response (Version: 1..2) => throttle_time_ms error_code error_message node_id host port
//   throttle_time_ms => INT32
//   error_message => NULLABLE_STRING

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";

export interface FindCoordinatorRequest {
  key: string;
  /** v1+; 0 (group) below. */
  keyType: number;
}

export interface FindCoordinatorResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
  /** v1+; null below. */
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export const findCoordinatorCodec: ApiCodec<FindCoordinatorRequest, FindCoordinatorResponse> = {
  key: ApiKey.FindCoordinator,
  name: "FindCoordinator",
  minVersion: 0,
  maxVersion: 2,

  decodeRequest(r, version) {
    const key = r.string();
    const keyType = version >= 1 ? r.int8() : 0; // v1 added key_type
    return { key, keyType };
  },

  encodeRequest(w, version, req) {
    w.string(req.key);
    if (version >= 1) w.int8(req.keyType); // v1 added key_type
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
    const errorCode = r.int16();
    const errorMessage = version >= 1 ? r.nullableString() : null; // v1 added error_message
    return { throttleTimeMs, errorCode, errorMessage, nodeId: r.int32(), host: r.string(), port: r.int32() };
  },

  encodeResponse(w, version, res) {
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    w.int16(res.errorCode);
    if (version >= 1) w.nullableString(res.errorMessage); // v1 added error_message
    w.int32(res.nodeId).string(res.host).int32(res.port);
  },
};
