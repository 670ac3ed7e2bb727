// AlterConfigs (key 33), versions 0-1 (AlterConfigsRequest.json / AlterConfigsResponse.json).
// Version 1 has the same bytes as version 0 (on a quota violation the broker answers before
// throttling, KIP-219); version 2 is the first flexible version, not served.
//
// AlterConfigs Request (Version: 0..1) => [resources] validate_only
//   resources => resource_type resource_name [configs]
//     resource_type => INT8             (2 topic, 4 broker)
//     resource_name => STRING
//     configs => name value
//       name => STRING
//       value => NULLABLE_STRING
//   validate_only => BOOLEAN
//
// AlterConfigs Response (Version: 0..1) => throttle_time_ms [responses]
//   throttle_time_ms => INT32
//   responses => error_code error_message resource_type resource_name
//     error_code => INT16
//     error_message => NULLABLE_STRING
//     resource_type => INT8
//     resource_name => STRING

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface AlterableConfig {
  name: string;
  /** null: kafkajs and the Java client may send it; Kafka treats it as "no value". */
  value: string | null;
}

export interface AlterConfigsResource {
  resourceType: number;
  resourceName: string;
  configs: AlterableConfig[];
}

export interface AlterConfigsRequest {
  resources: AlterConfigsResource[];
  validateOnly: boolean;
}

export interface AlterConfigsResourceResponse {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

export interface AlterConfigsResponse {
  throttleTimeMs: number;
  responses: AlterConfigsResourceResponse[];
}

function readConfig(r: Reader): AlterableConfig {
  return { name: r.string(), value: r.nullableString() };
}

function writeConfig(w: Writer, c: AlterableConfig): void {
  w.string(c.name).nullableString(c.value);
}

function readResource(r: Reader): AlterConfigsResource {
  return { resourceType: r.int8(), resourceName: r.string(), configs: r.array(readConfig) };
}

function writeResource(w: Writer, res: AlterConfigsResource): void {
  w.int8(res.resourceType).string(res.resourceName).array(res.configs, writeConfig);
}

export function readAlterConfigsResult(r: Reader): AlterConfigsResourceResponse {
  const errorCode = r.int16();
  const errorMessage = r.nullableString();
  const resourceType = r.int8();
  const resourceName = r.string();
  return { errorCode, errorMessage, resourceType, resourceName };
}

export function writeAlterConfigsResult(w: Writer, res: AlterConfigsResourceResponse): void {
  w.int16(res.errorCode).nullableString(res.errorMessage).int8(res.resourceType).string(res.resourceName);
}

export const alterConfigsCodec: ApiCodec<AlterConfigsRequest, AlterConfigsResponse> = {
  key: ApiKey.AlterConfigs,
  name: "AlterConfigs",
  minVersion: 0,
  maxVersion: 1,

  decodeRequest(r) {
    return { resources: r.array(readResource), validateOnly: r.bool() };
  },

  encodeRequest(w, _version, req) {
    w.array(req.resources, writeResource).bool(req.validateOnly);
  },

  decodeResponse(r) {
    return { throttleTimeMs: r.int32(), responses: r.array(readAlterConfigsResult) };
  },

  encodeResponse(w, _version, res) {
    w.int32(res.throttleTimeMs).array(res.responses, writeAlterConfigsResult);
  },
};
