// ApiVersions (key 18), v0-4, from Kafka's spec (spec_codec.ts). The response header is v0 at
// every version (KIP-511, header.ts).
//   v1  throttle_time_ms
//   v3  flexible; client_software_name and _version in the request; tagged fields
//       supported_features, finalized_features_epoch, finalized_features, zk_migration_ready
//   v4  v3's layout (a supported feature's min_version may be 0, KAFKA-17011)
// Features: Milena finalizes none (no metadata.version: it is not KRaft; no transaction.version
// or group.version: no transactions or KIP-848 groups yet), so the tagged fields keep their
// defaults and are not written, which Kafka 4.x clients read as "no features": the classic
// group protocol and transactions v1.

import { ApiKey } from "./api_keys.ts";
import { ErrorCode } from "./error_codes.ts";
import type {
  ApiVersionsRequest,
  ApiVersionsResponse,
  ApiVersionsResponseApiVersion,
} from "./generated/types.ts";
import { ProtocolError } from "./reader.ts";
import { specCodec } from "./spec_codec.ts";
import type { Writer } from "./writer.ts";

export type { ApiVersionsRequest, ApiVersionsResponse };
export type ApiVersionRange = Pick<ApiVersionsResponseApiVersion, "apiKey" | "minVersion" | "maxVersion">;

const derived = specCodec<ApiVersionsRequest, ApiVersionsResponse>(ApiKey.ApiVersions, "ApiVersions", 0, 4);

export const apiVersionsCodec: typeof derived = {
  ...derived,
  decodeResponse(r, version) {
    // An UNSUPPORTED_VERSION answer is a v0 body whatever the version asked (KIP-511): like
    // Kafka's ApiVersionsResponse.parse, retry as v0 when the body does not parse as asked.
    const start = r.offset;
    try {
      return derived.decodeResponse(r, version);
    } catch (e) {
      if (version === 0 || !(e instanceof ProtocolError)) throw e;
      r.offset = start;
      return derived.decodeResponse(r, 0);
    }
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
