// DescribeConfigs (key 32), versions 0-2 (DescribeConfigsRequest.json / DescribeConfigsResponse.json).
//
// DescribeConfigs Request (Version: 0) => [resources]
//   resources => resource_type resource_name [configuration_keys]
//     resource_type => INT8             (2 topic, 4 broker)
//     resource_name => STRING
//     configuration_keys => STRING      (NULLABLE array: null = all keys)
// DescribeConfigs Request (Version: 1..2) => [resources] include_synonyms
//   include_synonyms => BOOLEAN
//
// DescribeConfigs Response (Version: 0) => throttle_time_ms [results]
//   throttle_time_ms => INT32
//   results => error_code error_message resource_type resource_name [configs]
//     error_code => INT16
//     error_message => NULLABLE_STRING
//     resource_type => INT8
//     resource_name => STRING
//     configs => name value read_only is_default is_sensitive
//       name => STRING
//       value => NULLABLE_STRING
//       read_only => BOOLEAN
//       is_default => BOOLEAN           (v0 only)
//       is_sensitive => BOOLEAN
// DescribeConfigs Response (Version: 1..2) => throttle_time_ms [results]
//     configs => name value read_only config_source is_sensitive [synonyms]
//       config_source => INT8
//       synonyms => name value source
//         name => STRING
//         value => NULLABLE_STRING
//         source => INT8

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface DescribeConfigsResource {
  resourceType: number;
  resourceName: string;
  /** null = every key. */
  configurationKeys: string[] | null;
}

export interface DescribeConfigsRequest {
  resources: DescribeConfigsResource[];
  /** v1+; false below. */
  includeSynonyms: boolean;
}

export interface DescribeConfigsSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface DescribeConfigsResourceResult {
  name: string;
  value: string | null;
  readOnly: boolean;
  /** Written in v0 only; false when decoding v1+. */
  isDefault: boolean;
  /** v1+; -1 when decoding v0. */
  configSource: number;
  isSensitive: boolean;
  /** v1+; [] below. */
  synonyms: DescribeConfigsSynonym[];
}

export interface DescribeConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: DescribeConfigsResourceResult[];
}

export interface DescribeConfigsResponse {
  throttleTimeMs: number;
  results: DescribeConfigsResult[];
}

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};

function readResource(r: Reader): DescribeConfigsResource {
  return { resourceType: r.int8(), resourceName: r.string(), configurationKeys: r.nullableArray(readString) };
}

function writeResource(w: Writer, res: DescribeConfigsResource): void {
  w.int8(res.resourceType).string(res.resourceName).array(res.configurationKeys, writeString);
}

function readSynonym(r: Reader): DescribeConfigsSynonym {
  return { name: r.string(), value: r.nullableString(), source: r.int8() };
}

function writeSynonym(w: Writer, s: DescribeConfigsSynonym): void {
  w.string(s.name).nullableString(s.value).int8(s.source);
}

function readConfig(r: Reader, version: number): DescribeConfigsResourceResult {
  const name = r.string();
  const value = r.nullableString();
  const readOnly = r.bool();
  const isDefault = version === 0 ? r.bool() : false; // v1 removed is_default
  const configSource = version >= 1 ? r.int8() : -1; // v1 added config_source
  const isSensitive = r.bool();
  const synonyms = version >= 1 ? r.array(readSynonym) : []; // v1 added synonyms
  return { name, value, readOnly, isDefault, configSource, isSensitive, synonyms };
}

function writeConfig(w: Writer, version: number, c: DescribeConfigsResourceResult): void {
  w.string(c.name).nullableString(c.value).bool(c.readOnly);
  if (version === 0) w.bool(c.isDefault); // v1 removed is_default
  if (version >= 1) w.int8(c.configSource); // v1 added config_source
  w.bool(c.isSensitive);
  if (version >= 1) w.array(c.synonyms, writeSynonym); // v1 added synonyms
}

function readResult(r: Reader, config: (r: Reader) => DescribeConfigsResourceResult): DescribeConfigsResult {
  const errorCode = r.int16();
  const errorMessage = r.nullableString();
  const resourceType = r.int8();
  const resourceName = r.string();
  const configs = r.array(config);
  return { errorCode, errorMessage, resourceType, resourceName, configs };
}

function writeResult(
  w: Writer,
  res: DescribeConfigsResult,
  config: (w: Writer, c: DescribeConfigsResourceResult) => void,
): void {
  w.int16(res.errorCode).nullableString(res.errorMessage).int8(res.resourceType).string(res.resourceName);
  w.array(res.configs, config);
}

export const describeConfigsCodec: ApiCodec<DescribeConfigsRequest, DescribeConfigsResponse> = {
  key: ApiKey.DescribeConfigs,
  name: "DescribeConfigs",
  minVersion: 0,
  maxVersion: 2,

  decodeRequest(r, version) {
    const resources = r.array(readResource);
    const includeSynonyms = version >= 1 ? r.bool() : false; // v1 added include_synonyms
    return { resources, includeSynonyms };
  },

  encodeRequest(w, version, req) {
    w.array(req.resources, writeResource);
    if (version >= 1) w.bool(req.includeSynonyms); // v1 added include_synonyms
  },

  decodeResponse(r, version) {
    const throttleTimeMs = r.int32();
    const config = (r: Reader): DescribeConfigsResourceResult => readConfig(r, version);
    const results = r.array((r) => readResult(r, config));
    return { throttleTimeMs, results };
  },

  encodeResponse(w, version, res) {
    w.int32(res.throttleTimeMs);
    const config = (w: Writer, c: DescribeConfigsResourceResult): void => writeConfig(w, version, c);
    w.array(res.results, (w, r) => writeResult(w, r, config));
  },
};
