// An ApiCodec (api.ts) read straight from Kafka's message specs (generated/messages.ts) through
// the derived codec (schema_codec.ts): an API served this way needs no hand-written codec, and
// every version in [minVersion, maxVersion] is exactly what Kafka's spec says. Requests and
// responses are plain objects with the spec's field names (first letter lowered), typed by the
// interfaces generated from the same specs (generated/types.ts).

import type { ApiCodec } from "./api.ts";
import { MESSAGES } from "./generated/messages.ts";
import type { Init } from "./schema.ts";
import { decodeMessage, encodeMessage, type Struct } from "./schema_codec.ts";

export function specCodec<Req extends object, Res extends object>(
  key: number,
  name: string,
  minVersion: number,
  maxVersion: number,
): ApiCodec<Req, Res, Init<Req>, Init<Res>> {
  const request = MESSAGES[`${name}Request`];
  const response = MESSAGES[`${name}Response`];
  if (request === undefined || response === undefined) throw new Error(`no spec for ${name}`);
  if (request.apiKey !== key) throw new Error(`${name} is api key ${request.apiKey}, not ${key}`);
  if (minVersion < request.valid[0] || maxVersion > request.valid[1])
    throw new Error(`${name} v${minVersion}-${maxVersion} is outside Kafka's ${request.valid.join("-")}`);
  return {
    key,
    name,
    minVersion,
    maxVersion,
    decodeRequest: (r, v) => decodeMessage(request, v, r) as Req,
    encodeRequest: (w, v, req) => encodeMessage(request, v, w, req as Struct),
    decodeResponse: (r, v) => decodeMessage(response, v, r) as Res,
    encodeResponse: (w, v, res) => encodeMessage(response, v, w, res as Struct),
  };
}
