// IncrementalAlterConfigs (key 44), version 0 (IncrementalAlterConfigsRequest.json /
// IncrementalAlterConfigsResponse.json, KIP-339). Version 1 is the first flexible version, not
// served.
//
// IncrementalAlterConfigs Request (Version: 0) => [resources] validate_only
//   resources => resource_type resource_name [configs]
//     resource_type => INT8             (2 topic, 4 broker)
//     resource_name => STRING
//     configs => name config_operation value
//       name => STRING
//       config_operation => INT8        (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)
//       value => NULLABLE_STRING
//   validate_only => BOOLEAN
//
// IncrementalAlterConfigs Response (Version: 0) => throttle_time_ms [responses]
//   throttle_time_ms => INT32
//   responses => error_code error_message resource_type resource_name
//     error_code => INT16
//     error_message => NULLABLE_STRING
//     resource_type => INT8
//     resource_name => STRING

import {
  type AlterConfigsResourceResponse,
  readAlterConfigsResult,
  writeAlterConfigsResult,
} from "./alter_configs.ts";
import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** config_operation (org.apache.kafka.clients.admin.AlterConfigOp.OpType). */
export const ConfigOperation = {
  Set: 0,
  Delete: 1,
  /** For list-valued configs: add the value to the list. */
  Append: 2,
  /** For list-valued configs: remove the value from the list. */
  Subtract: 3,
} as const;

export interface IncrementalAlterableConfig {
  name: string;
  /** A ConfigOperation; decoded as sent (an unknown one is for the broker to reject). */
  configOperation: number;
  /** null with DELETE. */
  value: string | null;
}

export interface IncrementalAlterConfigsResource {
  resourceType: number;
  resourceName: string;
  configs: IncrementalAlterableConfig[];
}

export interface IncrementalAlterConfigsRequest {
  resources: IncrementalAlterConfigsResource[];
  validateOnly: boolean;
}

/** The response is AlterConfigs' (the same fields in both of Kafka's JSON specs). */
export type IncrementalAlterConfigsResourceResponse = AlterConfigsResourceResponse;

export interface IncrementalAlterConfigsResponse {
  throttleTimeMs: number;
  responses: IncrementalAlterConfigsResourceResponse[];
}

function readConfig(r: Reader): IncrementalAlterableConfig {
  return { name: r.string(), configOperation: r.int8(), value: r.nullableString() };
}

function writeConfig(w: Writer, c: IncrementalAlterableConfig): void {
  w.string(c.name).int8(c.configOperation).nullableString(c.value);
}

function readResource(r: Reader): IncrementalAlterConfigsResource {
  return { resourceType: r.int8(), resourceName: r.string(), configs: r.array(readConfig) };
}

function writeResource(w: Writer, res: IncrementalAlterConfigsResource): void {
  w.int8(res.resourceType).string(res.resourceName).array(res.configs, writeConfig);
}

export const incrementalAlterConfigsCodec: ApiCodec<
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse
> = {
  key: ApiKey.IncrementalAlterConfigs,
  name: "IncrementalAlterConfigs",
  minVersion: 0,
  maxVersion: 0,

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
