// ApiVersions (key 18), versions 0-4 (ApiVersionsRequest.json / ApiVersionsResponse.json).
// v4 has v3's layout (it only lets a supported feature's min_version be 0, KAFKA-17011).
//
// ApiVersions Request (Version: 0..2) =>
// ApiVersions Request (Version: 3..4) => client_software_name client_software_version TAG_BUFFER
//   client_software_name => COMPACT_STRING
//   client_software_version => COMPACT_STRING
//
// ApiVersions Response (Version: 0) => error_code [api_keys]
//   error_code => INT16
//   api_keys => api_key min_version max_version
//     api_key => INT16
//     min_version => INT16
//     max_version => INT16
// ApiVersions Response (Version: 1..2) => error_code [api_keys] throttle_time_ms
//   throttle_time_ms => INT32
// ApiVersions Response (Version: 3) => error_code [api_keys] throttle_time_ms TAG_BUFFER
//   api_keys => api_key min_version max_version TAG_BUFFER   (COMPACT_ARRAY: uvarint N+1)
//   (tagged fields of v3+: supported_features, finalized_features_epoch, finalized_features,
//    zk_migration_ready; never written, skipped when read)
//
// The response header is v0 at every version (KIP-511), see header.ts.

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import { ErrorCode } from "./error_codes.ts";
import { ProtocolError, type Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface ApiVersionsRequest {
  /** v3+; "" below. */
  clientSoftwareName: string;
  /** v3+; "" below. */
  clientSoftwareVersion: string;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: ApiVersionRange[];
  /** v1+; 0 below. */
  throttleTimeMs: number;
}

const FIRST_FLEXIBLE = 3;

function readRange(r: Reader): ApiVersionRange {
  return { apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() };
}

function readCompactRanges(r: Reader): ApiVersionRange[] {
  const n = r.uvarint() - 1;
  if (n < 0) throw new ProtocolError("null api_keys array");
  if (n > r.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
  const out: ApiVersionRange[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = readRange(r);
    r.skipTaggedFields();
  }
  return out;
}

function readResponse(r: Reader, version: number): ApiVersionsResponse {
  const flexible = version >= FIRST_FLEXIBLE;
  const errorCode = r.int16();
  const apiKeys = flexible ? readCompactRanges(r) : r.array(readRange);
  const throttleTimeMs = version >= 1 ? r.int32() : 0; // v1 added throttle_time_ms
  if (flexible) r.skipTaggedFields(); // v3 is flexible
  return { errorCode, apiKeys, throttleTimeMs };
}

function writeRanges(w: Writer, ranges: readonly ApiVersionRange[], flexible: boolean): void {
  if (flexible) w.uvarint(ranges.length + 1);
  else w.int32(ranges.length);
  for (const k of ranges) {
    w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion);
    if (flexible) w.emptyTaggedFields();
  }
}

export const apiVersionsCodec: ApiCodec<ApiVersionsRequest, ApiVersionsResponse> = {
  key: ApiKey.ApiVersions,
  name: "ApiVersions",
  minVersion: 0,
  maxVersion: 4,

  decodeRequest(r, version) {
    if (version < FIRST_FLEXIBLE) return { clientSoftwareName: "", clientSoftwareVersion: "" };
    // v3 added client_software_name and client_software_version, and is flexible
    const clientSoftwareName = r.compactString();
    const clientSoftwareVersion = r.compactString();
    r.skipTaggedFields();
    return { clientSoftwareName, clientSoftwareVersion };
  },

  encodeRequest(w, version, req) {
    if (version < FIRST_FLEXIBLE) return;
    // v3 added client_software_name and client_software_version, and is flexible
    w.compactString(req.clientSoftwareName).compactString(req.clientSoftwareVersion).emptyTaggedFields();
  },

  decodeResponse(r, version) {
    // An UNSUPPORTED_VERSION answer is a v0 body whatever the version asked (KIP-511): like
    // Kafka's ApiVersionsResponse.parse, retry as v0 when the body does not parse as asked.
    const start = r.offset;
    try {
      return readResponse(r, version);
    } catch (e) {
      if (version === 0 || !(e instanceof ProtocolError)) throw e;
      r.offset = start;
      return readResponse(r, 0);
    }
  },

  encodeResponse(w, version, res) {
    const flexible = version >= FIRST_FLEXIBLE;
    w.int16(res.errorCode);
    writeRanges(w, res.apiKeys, flexible);
    if (version >= 1) w.int32(res.throttleTimeMs); // v1 added throttle_time_ms
    if (flexible) w.emptyTaggedFields(); // v3 is flexible
  },
};

/**
 * Kafka's answer to an ApiVersions version it does not know (RequestContext.java, KIP-511): a
 * v0 body (under a v0 response header) with UNSUPPORTED_VERSION and the ApiVersions range only,
 * so the client retries with a version it has in common.
 */
export function encodeUnsupportedApiVersionsResponse(
  w: Writer,
  maxVersion = apiVersionsCodec.maxVersion,
): void {
  apiVersionsCodec.encodeResponse(w, 0, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion }],
    throttleTimeMs: 0,
  });
}
