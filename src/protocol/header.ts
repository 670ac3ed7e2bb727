// Request and response headers (clients/src/main/resources/common/message/RequestHeader.json,
// ResponseHeader.json) and the size-prefixed frame around them.
//
// Request Header (Version: 1) => request_api_key request_api_version correlation_id client_id
//   request_api_key => INT16
//   request_api_version => INT16
//   correlation_id => INT32
//   client_id => NULLABLE_STRING
// Request Header (Version: 2) => request_api_key request_api_version correlation_id client_id TAG_BUFFER
//   client_id => NULLABLE_STRING   (stays an int16-length string: "flexibleVersions": "none")
//
// Response Header (Version: 0) => correlation_id
//   correlation_id => INT32
// Response Header (Version: 1) => correlation_id TAG_BUFFER
//
// A request uses header v2 and its response header v1 when the request version is flexible
// (KIP-482), except ApiVersions: its response header stays v0 at every version, so a client can
// read the correlation id and error of a version it does not understand (KIP-511).
//
// Frame => size INT32, header, body (size counts header + body).

import type { RequestHeader } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import { FIRST_FLEXIBLE_VERSION } from "./generated/flexible_versions.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

// The first flexible version of every API comes from Kafka's specs (generated/flexible_versions.ts):
// also of versions Milena does not serve, so the header of a too-new request still decodes and
// gets an answer or a clean close.

/** True when this request version uses compact strings/arrays and tagged fields. */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const first = FIRST_FLEXIBLE_VERSION.get(apiKey);
  return first !== undefined && apiVersion >= first;
}

/** Request header version: 2 for flexible request versions, else 1. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

/** Response header version: 1 for flexible versions, except ApiVersions (always 0, KIP-511). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

/** Decode a request header; the api key and version read first choose v1 or v2. */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  if (requestHeaderVersion(apiKey, apiVersion) === 2) r.skipTaggedFields(); // v2 added tagged fields
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: Writer, h: RequestHeader): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).nullableString(h.clientId);
  if (requestHeaderVersion(h.apiKey, h.apiVersion) === 2) w.emptyTaggedFields(); // v2 added tagged fields
}

/** Decode a response header and return its correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields(); // v1 added tagged fields
  return correlationId;
}

export function encodeResponseHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.emptyTaggedFields(); // v1 added tagged fields
}

/**
 * Start a response frame in an empty Writer: the 4-byte size hole, then the response header.
 * Write the body, then call finishFrame(w).
 */
export function startResponseFrame(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  w.hole32();
  encodeResponseHeader(w, apiKey, apiVersion, correlationId);
}

/** Start a request frame in an empty Writer: the size hole, then the request header. */
export function startRequestFrame(w: Writer, h: RequestHeader): void {
  w.hole32();
  encodeRequestHeader(w, h);
}

/** Fill in the size of a frame started at offset 0, counting spliced (external) bytes. */
export function finishFrame(w: Writer): void {
  w.patch32(0, w.length - 4);
}
