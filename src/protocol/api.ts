// The shape every API module (src/protocol/<api>.ts) exports: its key, the version range it
// serves, and both directions of its codec, so the broker decodes requests and encodes
// responses while Milena's client and the tests do the reverse with the same code. ApiVersions
// is built from the list of these (src/protocol/registry.ts), so the advertised ranges cannot
// drift from what the codecs implement.

import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/**
 * Req and Res are what decoding gives; ReqIn and ResIn what encoding takes (for the codecs
 * derived from Kafka's specs, the same objects with every field optional: a field left out is
 * written as its default, as Kafka's generated message classes start from their defaults).
 */
export interface ApiCodec<Req, Res, ReqIn = Req, ResIn = Res> {
  readonly key: number;
  readonly name: string;
  /** Advertised range in ApiVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  decodeRequest(r: Reader, version: number): Req;
  encodeRequest(w: Writer, version: number, req: ReqIn): void;
  decodeResponse(r: Reader, version: number): Res;
  encodeResponse(w: Writer, version: number, res: ResIn): void;
}

/** Request header v1 (v2 adds tagged fields: only ApiVersions v3 among the versions served). */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}
